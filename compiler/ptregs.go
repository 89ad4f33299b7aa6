package compiler

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// reg("ip"): a register of the probed task, as bpftrace's, read from the
// struct pt_regs the probe's context is (kprobes, uprobes, usdt).

func checkReg(k *checker, e *lang.Call) *Type {
	lit, ok := k.nameArg(e, 1, 1, "the register's name")
	if !ok {
		return tUint64
	}
	k.needCtx(e.Span, "reg()")
	if k.sc.ctx == nil || !k.sc.ctx.PtRegs {
		k.contextErrorf(e.Span, "reg() reads the registers of kprobe, uprobe and usdt probes, not of %s probes", k.sc.prov.Name)
		return tUint64
	}
	if _, ok := probes.RegOffset(lit.Val); !ok {
		k.errorf(lit.Span, "reg(): no register %q", lit.Val).Hint("registers: %s", strings.Join(probes.RegNames(), ", "))
	}
	return tUint64
}

func emitReg(g *gen, e *lang.Call) *val {
	off, _ := probes.RegOffset(g.c.constName(e.Args[0]))
	r := g.newTemp(tUint64)
	g.emit(asm.LoadMem(r.reg, ctxReg, int16(off), asm.DWord))
	return r
}
