package compiler

import (
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

func emitUid(g *gen) *val {
	r := g.helperCall(asm.FnGetCurrentUidGid, true)
	g.emit(asm.Mov.Reg32(r.reg, r.reg))
	return r
}

func emitGid(g *gen) *val {
	r := g.helperCall(asm.FnGetCurrentUidGid, true)
	g.emit(asm.RSh.Imm(r.reg, 32))
	return r
}

func emitElapsed(g *gen) *val {
	r := g.helperCall(asm.FnKtimeGetNs, true)
	// The start time is patched into this instruction at load time.
	g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchStartTime)))
	g.emit(asm.Sub.Reg(r.reg, asm.R0))
	return r
}

func emitComm(g *gen) *val {
	// bpf_get_current_comm pads with zeros: no need to clear first.
	buf := g.mem(16, strType(16))
	g.helperCall(asm.FnGetCurrentComm, false, buf, imm(16, tInt64))
	return buf
}

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

var aggKinds = map[string]Kind{"count": KCount, "sum": KSum, "min": KMin, "max": KMax, "avg": KAvg,
	"stats": KStats, "hist": KHist, "lhist": KLhist}

func checkAgg(k *checker, e *lang.Call) *Type {
	if e.Name == "tseries" {
		return checkTseries(k, e)
	}
	t := &Type{Kind: aggKinds[e.Name]}
	switch e.Name {
	case "count":
		k.nargs(e, 0, 0)
	default:
		k.nargs(e, 1, 1)
	case "hist":
		// hist(n, k): k splits each power of 2 into 2^k buckets; only k = 0 yet.
		if k.nargs(e, 1, 2) && len(e.Args) == 2 {
			if bits, ok := k.constEval(e.Args[1]); !ok || bits < 0 || bits > 5 {
				k.errorf(e.Args[1].Sp(), "hist()'s second argument must be a constant from 0 to 5")
			} else if bits > 0 {
				k.errorf(e.Args[1].Sp(), "not supported yet: hist() with 2^%d buckets per power of 2", bits)
			}
		}
	case "lhist":
		if k.nargs(e, 4, 4) {
			var vals [3]int64
			for i, a := range e.Args[1:] {
				v, ok := k.constEval(a)
				if !ok {
					k.errorf(a.Sp(), "lhist()'s min, max and step must be constants")
				}
				vals[i] = v
			}
			t.Min, t.Max, t.Step = vals[0], vals[1], vals[2]
			switch {
			case t.Step <= 0:
				k.errorf(e.Args[3].Sp(), "lhist() step must be positive")
			case t.Min < 0:
				k.errorf(e.Args[1].Sp(), "lhist() min must be non-negative")
			case t.Max <= t.Min:
				k.errorf(e.Args[2].Sp(), "lhist() max must be greater than min")
			case (t.Max-t.Min)/t.Step > 1000:
				k.errorf(e.Span, "lhist() would have %d buckets; at most 1000", (t.Max-t.Min)/t.Step)
			}
		}
	}
	if e.Name != "count" && len(e.Args) > 0 {
		if at := k.expr(e.Args[0]); at.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "%s() needs an integer, not %s", e.Name, at)
		}
	}
	t.Size = t.MemSize()
	t.Signed = e.Name != "count"
	return t
}

func checkExit(k *checker, e *lang.Call) *Type {
	k.noteReturn()
	if k.nargs(e, 0, 1) && len(e.Args) == 1 {
		if t := k.expr(e.Args[0]); t.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "exit() takes an integer exit code")
		}
	}
	return tNone
}

func emitExit(g *gen, e *lang.Call) *val {
	code := imm(0, tInt64)
	if len(e.Args) == 1 {
		code = g.expr(e.Args[0])
	}
	rec := g.buffer(16, nil)
	g.emit(storeImm(rec.base(), rec.off, int64(EventExit), asm.DWord))
	g.store(rec.part(8, 8, nil), code)
	g.release(code)
	g.outputRecord(rec)
	g.exitFlag()
	g.emit(storeImm(asm.R0, 0, 1, asm.DWord))
	// exit() ends this probe's run too.
	g.emit(asm.Ja.Label(g.exit))
	return nil
}

func checkStr(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return strType(k.c.strlen)
	}
	if s, ok := k.c.strParam(e.Args[0]); ok {
		n := len(s) + 1
		if len(e.Args) == 2 {
			if m, ok := k.c.constInt(e.Args[1]); ok && m >= 1 && int(m)+1 < n {
				n = int(m) + 1
			}
		}
		return strType(n)
	}
	t := k.expr(e.Args[0])
	size := k.c.strlen
	if len(e.Args) == 2 {
		n, ok := k.c.constInt(e.Args[1])
		if !ok || n < 1 {
			k.errorf(e.Args[1].Sp(), "str()'s length must be a positive constant")
		} else if int(n)+1 < size {
			size = int(n) + 1
		}
	}
	switch t.Kind {
	case KString:
		return strType(min(t.Size, size))
	case KInt, KPtr:
		return strType(size)
	}
	k.errorf(e.Args[0].Sp(), "str() needs a pointer or an integer address, not %s", t)
	return strType(size)
}

func emitStr(g *gen, e *lang.Call) *val {
	t := g.sc.types[e]
	if s, ok := g.c.strParam(e.Args[0]); ok {
		if len(s) > t.Size-1 {
			s = s[:t.Size-1]
		}
		return g.strLit(s, t.Size)
	}
	at := g.sc.types[e.Args[0]]
	x := g.expr(e.Args[0])
	if at.Kind == KString {
		if x.size <= align8(t.Size) {
			return x
		}
		buf := g.buffer(t.Size, t)
		g.copyMem(buf, x.part(0, buf.size, nil))
		// Keep the terminator inside the requested length.
		g.emit(storeImm(buf.base(), buf.off+int16(t.Size-1), 0, asm.Byte))
		return buf
	}
	buf := g.buffer(t.Size, t)
	fn := asm.FnProbeReadKernelStr
	if at.User || (at.Kind == KInt && g.sc.ctx != nil && g.sc.ctx.UserPtrs) {
		fn = asm.FnProbeReadUserStr
	}
	g.helperCall(fn, false, buf, imm(int64(t.Size), tInt64), x)
	g.countReadFault()
	return buf
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
