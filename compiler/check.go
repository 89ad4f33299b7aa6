package compiler

import (
	"strconv"
	"strings"
	"sync"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// mapInfo is what the checker learns about one @map across the program.
type mapInfo struct {
	name  string // "@x"
	key   *Type  // nil for a scalar map
	val   *Type
	first lang.Span
	// keyNames name the key's parts after the expressions that make them
	// (see keyNames), for the runtime's metrics labels.
	keyNames []string
}

// scope holds what one probe instance (a probe body at one attach point) knows.
type scope struct {
	point probes.Point
	prov  *probes.Provider
	ctx   *probes.Context
	// unresolved: the probe's attach points did not resolve (reported);
	// its body is checked all the same, its context's names unknown.
	unresolved bool
	// plainLoops: the kernel has no bpf_loop, so ranges are plain loops
	// (asked of the kernel's BTF when a range first needs the answer).
	plainLoops *lazyFlag
	vars       map[string]*Type // by binding key (see vars.go)
	// final: each variable's type after every assignment in the previous
	// pass (a string it holds may grow later in the probe): what reading it
	// yields, and what `let $x;` read before an assignment has.
	final map[string]*Type
	// binds: the binding (its key) each $x refers to.
	binds map[*lang.Var]string
	// lives: each variable's life, in statements, for sharing stack.
	lives []varLife
	types map[lang.Expr]*Type
	// names: what each identifier (and each call of a builtin value,
	// pid()) refers to, resolved once by the checker for code generation.
	names map[lang.Expr]ref
	// consts: the value of each expression the checker folded to a
	// constant; for offsetof() and override(), the call's constant.
	consts map[lang.Expr]int64
	// members: where each BTF member access reads
	members map[*lang.Field]memberInfo
	// timeoutInit: the probe mentions TIMEOUT_INIT, so bare integers given to reply are jiffies.
	timeoutInit bool
	// declared: variables (binding keys) declared with a type (let $x:
	// T), which keep it.
	declared map[string]bool
	// seqCalls: the printf calls that write to an iterator's seq_file
	// rather than send a record.
	seqCalls map[*lang.Call]bool
	// records: the id of the record each output call sends, assigned by
	// the resource pass (resources.go).
	records map[*lang.Call]int
}

// reset readies sc for another checking pass. Its maps are cleared, not
// remade (a script of thousands of probes is checked three times), but
// vars: the previous pass's is kept as final.
func (sc *scope) reset() {
	sc.vars = map[string]*Type{}
	if sc.types == nil {
		sc.types, sc.members, sc.binds = map[lang.Expr]*Type{}, map[*lang.Field]memberInfo{}, map[*lang.Var]string{}
		sc.names, sc.consts = map[lang.Expr]ref{}, map[lang.Expr]int64{}
	} else {
		clear(sc.types)
		clear(sc.members)
		clear(sc.binds)
		clear(sc.names)
		clear(sc.consts)
	}
	sc.declared, sc.seqCalls = nil, nil
}

// checker infers and checks types. It runs over all probe instances twice:
// the first pass only learns map types (a map may be read in one probe before
// the probe that writes it), the second reports errors.
type checker struct {
	c          *compiler
	diags      *lang.Diags
	maps       map[string]*mapInfo
	sc         *scope
	quiet      bool // first pass: learn, do not report
	inLoop     int
	inCallback int // inside a for-map body (a callback: no probe context)
	// variable scopes of the probe being checked (vars.go)
	scopes     []*varScope
	nbind      map[string]int
	probeBinds []*binding
	// seq numbers the statements of the probe in checking order; stmtStart
	// is the number of the one being checked (a new variable's life starts
	// there). Source offsets would not do: macro code has its own.
	seq, stmtStart int
	// callbackAt and addrAt: the probe's first loop run as a BPF callback
	// and its first &$x (the two do not mix, see closeVars).
	callbackAt, addrAt *lang.Span
}

func (k *checker) errorf(sp lang.Span, format string, args ...any) *lang.Diag {
	if k.quiet {
		return &lang.Diag{}
	}
	return k.diags.Errorf(sp, format, args...)
}

// contextErrorf reports what the probe's context does not have, unless
// its attach points did not resolve: then that context is unknown, and
// their error says it all.
func (k *checker) contextErrorf(sp lang.Span, format string, args ...any) *lang.Diag {
	if k.sc.unresolved {
		return &lang.Diag{}
	}
	return k.errorf(sp, format, args...)
}

func (k *checker) warnf(sp lang.Span, format string, args ...any) *lang.Diag {
	if k.quiet {
		return &lang.Diag{}
	}
	return k.diags.Warnf(sp, format, args...)
}

func (k *checker) probe(p *lang.Probe, sc *scope) {
	k.sc = sc
	if sc.binds == nil {
		sc.binds = map[*lang.Var]string{}
	}
	k.scopes, k.nbind, k.probeBinds = nil, map[string]int{}, nil
	k.callbackAt, k.addrAt = nil, nil
	k.seq, k.stmtStart = 0, 0
	k.pushScope()
	k.usbCheckProbe(p)
	if sc.ctx != nil && sc.ctx.Reply != nil {
		sc.timeoutInit = mentions(p, map[string]int64{"TIMEOUT_INIT": 1}) != 0
	}
	if p.Pred != nil {
		t := k.expr(p.Pred)
		if t.Kind != KInt && t.Kind != KNone && t.Kind != KPtr {
			k.errorf(p.Pred.Sp(), "predicate must be an integer expression, not %s", t)
		}
	}
	k.block(p.Body)
	k.closeVars()
	// A variable lives in one home of its final (unified) type: every
	// use reads that layout, whatever the type was where it was used.
	for e := range sc.types {
		if v, ok := e.(*lang.Var); ok {
			if t, ok := sc.vars[sc.varKey(v)]; ok {
				sc.types[e] = t
			}
		}
	}
}

func (k *checker) block(b *lang.Block) {
	if b == nil {
		return
	}
	k.pushScope()
	defer k.popScope()
	for i, s := range b.Stmts {
		k.stmt(s)
		if i+1 < len(b.Stmts) && terminates(s) {
			k.warnf(b.Stmts[i+1].Sp(), "unreachable statement")
		}
	}
}

func (k *checker) stmt(s lang.Stmt) {
	defer func(old int) { k.stmtStart = old }(k.stmtStart)
	k.seq++
	k.stmtStart = k.seq
	switch s := s.(type) {
	case *lang.ExprStmt:
		if k.packetStmt(s) || k.usbStmt(s) {
			return
		}
		switch x := s.X.(type) {
		case *lang.Call:
			k.sc.types[x] = k.call(x, true)
		case *lang.Block:
			k.discardBlock(x)
		case *lang.Unary:
			if x.Op == "++" || x.Op == "--" {
				k.expr(x)
				return
			}
			k.expr(x)
			k.warnf(s.Span, "expression result is unused")
		case *lang.Ternary:
			if k.ternaryStmt(x) {
				return
			}
			k.expr(x)
			k.warnf(s.Span, "expression result is unused")
		case *lang.MapRef:
			k.expr(x)
			k.warnf(s.Span, "expression result is unused").Hint("to print a map, use print(@%s)", x.Name)
		default:
			k.expr(s.X)
			k.warnf(s.Span, "expression result is unused")
		}
	case *lang.Assign:
		k.assign(s)
	case *lang.VarDecl:
		k.varDecl(s)
	case *lang.If:
		k.cond(s.Cond)
		k.block(s.Then)
		if s.Else != nil {
			k.stmt(s.Else)
		}
	case *lang.Block:
		k.block(s)
	case *lang.Unroll:
		switch n, ok := k.constEval(s.Count); {
		case !ok:
			k.errorf(s.Count.Sp(), "unroll() needs a constant count from 1 to 100")
		case n > 100:
			k.errorf(s.Count.Sp(), "unroll maximum value is 100")
		case n < 1:
			k.errorf(s.Count.Sp(), "unroll minimum value is 1")
		}
		k.block(s.Body)
	case *lang.While:
		k.cond(s.Cond)
		k.inLoop++
		k.block(s.Body)
		k.inLoop--
	case *lang.For:
		if s.Map != nil {
			k.forMap(s)
			return
		}
		for _, e := range []lang.Expr{s.Lo, s.Hi} {
			if t := k.expr(e); t.Kind != KInt {
				k.errorf(e.Sp(), "a range bound must be an integer, not %s", t)
			}
		}
		k.pushScope()
		defer k.popScope()
		k.loopVar(s.Var, tInt64)
		// A range with bounds known only at run time runs its body in a
		// bpf_loop callback, without the probe's context.
		cb := 0
		if !k.rangeInline(s) {
			cb = 1
			k.callbackAt = &s.Span
		}
		k.plainRangeLimit(s)
		k.inLoop++
		k.inCallback += cb
		k.block(s.Body)
		k.inCallback -= cb
		k.inLoop--
	case *lang.Jump:
		switch s.Kind {
		case "break", "continue":
			if k.inLoop == 0 {
				k.errorf(s.Span, "%s outside a loop", s.Kind)
			}
		case "return":
			k.noteReturn()
			if s.Value != nil {
				k.expr(s.Value)
			}
		}
	default:
		k.errorf(s.Sp(), "not supported yet: this statement")
	}
}

// maxInlineRange is the longest constant range run as a plain loop; longer
// ones (and ranges with run-time bounds) go through bpf_loop, since the
// verifier walks a plain loop once per iteration.
const maxInlineRange = 256

// rangeInline reports whether for ($i : lo..hi) is generated as a plain loop.
func (k *checker) rangeInline(s *lang.For) bool {
	k.constEval(s.Lo)
	k.constEval(s.Hi)
	return k.sc.rangeInline(s)
}

// maxPlainRange is the longest constant range run as a plain loop on a
// kernel without bpf_loop: the verifier walks every iteration, and its
// time grows faster than the iterations (over half a minute for 10000
// under emulation); longer ones are an error before anything is loaded.
const maxPlainRange = 8192

// maxRunTimePlain bounds a range whose bounds are known only at run time
// on a kernel without bpf_loop: the verifier walks that many rounds.
const maxRunTimePlain = 1024

// plainRangeLimit reports, on a kernel without bpf_loop, a constant range
// too long for a plain loop, and warns that a range with run-time bounds
// runs at most maxRunTimePlain rounds.
func (k *checker) plainRangeLimit(s *lang.For) {
	lo, loConst := k.sc.consts[s.Lo]
	hi, hiConst := k.sc.consts[s.Hi]
	if k.sc.rangeShort(s) || !k.sc.plainLoops.get() {
		return
	}
	kernel := k.c.opts.Env.KernelRelease()
	switch {
	case !loConst || !hiConst:
		k.warnf(s.Span, "this range runs at most %d iterations: longer ones need bpf_loop, Linux 5.17; this kernel is %s", maxRunTimePlain, kernel)
	case hi-lo > maxPlainRange:
		k.errorf(s.Span, "a range of %d iterations needs bpf_loop, Linux 5.17; this kernel is %s", hi-lo, kernel).
			Hint("without bpf_loop a range is a loop the verifier walks, of at most %d iterations", maxPlainRange)
	}
}

// rangeInline answers from the bounds the checker folded. Without
// bpf_loop (before Linux 5.17) every range is a plain loop, bounded by
// the verifier, which walks it (loops use what the kernel offers).
func (sc *scope) rangeInline(s *lang.For) bool {
	return sc.rangeShort(s) || sc.plainLoops.get()
}

// lazyFlag is a yes or no computed when first asked (nil: no).
type lazyFlag struct {
	once sync.Once
	f    func() bool
	v    bool
}

func (l *lazyFlag) get() bool {
	if l == nil {
		return false
	}
	l.once.Do(func() { l.v = l.f() })
	return l.v
}

// rangeShort reports whether a range's bounds are constants at most
// maxInlineRange apart.
func (sc *scope) rangeShort(s *lang.For) bool {
	lo, loConst := sc.consts[s.Lo]
	hi, hiConst := sc.consts[s.Hi]
	return loConst && hiConst && hi-lo <= maxInlineRange
}

// forMap checks for ($kv : @map) { body }: $kv is the tuple (key, value).
func (k *checker) forMap(s *lang.For) {
	mi := k.maps[s.Map.Name]
	if mi == nil {
		if !k.quiet {
			k.errorf(s.Map.Span, "undefined map @%s", s.Map.Name)
		}
		return
	}
	if s.Map.Keys != nil {
		k.errorf(s.Map.Span, "for takes the whole map: for ($kv : @%s)", s.Map.Name)
	}
	if mi.key == nil || mi.val.IsHist() || mi.val.Kind == KTseries || mi.val.Kind == KMin || mi.val.Kind == KMax || mi.val.Kind == KAvg || mi.val.Kind == KStats {
		k.errorf(s.Map.Span, "not supported yet: for over @%s (%s)", s.Map.Name, mi.val)
		return
	}
	kv := &Type{Kind: KTuple, Elems: []*Type{mi.key, readType(mi.val)}}
	kv.Size = kv.MemSize()
	k.pushScope()
	defer k.popScope()
	k.loopVar(s.Var, kv)
	k.inLoop++
	k.inCallback++
	k.callbackAt = &s.Span
	k.block(s.Body)
	k.inCallback--
	k.inLoop--
}

func (k *checker) cond(e lang.Expr) {
	t := k.expr(e)
	if t.Kind != KInt && t.Kind != KPtr && t.Kind != KNone {
		k.errorf(e.Sp(), "condition must be an integer, not %s", t)
	}
}

func (k *checker) assign(s *lang.Assign) {
	switch lhs := s.LHS.(type) {
	case *lang.Var:
		rt := k.expr(s.RHS)
		if s.Op != "=" {
			b := k.lookupVar(lhs.Name)
			if b == nil {
				k.errorf(lhs.Span, "undefined variable $%s", lhs.Name)
				return
			}
			k.bind(lhs, b)
			vt := k.readVar(lhs)
			if (vt.Kind != KInt && vt.Kind != KPtr) || rt.Kind != KInt {
				k.errorf(s.Span, "%s needs integers", s.Op)
			} else if vt.Kind == KPtr && s.Op != "+=" && s.Op != "-=" {
				k.errorf(s.Span, "%s cannot be applied to a pointer", s.Op)
			}
			b.assigned = true
			k.sc.vars[b.key] = vt
			k.sc.types[lhs] = vt
			return
		}
		k.assignVar(lhs, rt, s.RHS.Sp())
	case *lang.MapRef:
		pre, agg := aggBlock(s.RHS)
		for _, st := range pre {
			k.stmt(st)
		}
		keyT := k.keys(lhs)
		var valT *Type
		if call := agg; call != nil {
			if s.Op != "=" {
				k.errorf(s.Span, "%s cannot be used with %s()", s.Op, call.Name)
			}
			valT = checkAgg(k, call)
		} else {
			valT = k.expr(s.RHS)
			if s.Op != "=" && valT.Kind != KInt {
				k.errorf(s.Span, "%s needs integers", s.Op)
			}
			if mi := k.maps[lhs.Name]; s.Op != "=" && mi != nil && mi.val != nil && mi.val.Kind == KPtr && valT.Kind == KInt {
				// @p += n: pointer arithmetic, the map keeps its pointer type.
				if s.Op != "+=" && s.Op != "-=" {
					k.errorf(s.Span, "%s cannot be applied to a pointer", s.Op)
				}
				valT = mi.val
			}
			if valT.Kind == KNone {
				k.errorf(s.RHS.Sp(), "this expression has no value to store")
				return
			}
		}
		k.defineMap(lhs, keyT, valT, s.Span)
		k.sc.types[lhs] = k.maps[lhs.Name].val
	case *lang.Ident:
		if lhs.Name == "reply" && k.sc.ctx != nil && k.sc.ctx.Reply != nil {
			k.checkReply(s)
			return
		}
		if lhs.Name == "_" && s.Op == "=" {
			// _ = expr: evaluate and discard, on purpose.
			if t := k.expr(s.RHS); t.Kind == KNone {
				k.errorf(s.RHS.Sp(), "this expression has no value to discard")
			}
			return
		}
		k.contextErrorf(lhs.Span, "cannot assign to %s here", lhs.Name)
	default:
		k.errorf(s.LHS.Sp(), "not supported yet: assignment to this expression")
	}
}

func (k *checker) assignVar(v *lang.Var, rt *Type, sp lang.Span) {
	b := k.lookupVar(v.Name)
	if b == nil {
		b = k.newBinding(v.Name)
	}
	k.assignBinding(v, b, rt, sp)
}

// loopVar makes a for loop's variable, in the loop's own scope.
func (k *checker) loopVar(v *lang.Var, t *Type) {
	if k.lookupVar(v.Name) != nil {
		k.errorf(v.Span, "loop declaration shadows existing variable: $%s", v.Name)
	}
	b := k.newBinding(v.Name)
	k.assignBinding(v, b, t, v.Span)
}

// keys checks a map reference's keys and returns the key type (nil: scalar).
func (k *checker) keys(m *lang.MapRef) *Type {
	if m.Keys == nil {
		return nil
	}
	var elems []*Type
	for _, e := range m.Keys {
		t := k.expr(e)
		switch t.Kind {
		case KInt, KString, KTuple, KInet, KStack, KSym, KBuf, KArray:
		case KPtr:
			t = tUint64
		default:
			k.errorf(e.Sp(), "%s cannot be a map key", t)
			t = tInt64
		}
		if t.Kind == KInt {
			w := *t
			w.Size = 8
			t = &w
		}
		elems = append(elems, t)
	}
	if len(elems) == 1 {
		return elems[0]
	}
	return &Type{Kind: KTuple, Elems: elems}
}

func (k *checker) defineMap(m *lang.MapRef, keyT, valT *Type, sp lang.Span) {
	mi, ok := k.maps[m.Name]
	if !ok {
		k.maps[m.Name] = &mapInfo{name: "@" + m.Name, key: keyT, val: valT, first: sp, keyNames: keyNames(m.Keys)}
		return
	}
	mi.keyNames = agreeNames(mi.keyNames, keyNames(m.Keys))
	switch {
	case (mi.key == nil) != (keyT == nil):
		k.errorf(m.Span, "@%s is used both with and without keys", m.Name)
	case mi.key != nil && !compatible(mi.key, keyT):
		k.errorf(m.Span, "@%s has keys of type %s, not %s", m.Name, mi.key, keyT)
	case mi.val != nil && !compatible(mi.val, valT):
		k.errorf(sp, "@%s holds %s, cannot store %s", m.Name, mi.val, valT).Hint("a map keeps the type of its first assignment")
	default:
		if mi.key != nil {
			mi.key = unify(mi.key, keyT)
		}
		if mi.val == nil {
			mi.val = valT
		} else {
			mi.val = unify(mi.val, valT)
		}
	}
}

func (k *checker) expr(e lang.Expr) *Type {
	t := k.expr1(e)
	k.sc.types[e] = t
	return t
}

func (k *checker) expr1(e lang.Expr) *Type {
	switch e := e.(type) {
	case *lang.IntLit:
		if e.Unit != "" {
			return tDur
		}
		if e.Val > 1<<63-1 {
			return tUint64 // as current bpftrace: only an unsigned 64-bit integer holds it
		}
		return tInt64
	case *lang.BoolLit:
		return tBool
	case *lang.StrLit:
		return strType(len(e.Val) + 1)
	case *lang.PosParam:
		if e.Count {
			return tInt64
		}
		v, ok := k.c.param(e.N)
		if !ok {
			return tInt64
		}
		if _, err := parseIntParam(v); err == nil {
			if paramIsUnsigned(v) {
				return tUint64
			}
			return tInt64
		}
		return strType(len(v) + 1)
	case *lang.Var:
		return k.readVar(e)
	case *lang.MapRef:
		keyT := k.keys(e)
		mi, ok := k.maps[e.Name]
		if !ok {
			if !k.quiet {
				k.errorf(e.Span, "undefined map @%s", e.Name).Hint("assign it somewhere: @%s = ...", e.Name)
			}
			return tInt64
		}
		if (mi.key == nil) != (keyT == nil) {
			k.errorf(e.Span, "@%s is used both with and without keys", e.Name)
		} else if keyT != nil && !compatible(mi.key, keyT) {
			k.errorf(e.Span, "@%s has keys of type %s, not %s", e.Name, mi.key, keyT)
		}
		if mi.val.Kind == KTseries {
			k.errorf(e.Span, "@%s holds a time series, which has no value to read", e.Name).
				Hint("print(@%s) shows it; clear() and zero() reset it", e.Name)
			return tInt64
		}
		return readType(mi.val)
	case *lang.Ident:
		return k.ident(e)
	case *lang.Call:
		return k.call(e, false)
	case *lang.Binary:
		return k.binary(e)
	case *lang.Unary:
		return k.unary(e)
	case *lang.Ternary:
		k.cond(e.Cond)
		a, b := k.expr(e.Then), k.expr(e.Else)
		if !compatible(a, b) {
			k.errorf(e.Span, "the two branches have different types: %s and %s", a, b)
			return a
		}
		if a.Kind == KStruct {
			k.errorf(e.Span, "not supported yet: a ternary over %s values", a)
		}
		return unify(a, b)
	case *lang.Field:
		return k.field(e)
	case *lang.Cast:
		t := k.expr(e.X)
		if e.Type.ArrLen != 0 && e.Type.Ptr == 0 {
			return k.arrayCast(e, t)
		}
		ct, ok := castType(e.Type)
		if !ok && e.Type.Ptr == 0 && e.Type.ArrLen == 0 && strings.HasPrefix(e.Type.Name, "enum ") {
			if en, found := k.c.namedEnum(strings.TrimPrefix(e.Type.Name, "enum ")); found {
				ct, ok = enumType(en), true
			} else {
				k.errorf(e.Type.Span, "unknown type %s: it is not defined in the script nor in kernel BTF", e.Type.Name)
				return tInt64
			}
		}
		if !ok && (e.Type.Ptr > 0 || strings.HasPrefix(e.Type.Name, "struct ") || strings.HasPrefix(e.Type.Name, "union ")) {
			ct, ok = k.btfCast(e.Type)
		}
		if !ok {
			ct, ok = k.typedefInt(e.Type)
		}
		if !ok {
			if strings.HasPrefix(e.Type.Name, "struct ") || strings.HasPrefix(e.Type.Name, "union ") || e.Type.Ptr > 0 {
				k.errorf(e.Type.Span, "unknown type %s: it is not in the kernel's or a loaded module's BTF", e.Type.Name)
			} else {
				k.errorf(e.Type.Span, "not supported yet: casts to %s", e.Type.Name)
			}
			return tInt64
		}
		if t.Kind != KInt && t.Kind != KPtr {
			k.errorf(e.X.Sp(), "cannot cast %s to %s", t, e.Type.Name)
		}
		return ct
	case *lang.Tuple:
		tt := &Type{Kind: KTuple, Names: e.Names}
		var own []*Type // the elements' types before widening
		for _, x := range e.Elems {
			et := k.expr(x)
			own = append(own, et)
			switch et.Kind {
			case KInt:
				w := *et
				w.Size = 8
				et = &w
			case KString, KTuple, KInet, KStack, KSym, KBuf, KArray, KPtr:
			default:
				k.errorf(x.Sp(), "%s cannot be part of a tuple", et)
			}
			tt.Elems = append(tt.Elems, et)
		}
		tt.Size = tt.MemSize()
		tt.CSize, tt.CAlign = tupleCLayout(e.Elems, own)
		return tt
	case *lang.Block:
		return k.blockValue(e)
	case *lang.If:
		return k.ifValue(e)
	case *lang.Index:
		return k.index(e)
	case *lang.TypeName:
		k.errorf(e.Span, "a type is not a value here")
		return tInt64
	}
	k.errorf(e.Sp(), "not supported yet: this expression")
	return tInt64
}

// readType is the type a map read yields: aggregations read as integers.
func readType(t *Type) *Type {
	switch t.Kind {
	case KCount, KSum:
		return tUint64
	case KMin, KMax, KAvg, KStats:
		return tInt64
	}
	return t
}

var castTypes = map[string]*Type{
	"int8": intType(1, true), "int16": intType(2, true), "int32": intType(4, true), "int64": intType(8, true),
	"uint8": intType(1, false), "uint16": intType(2, false), "uint32": intType(4, false), "uint64": intType(8, false),
	"char": intType(1, true), "short": intType(2, true), "int": intType(4, true), "long": intType(8, true),
	"unsigned char": intType(1, false), "unsigned short": intType(2, false), "unsigned int": intType(4, false),
	"unsigned long": intType(8, false), "bool": tBool,
}

func castType(tn *lang.TypeName) (*Type, bool) {
	if tn.Ptr > 0 {
		elem, ok := castTypes[tn.Name]
		if !ok {
			if tn.Name != "void" {
				return nil, false
			}
			elem = nil
		}
		if tn.Ptr > 1 {
			elem = tUint64
		}
		return &Type{Kind: KPtr, Size: 8, Char: tn.Name == "char" && tn.Ptr == 1, Elem: elem}, true
	}
	if tn.ArrLen > 0 {
		return nil, false
	}
	t, ok := castTypes[tn.Name]
	return t, ok
}

func (k *checker) binary(e *lang.Binary) *Type {
	a, b := k.expr(e.X), k.expr(e.Y)
	if e.Op == "?:" {
		// x ?: y is x when x is non-zero, else y.
		if (a.Kind != KInt && a.Kind != KPtr) || !compatible(a, b) {
			k.errorf(e.Span, "?: needs two integers or two pointers, not %s and %s", a, b)
			return tInt64
		}
		return unify(a, b)
	}
	switch e.Op {
	case "&&", "||":
		for _, x := range []struct {
			t *Type
			e lang.Expr
		}{{a, e.X}, {b, e.Y}} {
			if x.t.Kind != KInt && x.t.Kind != KPtr {
				k.errorf(x.e.Sp(), "%s needs integer operands, not %s", e.Op, x.t)
			}
		}
		return tBool
	case "==", "!=":
		if a.Kind == KString && b.Kind == KString || a.Kind == KBuf && b.Kind == KBuf {
			return tBool
		}
	}
	if a.Kind == KBuf || b.Kind == KBuf {
		k.errorf(e.Span, "%s cannot be applied to %s and %s", e.Op, a, b).Hint("buffers support only == and != between buffers")
		return tInt64
	}
	if t, ok := k.ptrBinary(e, a, b); ok && a.Kind != KString && b.Kind != KString {
		return t
	}
	if a.Kind == KString || b.Kind == KString {
		k.errorf(e.Span, "%s cannot be applied to %s and %s", e.Op, a, b).Hint("strings support only == and !=")
		return tInt64
	}
	if (a.Kind != KInt && a.Kind != KPtr) || (b.Kind != KInt && b.Kind != KPtr) {
		k.errorf(e.Span, "%s cannot be applied to %s and %s", e.Op, a, b)
		return tInt64
	}
	switch e.Op {
	case "<", "<=", ">", ">=", "==", "!=":
		return tBool
	case "&", "|", "^":
		if a.Bool && b.Bool {
			return tBool
		}
	}
	switch {
	case a.Dur && b.Dur && (e.Op == "+" || e.Op == "-"),
		a.Dur != b.Dur && (e.Op == "*" || e.Op == "+" || e.Op == "-"),
		a.Dur && !b.Dur && e.Op == "/":
		return tDur
	}
	if a.Signed && b.Signed {
		return tInt64
	}
	return tUint64
}

func (k *checker) unary(e *lang.Unary) *Type {
	switch e.Op {
	case "++", "--":
		switch x := e.X.(type) {
		case *lang.Var:
			b := k.lookupVar(x.Name)
			if b == nil {
				k.errorf(x.Span, "undefined variable $%s", x.Name)
				return tInt64
			}
			t := k.readVar(x)
			b.assigned = true
			k.sc.vars[b.key] = t
			k.sc.types[x] = t
			if t.Kind != KInt && t.Kind != KPtr {
				k.errorf(e.Span, "%s needs an integer variable", e.Op)
			}
			return t
		case *lang.MapRef:
			keyT := k.keys(x)
			valT := tInt64
			if mi := k.maps[x.Name]; mi != nil && mi.val != nil && mi.val.Kind == KPtr {
				valT = mi.val // @p++ steps a pointer
			}
			k.defineMap(x, keyT, valT, e.Span)
			mt := k.maps[x.Name].val
			if mt.Kind != KInt && mt.Kind != KPtr {
				k.errorf(e.Span, "%s needs an integer map", e.Op)
			}
			k.sc.types[x] = mt
			if mt.Kind == KPtr {
				return mt
			}
			return tInt64
		}
		k.errorf(e.Span, "%s needs a variable or a map", e.Op)
		return tInt64
	case "*":
		pt := k.expr(e.X)
		if pt == tUnknown {
			return tUnknown
		}
		if pt.Kind == KPtr && pt.BTF != nil {
			if t, ok := btfValueType(pt.BTF, k.c.strlen); ok && (t.Kind == KInt || t.Kind == KPtr || t.Kind == KStruct) {
				return t
			}
		}
		if pt.Kind == KPtr && pt.Elem != nil {
			return pt.Elem
		}
		if pt.Kind == KInt && !pt.Bool {
			// An integer is an address: bpftrace reads a u64 there.
			return tUint64
		}
		k.errorf(e.Span, "cannot dereference %s", pt)
		return tInt64
	case "&":
		if v, ok := e.X.(*lang.Var); ok {
			return k.varAddr(v)
		}
		k.expr(e.X)
		k.errorf(e.Span, "not supported yet: address-of")
		return tInt64
	}
	t := k.expr(e.X)
	if t.Kind != KInt && t.Kind != KPtr {
		k.errorf(e.Span, "%s cannot be applied to %s", e.Op, t)
		return tInt64
	}
	if e.Op == "!" {
		return tBool
	}
	return intType(8, t.Signed || e.Op == "-")
}

// field handles args.NAME / args->NAME.
// needCtx reports uses of the probe's context inside a for-map body, which
// runs as a callback without it.
func (k *checker) needCtx(sp lang.Span, what string) {
	if k.inCallback > 0 {
		k.errorf(sp, "not supported yet: %s inside this loop (its body runs as a BPF callback, without the probe's context)", what)
	}
}

func (k *checker) field(e *lang.Field) *Type {
	if t, ok := k.packetField(e); ok {
		return t
	}
	if id, ok := e.X.(*lang.Ident); ok && id.Name == "args" {
		k.needCtx(e.Span, "args")
		if k.sc.unresolved {
			return tUnknown
		}
		if k.sc.ctx == nil || len(k.sc.ctx.Args) == 0 {
			k.errorf(id.Span, "args is not available in %s probes", k.sc.prov.Name)
			return tInt64
		}
		f, ok := k.sc.ctx.Arg(e.Name)
		if !ok {
			d := k.errorf(e.Span, "%s has no argument %q", k.sc.point, e.Name)
			var names []string
			for _, a := range k.sc.ctx.Args {
				names = append(names, a.Name)
			}
			d.Hint("available: %s", joinNames(names))
			return tInt64
		}
		if f.BTF != nil {
			t, ok := btfValueType(f.BTF, k.c.strlen)
			if !ok || t.Kind == KStruct || t.Kind == KString {
				k.errorf(e.Span, "not supported yet: argument %s of type %s", f.Name, btfTypeName(f.BTF))
				return tInt64
			}
			return t
		}
		t, ok := fieldType(f, k.sc.ctx, k.c.strlen)
		if !ok {
			k.errorf(e.Span, "not supported yet: argument %s of type %s", f.Name, f.CType)
			return tInt64
		}
		t = k.tracepointPtr(f, t)
		if name, isEnum := strings.CutPrefix(f.CType, "enum "); isEnum && t.Kind == KInt {
			// Printed by name, like the kernel's enum in BTF.
			if en, found := k.c.namedEnum(name); found {
				w := *t
				w.Enum = en
				t = &w
			}
		}
		return t
	}
	xt := k.expr(e.X)
	if xt == tUnknown {
		return tUnknown
	}
	if xt.Kind == KTuple && xt.Names != nil {
		i := xt.ElemIndex(e.Name)
		if i < 0 {
			k.errorf(e.Span, "the record %s has no field %q", xt, e.Name)
			return tInt64
		}
		return xt.Elems[i]
	}
	if xt.Kind == KTuple {
		i, err := strconv.Atoi(e.Name)
		if err != nil || i < 0 || i >= len(xt.Elems) {
			k.errorf(e.Span, "a tuple of %d elements has no element %q (use .0 to .%d)", len(xt.Elems), e.Name, len(xt.Elems)-1)
			return tInt64
		}
		return xt.Elems[i]
	}
	return k.structField(e, xt)
}

func fieldType(f probes.Field, ctx *probes.Context, strlen int) (*Type, bool) {
	switch {
	case f.DataLoc:
		if !f.Char {
			return nil, false
		}
		return strType(strlen), true
	case f.Elems > 0:
		if f.Char {
			return strType(f.Elems), true
		}
		// __u8 daddr[4]: an array of integers (ntop() takes one).
		if w := f.Size / f.Elems; f.Size%f.Elems == 0 && (w == 1 || w == 2 || w == 4 || w == 8) {
			return &Type{Kind: KArray, Size: f.Size, Elem: intType(w, f.Signed)}, true
		}
		return nil, false
	case f.Ptr:
		return &Type{Kind: KPtr, Size: 8, User: ctx.UserPtrs, Char: f.Char}, true
	}
	switch f.Size {
	case 1, 2, 4, 8:
		return intType(f.Size, f.Signed), true
	}
	return nil, false
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

func isAgg(name string) bool {
	b := lookupBuiltin(name)
	return b != nil && b.form&formAgg != 0
}
