package compiler

import (
	"strconv"
	"strings"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
	"github.com/cilium/ebpf/asm"
)

// usdtArg reads a USDT probe's argument where its note says it lives: a
// register of the uprobe's pt_regs, memory at register + displacement
// (read from user memory), or a constant; then sign- or zero-extends it
// from the argument's size.
func (g *gen) usdtArg(f probes.Field) *val {
	a := f.USDT
	t := intType(a.Size, a.Signed)
	if a.Kind == probes.USDTConst {
		return imm(normInt(a.Disp, t), t)
	}
	dst := g.newTemp(t)
	g.emit(asm.LoadMem(dst.reg, ctxReg, int16(a.Reg), asm.DWord))
	if a.Kind == probes.USDTReg {
		if a.Shift > 0 {
			g.emit(asm.RSh.Imm(dst.reg, int32(a.Shift)))
		}
		g.extend(dst.reg, a.Size, a.Signed)
		return dst
	}
	if a.Index >= 0 {
		g.emit(asm.LoadMem(asm.R0, ctxReg, int16(a.Index), asm.DWord))
		if a.Scale > 1 {
			g.emit(asm.Mul.Imm(asm.R0, int32(a.Scale)))
		}
		g.emit(asm.Add.Reg(dst.reg, asm.R0))
	}
	if a.Disp != 0 {
		g.emit(asm.Add.Imm(dst.reg, int32(a.Disp)))
	}
	dst.t = tUint64
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	g.emit(storeImm(asm.R10, slot.off, 0, asm.DWord))
	g.helperCall(asm.FnProbeReadUser, false, slot, imm(int64(a.Size), tInt64), dst)
	g.countReadFault()
	out := g.newTemp(t)
	g.emit(asm.LoadMem(out.reg, asm.R10, slot.off, asm.DWord))
	g.extend(out.reg, a.Size, a.Signed)
	return out
}

// usdtNoArg reports argN beyond a USDT probe's arguments.
func (k *checker) usdtNoArg(e *lang.Ident) bool {
	if k.sc.prov == nil || k.sc.prov.Name != "usdt" || !strings.HasPrefix(e.Name, "arg") {
		return false
	}
	if _, err := strconv.Atoi(e.Name[3:]); err != nil {
		return false
	}
	n := 0
	if k.sc.ctx != nil {
		for _, f := range k.sc.ctx.Builtins {
			if f.Conv == probes.ConvUSDT {
				n++
			}
		}
	}
	k.errorf(e.Span, "%s: this usdt probe has %d arguments", e.Name, n)
	return true
}
