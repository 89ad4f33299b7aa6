package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// override(rc) replaces what the probed kernel function returns. The
// provider says how (probes.OverrideKind): from a kprobe, the
// bpf_override_return helper, at once; in fmod_ret and lsm programs, the
// program's return value, kept in a hidden variable that the epilogue
// returns (the last override() wins; the default 0 means "call the function"
// for fmod_ret and "allow" for lsm).
//
// Kernel functions return -errno: an errno name stands for that, so
// override(EPERM) and override(-EPERM) both make the function return -1.

// overrideVar is the hidden variable holding an fmod_ret/lsm program's
// return value (not a name a script can write).
const overrideVar = "override:ret"

// maxErrno is the kernel's MAX_ERRNO: an LSM hook returns 0 or -1..-4095.
const maxErrno = 4095

// errnoArg reports whether e is an errno name (EPERM) or its negation
// (-EPERM), and the errno.
func (k *checker) errnoArg(e lang.Expr) (int64, bool) {
	if u, ok := e.(*lang.Unary); ok && u.Op == "-" {
		e = u.X
	}
	id, ok := e.(*lang.Ident)
	if !ok {
		return 0, false
	}
	if ctx := k.sc.ctx; ctx != nil {
		if _, ok := ctx.Builtin(id.Name); ok {
			return 0, false
		}
		if _, ok := ctx.Consts[id.Name]; ok {
			return 0, false
		}
	}
	n, ok := errnos[id.Name]
	return n, ok
}

func checkOverride(k *checker, e *lang.Call) *Type {
	k.needUnsafe(e)
	if !k.nargs(e, 1, 1) {
		return tNone
	}
	arg := e.Args[0]
	if t := k.expr(arg); t.Kind != KInt {
		k.errorf(arg.Sp(), "override() takes the value to return (an integer or an errno name like EPERM), not %s", t)
		return tNone
	}
	if k.sc.unresolved {
		return tNone // the attach points' error says it all; what override() would do is unknown
	}
	kind := probes.OverrideNone
	if k.sc.ctx != nil {
		kind = k.sc.ctx.Override
	}
	prov := k.sc.prov.Name
	switch kind {
	case probes.OverrideNone:
		if prov == "kretprobe" || prov == "fexit" {
			k.errorf(e.Span, "override() must run before the function returns: use it in a kprobe, fentry, fmod_ret or lsm probe, not %s", prov)
		} else {
			k.errorf(e.Span, "override() is only available in kprobe, fentry, fmod_ret and lsm probes, not %s", prov)
		}
		return tNone
	case probes.OverrideHelper:
		k.needCtx(e.Span, "override()")
	case probes.OverrideReturn:
		if k.sc.ctx.Returns == nil {
			k.errorf(e.Span, "%s returns nothing: there is no return value to override", k.sc.point)
			return tNone
		}
		k.sc.vars[overrideVar] = tInt64
	}
	v, isConst := k.constEval(arg)
	if n, ok := k.errnoArg(arg); ok {
		v, isConst = -n, true
		k.sc.consts[e] = v // an errno name: override(EPERM) returns -EPERM
	}
	if !isConst {
		return tNone
	}
	switch {
	case prov == "lsm" && (v > 0 || v < -maxErrno):
		k.errorf(arg.Sp(), "an LSM hook returns 0 to allow or a negative errno to deny, not %d", v).
			Hint("override(EPERM) denies with EPERM")
	case kind == probes.OverrideReturn && prov != "lsm" && v == 0:
		k.warnf(arg.Sp(), "override(0) does nothing here: an fmod_ret program that returns 0 lets the function run")
	}
	return tNone
}

func emitOverride(g *gen, e *lang.Call) *val {
	arg := e.Args[0]
	var v *val
	if n, ok := g.sc.consts[e]; ok {
		v = imm(n, tInt64)
	} else {
		v = g.expr(arg)
	}
	if g.sc.ctx.Override == probes.OverrideHelper {
		g.load(asm.R2, v)
		g.release(v)
		g.emit(asm.Mov.Reg(asm.R1, ctxReg), asm.FnOverrideReturn.Call())
		return nil
	}
	r := g.toTemp(v)
	if g.sc.prov.Name == "lsm" && v.kind != vImm {
		// The verifier wants 0..-MAX_ERRNO from an LSM program: a positive
		// value is taken as an errno, anything else out of range as EPERM.
		// Both bounds are tested after the negation, which the verifier
		// cannot follow.
		neg, bad, ok := g.label(), g.label(), g.label()
		g.emit(asm.JSLE.Imm(r.reg, 0, neg), asm.Neg.Imm(r.reg, 0))
		g.mark(neg)
		g.emit(asm.JSGT.Imm(r.reg, 0, bad), asm.JSGE.Imm(r.reg, -maxErrno, ok))
		g.mark(bad)
		g.emit(asm.Mov.Imm(r.reg, -int32(errnos["EPERM"])))
		g.mark(ok)
	}
	g.emit(asm.StoreMem(asm.R10, g.vars[overrideVar].off, r.reg, asm.DWord))
	g.release(r)
	return nil
}

// epilogue returns from the program: the override()n value when the
// program sets one, else the provider's normal return value.
func (g *gen) epilogue() {
	if slot, ok := g.vars[overrideVar]; ok {
		g.emit(asm.LoadMem(asm.R0, asm.R10, slot.off, asm.DWord), asm.Return())
		return
	}
	g.emit(asm.Mov.Imm(asm.R0, g.c.retval(g.sc)), asm.Return())
}

// callsOverride reports whether a probe's body calls override().
func callsOverride(p *lang.Probe) bool {
	found := false
	lang.Walk(p, func(n lang.Node) bool {
		if c, ok := n.(*lang.Call); ok && builtinName(c.Name) == "override" {
			found = true
		}
		return !found
	})
	return found
}
