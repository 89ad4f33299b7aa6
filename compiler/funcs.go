package compiler

import (
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// Names in expressions: an identifier or a call is looked up in the
// probe's context, the builtin table (builtins.go), the script's and the
// kernel's enums, #defines and errno names, in that order.

func (k *checker) ident(e *lang.Ident) *Type {
	// The standard library names builtins __builtin_X so that a user's macro
	// called X cannot shadow them there.
	e.Name = builtinName(e.Name)
	if t, ok := k.packetIdent(e); ok {
		return t
	}
	if e.Name == "kstack" || e.Name == "ustack" || e.Name == "ctx" {
		k.needCtx(e.Span, e.Name)
	}
	if ctx := k.sc.ctx; ctx != nil {
		if f, ok := ctx.Builtin(e.Name); ok {
			k.needCtx(e.Span, e.Name)
			if f.Conv == probes.ConvInetAddr {
				return tInet
			}
			if f.Conv == probes.ConvFuncIP {
				return tKsym
			}
			if f.Conv == probes.ConvUSDT {
				return intType(f.USDT.Size, f.USDT.Signed)
			}
			return intType(8, false)
		}
		if _, ok := ctx.Consts[e.Name]; ok {
			return tInt64
		}
		if v, ok := ctx.Strings[e.Name]; ok {
			return strType(len(v) + 1)
		}
	}
	if e.Name == "ctx" && k.sc.ctx != nil && k.sc.ctx.CtxType != nil {
		return &Type{Kind: KPtr, Size: 8, BTF: k.sc.ctx.CtxType}
	}
	if e.Name == "curtask" {
		return k.curtaskType(e.Span)
	}
	if b := valueRow(e.Name); b != nil {
		return b.typ
	}
	if v, ok := k.c.cdefs.values[e.Name]; ok {
		return enumType(v.enum)
	}
	if t, ok := k.c.defineType(e.Name); ok {
		return t
	}
	if _, ok := errnos[e.Name]; ok {
		return tInt64
	}
	if k.sc.prov.ProgType != ebpf.SockOps {
		if _, ok := sockopsOnly(e.Name); ok {
			k.errorf(e.Span, "%s is only available in sockops probes", e.Name)
			return tInt64
		}
	}
	if e.Name == "args" {
		k.errorf(e.Span, "args must be followed by a field: args.NAME")
		return tInt64
	}
	if k.usdtNoArg(e) {
		return tInt64
	}
	if isTodo(e.Name) {
		k.errorf(e.Span, "not supported yet: %s", e.Name)
		return tInt64
	}
	if v, ok := k.c.enumerator(e.Name); ok {
		return enumType(v.enum)
	}
	k.errorf(e.Span, "unknown identifier %q", e.Name)
	return tInt64
}

func (g *gen) ident(e *lang.Ident) *val {
	if v, ok := g.packetIdent(e); ok {
		return v
	}
	if ctx := g.sc.ctx; ctx != nil {
		if f, ok := ctx.Builtin(e.Name); ok {
			return g.ctxBuiltin(f)
		}
		if v, ok := ctx.Consts[e.Name]; ok {
			return imm(v, tInt64)
		}
		if v, ok := ctx.Strings[e.Name]; ok {
			return g.strLit(v, len(v)+1)
		}
	}
	if b := valueRow(e.Name); b != nil {
		return b.value(g)
	}
	if v, ok := g.c.cdefs.values[e.Name]; ok {
		return imm(int64(v.val), g.sc.types[e])
	}
	if v, ok := g.define(e.Name); ok {
		return v
	}
	if v, ok := errnos[e.Name]; ok {
		return imm(v, tInt64)
	}
	v, _ := g.c.enumerator(e.Name)
	return imm(int64(v.val), g.sc.types[e])
}

func (k *checker) call(e *lang.Call, asStmt bool) *Type {
	e.Name = builtinName(e.Name)
	f := funcRow(e.Name)
	if f == nil && len(e.Args) == 0 && k.isBuiltinName(e.Name) {
		// Current bpftrace lets builtins be called: nsecs(), pid().
		return k.ident(&lang.Ident{Span: e.Span, Name: e.Name})
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
		return tNone
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
		v := g.ident(&lang.Ident{Span: e.Span, Name: e.Name})
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
