package compiler

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// ptRegsCS is the offset of cs in x86-64's struct pt_regs; the low two bits
// are the privilege level the CPU was in (3: user mode).
const ptRegsCS = 17 * 8

// usermode is 1 when the probe fired while the CPU ran user code. BEGIN and
// END run on behalf of bpfsh, in user mode; contexts without registers
// (tracepoints, ...) read 0, as in bpftrace.
func emitUsermode(g *gen) *val {
	switch {
	case g.sc.prov.Name == "BEGIN" || g.sc.prov.Name == "END":
		return imm(1, intType(1, false))
	case g.sc.prov.ProgType == ebpf.Kprobe || g.sc.prov.ProgType == ebpf.PerfEvent:
		// Both contexts start with struct pt_regs.
		r := g.newTemp(intType(1, false))
		// (cs & 3) + 1 is 4 only in user mode: shift it down to 1 or 0.
		g.emit(asm.LoadMem(r.reg, ctxReg, ptRegsCS, asm.DWord),
			asm.And.Imm(r.reg, 3),
			asm.Add.Imm(r.reg, 1),
			asm.RSh.Imm(r.reg, 2))
		return r
	}
	return imm(0, intType(1, false))
}

func init() {
	builtins["usermode"] = builtinDef{intType(1, false), emitUsermode}
}
