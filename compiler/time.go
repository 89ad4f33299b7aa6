package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Clocks: nsecs and nsecs(CLOCK), elapsed, jiffies, strftime() and time().

// addTAIOffset adds CLOCK_TAI's offset from CLOCK_BOOTTIME (patched in at
// load) to the boot time in r.
func (g *gen) addTAIOffset(r *val) {
	g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchTAIOffset)))
	g.emit(asm.Add.Reg(r.reg, asm.R0))
}

// fnKtimeGetTaiNs is bpf_ktime_get_tai_ns (Linux 6.1), newer than the
// helpers cilium/ebpf names.
const fnKtimeGetTaiNs = asm.BuiltinFunc(208)

// clocks are nsecs()'s arguments.
var clocks = map[string]bool{"monotonic": true, "boot": true, "tai": true, "sw_tai": true}

func checkNsecs(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 0, 1) || len(e.Args) == 0 {
		return tUint64
	}
	id, ok := e.Args[0].(*lang.Ident)
	if !ok || !clocks[id.Name] {
		k.errorf(e.Args[0].Sp(), "nsecs() takes a clock: monotonic, boot, tai or sw_tai")
	}
	return tUint64
}

// emitNsecs reads a clock. sw_tai is the boot clock plus TAI's offset from
// it, measured in user space when the program is loaded (for kernels
// without bpf_ktime_get_tai_ns; it does not follow leap seconds).
func emitNsecs(g *gen, e *lang.Call) *val {
	clock := "monotonic"
	if len(e.Args) == 1 {
		clock = e.Args[0].(*lang.Ident).Name
	}
	switch clock {
	case "boot":
		return g.helperCall(asm.FnKtimeGetBootNs, true)
	case "tai":
		return g.helperCall(fnKtimeGetTaiNs, true)
	case "sw_tai":
		r := g.helperCall(asm.FnKtimeGetBootNs, true)
		g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchTAIOffset)))
		g.emit(asm.Add.Reg(r.reg, asm.R0))
		return r
	}
	return g.helperCall(asm.FnKtimeGetNs, true)
}

func emitElapsed(g *gen) *val {
	r := g.helperCall(asm.FnKtimeGetNs, true)
	// The start time is patched into this instruction at load time.
	g.emit(asm.LoadImm(asm.R0, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchStartTime)))
	g.emit(asm.Sub.Reg(r.reg, asm.R0))
	return r
}

func checkStrftime(k *checker, e *lang.Call) *Type {
	lit, ok := k.firstStrArg(e, 2, 2, "strftime()'s format must be a string literal")
	if !ok {
		return tInt64
	}
	if t := k.expr(e.Args[1]); t.Kind != KInt {
		k.errorf(e.Args[1].Sp(), "strftime() takes a time in nanoseconds (nsecs), not %s", t)
	}
	return &Type{Kind: KInt, Size: 8, Format: FormatTime, TimeFormat: lit.Val}
}

func emitStrftime(g *gen, e *lang.Call) *val {
	x := g.toTemp(g.expr(e.Args[1]))
	x.t = g.sc.types[e]
	return x
}

func checkTime(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 0, 1) && len(e.Args) == 1 {
		if _, ok := e.Args[0].(*lang.StrLit); !ok {
			k.errorf(e.Args[0].Sp(), "time()'s format must be a string literal")
		}
	}
	return tNone
}
