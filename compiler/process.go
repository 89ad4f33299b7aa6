package compiler

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// The current process: pid and tid (in a pid namespace), uid, gid,
// username, comm, cgroup, cgroupid(), cgroup_path(), usermode, reg().
//
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

func emitComm(g *gen) *val {
	// bpf_get_current_comm pads with zeros (strncpy, then strscpy_pad
	// from Linux 6.4), but in between it copied with strscpy and left what
	// follows the NUL as it was (6.1: one map key per stack garbage, @[comm]
	// split): there the buffer is cleared first.
	buf := g.mem(16, strType(16))
	if g.c.opts.Env != nil && g.c.opts.Env.KernelBefore(6, 4) {
		g.zero(buf)
	}
	g.helperCall(asm.FnGetCurrentComm, false, buf, imm(16, tInt64))
	return buf
}

var tUsername = &Type{Kind: KInt, Size: 8, Format: FormatUsername}

func emitUsername(g *gen) *val {
	r := emitUid(g)
	r.t = tUsername
	return r
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
		if lit, ok := k.strArg(e, 1, "cgroup_path()'s filter must be a string literal"); ok {
			filter = lit.Val
		}
	}
	// TimeFormat carries the filter: both are texts user space applies.
	return &Type{Kind: KInt, Size: 8, Format: FormatCgroupPath, TimeFormat: filter}
}

// emitUsermode is 1 when the probe fired in user mode. BEGIN and END run
// for bpfsh itself (bpftrace: uprobes on its own binary), uprobes and USDT
// always in user mode; a profile sample looks at the interrupted code
// segment (x86-64 pt_regs->cs); everything else traces the kernel.
func emitUsermode(g *gen) *val {
	if g.sc.prov.Runs.Once() {
		return imm(1, tUint64)
	}
	switch g.sc.prov.Name {
	case "uprobe", "uretprobe", "usdt":
		return imm(1, tUint64)
	case "profile":
		const ptRegsCS = 136 // struct bpf_perf_event_data starts with the regs
		r := g.newTemp(tUint64)
		// (cs & 3) == 3 is user mode: (cs&3 + 1) >> 2 is 1 just then.
		g.emit(asm.LoadMem(r.reg, ctxReg, ptRegsCS, asm.DWord), asm.And.Imm(r.reg, 3),
			asm.Add.Imm(r.reg, 1), asm.RSh.Imm(r.reg, 2))
		return r
	}
	return imm(0, tUint64)
}

func checkCgroupid(k *checker, e *lang.Call) *Type {
	lit, ok := k.firstStrArg(e, 1, 1, "cgroupid() takes a cgroup path as a string literal")
	if !ok {
		return tUint64
	}
	if _, err := k.c.opts.Env.CgroupID(lit.Val); err != nil {
		k.errorf(lit.Span, "cgroupid(): %v", err)
	}
	return tUint64
}

// emitCgroupid: a cgroup2 directory's id is its inode number.
func emitCgroupid(g *gen, e *lang.Call) *val {
	id, _ := g.c.opts.Env.CgroupID(e.Args[0].(*lang.StrLit).Val)
	return imm(int64(id), tUint64)
}

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
