package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// nsecs(clock): the time in nanoseconds by one of the kernel's clocks, as
// current bpftrace has it. Plain nsecs (and nsecs()) stays bpfsh's
// CLOCK_MONOTONIC, which strftime() and printing as a time assume.

func init() {
	funcs["nsecs"] = funcDef{check: checkNsecs, emit: emitNsecs}
}

// clocks are nsecs()'s clocks: monotonic (CLOCK_MONOTONIC), boot
// (CLOCK_BOOTTIME), tai (CLOCK_TAI) and sw_tai (boot time plus CLOCK_TAI's
// offset from it, measured at load: for kernels without bpf_ktime_get_tai_ns).
var clocks = map[string]asm.BuiltinFunc{
	"monotonic": asm.FnKtimeGetNs,
	"boot":      asm.FnKtimeGetBootNs,
	"tai":       asm.FnKtimeGetTaiNs,
	"sw_tai":    asm.FnKtimeGetBootNs,
}

func checkNsecs(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 0, 1) || len(e.Args) == 0 {
		return builtins["nsecs"].typ
	}
	if id, ok := e.Args[0].(*lang.Ident); !ok || clocks[id.Name] == 0 {
		k.errorf(e.Args[0].Sp(), "nsecs() takes a clock: monotonic, boot, tai or sw_tai")
	}
	return tUint64
}

func emitNsecs(g *gen, e *lang.Call) *val {
	if len(e.Args) == 0 {
		return builtins["nsecs"].emit(g)
	}
	name := e.Args[0].(*lang.Ident).Name
	r := g.helperCall(clocks[name], true)
	if name == "sw_tai" {
		g.addTAIOffset(r)
	}
	return r
}

// addTAIOffset adds CLOCK_TAI's offset from CLOCK_BOOTTIME (patched in at
// load) to the boot time in r.
func (g *gen) addTAIOffset(r *val) {
	g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchTAIOffset)))
	g.emit(asm.Add.Reg(r.reg, asm.R0))
}
