package compiler

import (
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// The resolver: the checker looks each identifier up once — in the
// probe's context, the builtin table (builtins.go), the script's enums,
// #defines, errno names and the kernel's enums, in that order — and
// records what it found in the scope (scope.names, a ref each); code generation reads
// that answer and never looks a name up again.

// ref is what an identifier refers to.
type ref struct {
	kind  refKind
	val   int64        // refConst
	str   string       // refString
	field probes.Field // refField
	row   *builtin     // refBuiltin
}

type refKind uint8

const (
	refConst   refKind = iota // an integer known when compiling
	refString                 // a string known when compiling
	refField                  // a field of the probe's context: retval, arg0
	refBuiltin                // a row of the builtin table: pid
	refPacket                 // a packet field the probe's prologue reads: sport
)

// refer records what e refers to and gives its type.
func (k *checker) refer(e lang.Expr, b ref, t *Type) *Type {
	k.sc.names[e] = b
	return t
}

func (k *checker) ident(e *lang.Ident) *Type {
	// The standard library names builtins __builtin_X so that a user's macro
	// called X cannot shadow them there.
	e.Name = builtinName(e.Name)
	if t, ok := k.packetIdent(e); ok {
		return k.refer(e, ref{kind: refPacket}, t)
	}
	if e.Name == "kstack" || e.Name == "ustack" || e.Name == "ctx" {
		k.needCtx(e.Span, e.Name)
	}
	if t, ok := k.contextIdent(e); ok {
		return t
	}
	if b := valueRow(e.Name); b != nil {
		t := b.typ
		switch {
		case e.Name == "ctx" && k.sc.ctx != nil && k.sc.ctx.CtxType != nil:
			t = &Type{Kind: KPtr, Size: 8, BTF: k.sc.ctx.CtxType}
		case e.Name == "curtask":
			t = k.curtaskType(e.Span)
		}
		return k.refer(e, ref{kind: refBuiltin, row: b}, t)
	}
	if v, ok := k.c.cdefs.values[e.Name]; ok {
		return k.refer(e, ref{kind: refConst, val: int64(v.val)}, enumType(v.enum))
	}
	if v, ok := k.c.defs.ints[e.Name]; ok {
		return k.refer(e, ref{kind: refConst, val: v}, tInt64)
	}
	if s, ok := k.c.defs.strings[e.Name]; ok {
		return k.refer(e, ref{kind: refString, str: s}, strType(len(s)+1))
	}
	if v, ok := k.c.headerInt(e.Name); ok {
		return k.refer(e, ref{kind: refConst, val: v}, tInt64)
	}
	if v, ok := errnos[e.Name]; ok {
		return k.refer(e, ref{kind: refConst, val: v}, tInt64)
	}
	// The kernel's enumerators come before the names misplaced here:
	// TCP_CLOSE is a sockops constant and, as a kernel enumerator, a
	// constant in every probe.
	if v, ok := k.c.enumerator(e.Name); ok {
		return k.refer(e, ref{kind: refConst, val: int64(v.val)}, enumType(v.enum))
	}
	if t, ok := k.misplacedIdent(e); ok {
		return t
	}
	d := k.contextErrorf(e.Span, "unknown identifier %q", e.Name)
	if why := k.c.headersLack(); why != "" {
		d.Hint("%s", why)
	}
	return tUnknown
}

// contextIdent resolves the names the probe's context defines: its fields
// (arg0, retval), constants and strings.
func (k *checker) contextIdent(e *lang.Ident) (*Type, bool) {
	ctx := k.sc.ctx
	if ctx == nil {
		return nil, false
	}
	if f, ok := ctx.Builtin(e.Name); ok {
		k.needCtx(e.Span, e.Name)
		t := intType(8, false)
		switch f.Conv {
		case probes.ConvInetAddr:
			t = tInet
		case probes.ConvFuncIP:
			t = tKsym
		case probes.ConvUSDT:
			t = intType(f.USDT.Size, f.USDT.Signed)
		case probes.ConvUserStr:
			t = strType(f.Size)
		}
		return k.refer(e, ref{kind: refField, field: f}, t), true
	}
	if v, ok := ctx.Consts[e.Name]; ok {
		return k.refer(e, ref{kind: refConst, val: v}, tInt64), true
	}
	if s, ok := ctx.Strings[e.Name]; ok {
		return k.refer(e, ref{kind: refString, str: s}, strType(len(s)+1)), true
	}
	return nil, false
}

// misplacedIdent reports the names that exist, but not here: sockops
// names outside sockops, args without a field, a USDT argument the probe
// lacks, bpftrace builtins bpfsh does not support yet.
func (k *checker) misplacedIdent(e *lang.Ident) (*Type, bool) {
	if k.sc.unresolved {
		return nil, false // the context that would define it is unknown
	}
	if k.sc.prov.ProgType != ebpf.SockOps {
		if _, ok := sockopsOnly(e.Name); ok {
			k.errorf(e.Span, "%s is only available in sockops probes", e.Name)
			return tInt64, true
		}
	}
	if t, ok := k.usbIdent(e); ok {
		return t, true
	}
	if e.Name == "args" {
		k.errorf(e.Span, "args must be followed by a field: args.NAME")
		return tInt64, true
	}
	if k.usdtNoArg(e) {
		return tInt64, true
	}
	if isTodo(e.Name) {
		k.errorf(e.Span, "not supported yet: %s", e.Name)
		return tInt64, true
	}
	return nil, false
}

// ident generates what the checker bound e to (see ref).
func (g *gen) ident(e lang.Expr) *val {
	b := g.sc.names[e]
	switch b.kind {
	case refPacket:
		v, _ := g.packetIdent(e.(*lang.Ident))
		return v
	case refField:
		return g.ctxBuiltin(b.field)
	case refString:
		return g.strLit(b.str, len(b.str)+1)
	case refBuiltin:
		return b.row.value(g)
	}
	return imm(b.val, g.sc.types[e])
}

// constant is the value the checker folded e to (checker.constEval).
func (g *gen) constant(e lang.Expr) (int64, bool) {
	v, ok := g.sc.consts[e]
	return v, ok
}

func (k *checker) call(e *lang.Call, asStmt bool) *Type {
	e.Name = builtinName(e.Name)
	f := funcRow(e.Name)
	if f == nil && len(e.Args) == 0 && k.isBuiltinName(e.Name) {
		// Current bpftrace lets builtins be called: nsecs(), pid().
		id := &lang.Ident{Span: e.Span, Name: e.Name}
		t := k.ident(id)
		k.sc.names[e] = k.sc.names[id]
		return t
	}
	if f == nil {
		for _, a := range e.Args {
			if _, isType := a.(*lang.TypeName); !isType {
				k.expr(a)
			}
		}
		if isTodo(e.Name) {
			k.errorf(e.Span, "not supported yet: %s()", e.Name)
		} else {
			k.errorf(e.Span, "unknown function %s()", e.Name)
		}
		return tUnknown
	}
	if f.form&formAgg != 0 {
		k.errorf(e.Span, "%s() is an aggregation: assign it to a map, like @x = %s(...)", e.Name, e.Name)
		return tInt64
	}
	if f.form&formStmt != 0 && !asStmt {
		k.errorf(e.Span, "%s() does not return a value", e.Name)
	}
	if f.check == nil {
		checkOperand(k, e, f.operand)
		return f.result
	}
	return f.check(k, e)
}

func (g *gen) call(e *lang.Call, asStmt bool) *val {
	f := funcRow(e.Name)
	if f == nil {
		v := g.ident(e)
		if asStmt {
			g.release(v)
			return nil
		}
		return v
	}
	v := f.emit(g, e)
	if asStmt {
		g.release(v)
		return nil
	}
	return v
}

func builtinName(name string) string {
	if n, ok := strings.CutPrefix(name, "__builtin_"); ok {
		return n
	}
	return name
}

func (k *checker) nargs(e *lang.Call, lo, hi int) bool {
	if len(e.Args) < lo || len(e.Args) > hi {
		want := "exactly " + itoa(lo)
		if hi > lo {
			want = itoa(lo) + " to " + itoa(hi)
		}
		if hi == lo && lo == 0 {
			want = "no"
		}
		k.errorf(e.Span, "%s() takes %s argument%s, got %d", e.Name, want, plural(hi), len(e.Args))
		return false
	}
	return true
}

// nameArg checks a call whose first argument must be a string known when
// compiling (kaddr("sym"), reg("ip"), pton("::1")): a literal, or a
// positional parameter given to str() (kaddr(str($1))), as bpftrace's; and
// lo to hi arguments. what says what the string holds, for the error.
func (k *checker) nameArg(e *lang.Call, lo, hi int, what string) (*lang.StrLit, bool) {
	if !k.nargs(e, lo, hi) {
		return nil, false
	}
	lit, ok := k.c.constStr(e.Args[0])
	if !ok {
		k.expr(e.Args[0])
		k.errorf(e.Args[0].Sp(), "%s() needs %s as a string literal", e.Name, what)
	}
	return lit, ok
}

// constStr is the string e stands for when compiling: a literal, or
// str($N) (see params.go), as a literal at e's place.
func (c *compiler) constStr(e lang.Expr) (*lang.StrLit, bool) {
	switch e := e.(type) {
	case *lang.StrLit:
		return e, true
	case *lang.Call:
		if e.Name != "str" || len(e.Args) != 1 {
			return nil, false
		}
		if v, ok := c.strParam(e.Args[0]); ok {
			return &lang.StrLit{Span: e.Span, Val: v}, true
		}
	}
	return nil, false
}

// constName is the string of an argument that nameArg accepted.
func (c *compiler) constName(e lang.Expr) string {
	lit, _ := c.constStr(e)
	return lit.Val
}

// strArg is argument i of e when it is a string literal; else it says msg
// there.
func (k *checker) strArg(e *lang.Call, i int, msg string) (*lang.StrLit, bool) {
	lit, ok := e.Args[i].(*lang.StrLit)
	if !ok {
		k.errorf(e.Args[i].Sp(), "%s", msg)
	}
	return lit, ok
}

// firstStrArg checks a call of lo to hi arguments whose first must be a
// string literal (else it says msg).
func (k *checker) firstStrArg(e *lang.Call, lo, hi int, msg string) (*lang.StrLit, bool) {
	if !k.nargs(e, lo, hi) {
		return nil, false
	}
	return k.strArg(e, 0, msg)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// isBuiltinName reports whether name is a builtin value in this scope.
func (k *checker) isBuiltinName(name string) bool {
	if valueRow(name) != nil {
		return true
	}
	if ctx := k.sc.ctx; ctx != nil {
		if _, ok := ctx.Builtin(name); ok {
			return true
		}
	}
	return false
}
