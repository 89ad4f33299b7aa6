package probes

import (
	"io"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// Syscall dispatch (issue 18): the syscalls:sys_enter_X and sys_exit_X
// tracepoints are each a perf event, and detaching one waits for an
// RCU-tasks grace period (tens of milliseconds), so a wildcard over
// hundreds of them takes many seconds to end. raw_syscalls:sys_enter and
// sys_exit fire for every syscall: one BTF raw tracepoint (tp_btf) program
// there, which looks the syscall number up in a table of the matched
// syscalls, serves them all and detaches at once. It reads what the
// syscall tracepoints' records hold from the same places the kernel fills
// them from: the number from regs->orig_ax, the arguments from the
// registers of the calling convention, the return value from sys_exit's
// own argument. Syscall tracepoints name the kernel's entry point
// (sys_enter_newfstat), whose number this file's table gives
// (sysnum_*.go); the kernel itself finds it by matching the symbol names
// of its syscall table, which user space cannot read.

// SyscallDispatch is what a dispatching program needs beyond its
// arguments: the probe name of each syscall it serves, and where the
// syscall number and the 32-bit-syscall flag are.
type SyscallDispatch struct {
	Probes map[int]string // by syscall number: "tracepoint:syscalls:sys_enter_openat"
	// NrOffset is orig_ax's offset in struct pt_regs (the syscall number).
	NrOffset int
	// StatusOffset is the offset of thread_info.status in task_struct;
	// Compat is its TS_COMPAT bit, set during a 32-bit syscall, whose
	// numbers are another table's: the syscall tracepoints ignore them.
	StatusOffset int
	Compat       int32
}

// tsCompat is x86's TS_COMPAT (arch/x86/include/asm/thread_info.h).
const tsCompat = 0x0002

// SyscallDispatcher is the provider of the points DispatchSyscalls makes:
// a tracepoint to the user, a tp_btf program on raw_syscalls to the kernel.
var SyscallDispatcher = &Provider{
	Name:       "tracepoint",
	ProgType:   ebpf.Tracing,
	AttachType: ebpf.AttachTraceRawTp,
	AttachTo:   func(p Point) string { return p.Target[1] },
	Context:    syscallDispatchContext,
	Attach: func(_ *Env, prog *ebpf.Program, _ Point) (io.Closer, error) {
		return link.AttachTracing(link.TracingOptions{Program: prog})
	},
}

// DispatchSyscalls replaces the syscall tracepoints among points, two or
// more of one direction (sys_enter_*, sys_exit_*), by one point of
// SyscallDispatcher each, when the probe's body reads only arguments
// (used, by name) that every one of them has with the same type in the
// same register. The points it does not replace come back in rest.
func DispatchSyscalls(env *Env, points []Point, used []string) (merged, rest []Point) {
	if len(syscallNumbers) == 0 {
		return nil, points
	}
	byDir := map[string][]string{}
	for _, p := range points {
		dir, ok := syscallDir(p)
		if !ok {
			rest = append(rest, p)
			continue
		}
		byDir[dir] = append(byDir[dir], p.Target[1])
	}
	for _, dir := range []string{"sys_enter", "sys_exit"} {
		names := byDir[dir]
		if len(names) < 2 {
			rest = append(rest, tracepointPoints(names)...)
			continue
		}
		pt := Point{Provider: "tracepoint", Target: []string{"raw_syscalls", dir}, Multi: names}
		if ctx, err := syscallDispatchContext(env, pt); err != nil || !hasArgs(ctx, used) {
			rest = append(rest, tracepointPoints(names)...)
			continue
		}
		merged = append(merged, pt)
	}
	return merged, rest
}

// syscallDir is "sys_enter" or "sys_exit" for a syscall tracepoint whose
// number is known.
func syscallDir(p Point) (string, bool) {
	if p.Provider != "tracepoint" || len(p.Target) != 2 || p.Target[0] != "syscalls" {
		return "", false
	}
	for _, dir := range []string{"sys_enter", "sys_exit"} {
		if name, ok := strings.CutPrefix(p.Target[1], dir+"_"); ok {
			_, known := syscallNumber(name)
			return dir, known
		}
	}
	return "", false
}

// sysnum is a syscall's name and number (sysnum_ARCH.go).
type sysnum struct {
	name string
	nr   int
}

// syscallNumber is the number of the syscall named name. syscallNumbers
// is a sorted table, data in the binary: a map would be built at every
// start, for every script.
func syscallNumber(name string) (int, bool) {
	i, ok := slices.BinarySearchFunc(syscallNumbers, name, func(s sysnum, name string) int { return strings.Compare(s.name, name) })
	if !ok {
		return 0, false
	}
	return syscallNumbers[i].nr, true
}

func tracepointPoints(names []string) []Point {
	var out []Point
	for _, n := range names {
		out = append(out, Point{Provider: "tracepoint", Target: []string{"syscalls", n}})
	}
	return out
}

func hasArgs(ctx *Context, names []string) bool {
	for _, n := range names {
		if _, ok := ctx.Arg(n); !ok {
			return false
		}
	}
	return true
}

// syscallDispatchContext is the context of a dispatching program: the
// arguments every syscall it serves has alike, read from where the
// kernel takes them for the syscall tracepoints' records.
func syscallDispatchContext(env *Env, p Point) (*Context, error) {
	d, regs, err := env.syscallDispatch()
	if err != nil {
		return nil, err
	}
	ctx := &Context{UserPtrs: true, Syscalls: &SyscallDispatch{Probes: map[int]string{},
		NrOffset: d.NrOffset, StatusOffset: d.StatusOffset, Compat: d.Compat}}
	for i, name := range p.Multi {
		tc, err := tracepointContext(env, Point{Provider: "tracepoint", Target: []string{"syscalls", name}})
		if err != nil {
			return nil, err
		}
		_, short, _ := strings.Cut(name, "_"+strings.TrimPrefix(p.Target[1], "sys_")+"_")
		nr, _ := syscallNumber(short)
		ctx.Syscalls.Probes[nr] = "tracepoint:syscalls:" + name
		var args []Field
		for _, f := range tc.Args {
			if f, ok := syscallArg(f, d.NrOffset, regs); ok && (i == 0 || hasSame(ctx.Args, f)) {
				args = append(args, f)
			}
		}
		ctx.Args = args
	}
	return ctx, nil
}

func hasSame(fields []Field, f Field) bool {
	for _, g := range fields {
		if g == f {
			return true
		}
	}
	return false
}

// syscallArg moves a field of a syscall tracepoint's record to where a
// raw_syscalls program finds it: the record holds the number at 8 and the
// arguments (or the return value) as longs from 16 on.
func syscallArg(f Field, nrOffset int, regs []int) (Field, bool) {
	switch {
	case f.Name == "__syscall_nr":
		f.Offset, f.Regs = nrOffset, true
	case f.Name == "ret" && f.Offset == 16:
		f.Offset = 8 // sys_exit(regs, ret)
	case f.Offset >= 16 && (f.Offset-16)%8 == 0 && (f.Offset-16)/8 < len(regs) && f.Size == 8:
		f.Offset, f.Regs = regs[(f.Offset-16)/8], true
	default:
		return f, false
	}
	return f, true
}

// syscallDispatch finds, in kernel BTF, where pt_regs holds the syscall
// number and arguments and where task_struct holds the compat flag; it
// fails where raw_syscalls has no BTF raw tracepoint.
func (e *Env) syscallDispatch() (SyscallDispatch, []int, error) {
	d := SyscallDispatch{Compat: tsCompat}
	if _, err := e.TracepointProto("sys_enter"); err != nil {
		return d, nil, err
	}
	// The compat check reads the task through bpf_get_current_task_btf:
	// without it (before Linux 5.11) each syscall keeps its tracepoint.
	if !e.kernelEnumHas("bpf_func_id", "BPF_FUNC_get_current_task_btf") {
		return d, nil, errorf("no bpf_get_current_task_btf (Linux 5.11)")
	}
	var offs []int
	for _, name := range append([]string{"orig_ax"}, syscallArgRegs...) {
		off, err := e.memberOffset("pt_regs", name)
		if err != nil {
			return d, nil, err
		}
		offs = append(offs, off)
	}
	ti, err := e.memberOffset("task_struct", "thread_info")
	if err != nil {
		return d, nil, err
	}
	st, err := e.memberOffset("thread_info", "status")
	if err != nil {
		return d, nil, err
	}
	d.NrOffset, d.StatusOffset = offs[0], ti+st
	return d, offs[1:], nil
}

// memberOffset is the byte offset of a direct member of a kernel struct.
func (e *Env) memberOffset(typ, member string) (int, error) {
	var s *btf.Struct
	if err := e.FindType(typ, &s); err != nil {
		return 0, err
	}
	for _, m := range s.Members {
		if m.Name == member {
			return int(m.Offset.Bytes()), nil
		}
	}
	return 0, errorf("struct %s has no member %s", typ, member)
}
