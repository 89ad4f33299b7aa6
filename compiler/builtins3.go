package compiler

import (
	"encoding/binary"
	"net/netip"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Clocks and process facts: nsecs(CLOCK), numaid, username.

// fnKtimeGetTaiNs is bpf_ktime_get_tai_ns (Linux 6.1), newer than the
// helpers cilium/ebpf names.
const fnKtimeGetTaiNs = asm.BuiltinFunc(208)

// clocks are nsecs()'s arguments.
var clocks = map[string]bool{"monotonic": true, "boot": true, "tai": true, "sw_tai": true}

// tCtx is the probe's context pointer, to cast: (struct x *)ctx.
var tCtx = &Type{Kind: KPtr, Size: 8}

var tUsername = &Type{Kind: KInt, Size: 8, Format: FormatUsername}

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

// pton("1.2.3.4") is an address known when compiling: an inet value (the
// family, then the address bytes), which ntop() prints.
func checkPton(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 1) {
		return tInet
	}
	lit, ok := e.Args[0].(*lang.StrLit)
	if !ok {
		k.expr(e.Args[0])
		k.errorf(e.Args[0].Sp(), "pton() needs a string literal")
		return tInet
	}
	if _, err := netip.ParseAddr(lit.Val); err != nil {
		k.errorf(lit.Span, "pton(): %q is not an IPv4 or IPv6 address", lit.Val)
	}
	return tInet
}

func emitPton(g *gen, e *lang.Call) *val {
	addr, _ := netip.ParseAddr(e.Args[0].(*lang.StrLit).Val)
	raw := make([]byte, 24)
	binary.LittleEndian.PutUint64(raw, 10)
	if addr.Is4() {
		binary.LittleEndian.PutUint64(raw, 2)
	}
	copy(raw[8:], addr.AsSlice())
	buf := g.buffer(24, tInet)
	for i := 0; i < 24; i += 4 {
		g.emit(storeImm(buf.base(), buf.off+int16(i), int64(binary.LittleEndian.Uint32(raw[i:])), asm.Word))
	}
	return buf
}

// cgroup_path(id [, "filter"]) is the id, printed in user space as the
// cgroup's path in each cgroup hierarchy mounted ("unified:/a/b;cpu:/a"),
// only in the hierarchies whose name matches filter (a glob) if given.
func checkCgroupPath(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return tInt64
	}
	if t := k.expr(e.Args[0]); t.Kind != KInt {
		k.errorf(e.Args[0].Sp(), "cgroup_path() needs a cgroup id, not %s", t)
	}
	filter := ""
	if len(e.Args) == 2 {
		lit, ok := e.Args[1].(*lang.StrLit)
		if !ok {
			k.errorf(e.Args[1].Sp(), "cgroup_path()'s filter must be a string literal")
		} else {
			filter = lit.Val
		}
	}
	// TimeFormat carries the filter: both are texts user space applies.
	return &Type{Kind: KInt, Size: 8, Format: FormatCgroupPath, TimeFormat: filter}
}

func emitCtx(g *gen) *val {
	r := g.newTemp(tCtx)
	g.emit(asm.Mov.Reg(r.reg, ctxReg))
	return r
}

func emitUsername(g *gen) *val {
	r := emitUid(g)
	r.t = tUsername
	return r
}
