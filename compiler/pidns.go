package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// pid and tid count in the pid namespace bpfsh runs in (bpftrace's
// curr_ns): in a container they are the container's numbers, through
// bpf_get_ns_current_pid_tgid. pid(init) and tid(init) are the initial
// namespace's; pid(curr_ns) and tid(curr_ns) are pid and tid.

func checkPidTid(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 0, 1) || len(e.Args) == 0 {
		return tUint64
	}
	if id, ok := e.Args[0].(*lang.Ident); !ok || (id.Name != "curr_ns" && id.Name != "init") {
		k.errorf(e.Args[0].Sp(), "%s() takes curr_ns or init (the pid namespace to count in)", e.Name)
	}
	return tUint64
}

func emitPidTid(g *gen, e *lang.Call) *val {
	initNS := len(e.Args) == 1 && e.Args[0].(*lang.Ident).Name == "init"
	return g.pidTid(e.Name == "tid", initNS)
}

// pidTid is the current process id (or thread id, tid), in the initial
// pid namespace or in bpfsh's own.
func (g *gen) pidTid(tid, initNS bool) *val {
	ns := g.c.opts.Env.PidNS
	if initNS || ns == nil {
		r := g.helperCall(asm.FnGetCurrentPidTgid, true)
		if tid {
			g.emit(asm.Mov.Reg32(r.reg, r.reg))
		} else {
			g.emit(asm.RSh.Imm(r.reg, 32))
		}
		return r
	}
	// struct bpf_pidns_info { u32 pid; u32 tgid; }, zeroed by the helper
	// when the task is outside the namespace.
	info := g.mem(8, nil)
	g.emit(asm.LoadImm(asm.R1, int64(ns.Dev), asm.DWord), asm.LoadImm(asm.R2, int64(ns.Ino), asm.DWord))
	g.load(asm.R3, info)
	g.emit(asm.Mov.Imm(asm.R4, 8), asm.FnGetNsCurrentPidTgid.Call())
	r := g.newTemp(tUint64)
	off := info.off + 4
	if tid {
		off = info.off
	}
	g.emit(asm.LoadMem(r.reg, info.base(), off, asm.Word))
	return r
}
