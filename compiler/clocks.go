package compiler

import (
	"github.com/cilium/ebpf/asm"
)

// addTAIOffset adds CLOCK_TAI's offset from CLOCK_BOOTTIME (patched in at
// load) to the boot time in r.
func (g *gen) addTAIOffset(r *val) {
	g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchTAIOffset)))
	g.emit(asm.Add.Reg(r.reg, asm.R0))
}
