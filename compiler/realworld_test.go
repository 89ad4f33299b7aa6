package compiler

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestRealWorldBuiltins: the builtins bpftrace's tools use that bpfsh
// writes as table rows (syscall_name) or standard-library macros (pcomm,
// leader_comm) compile in the probes the tools use them in.
func TestRealWorldBuiltins(t *testing.T) {
	for _, src := range []string{
		`t:raw_syscalls:sys_enter { @[syscall_name(args.id)] = count(); printf("%s\n", syscall_name(0)); }`,
		`t:syscalls:sys_enter_openat { @[comm, pcomm, leader_comm] = count(); printf("%s %s\n", pcomm(curtask), leader_comm(curtask->real_parent)); }`,
	} {
		if _, diags := compile(t, src); diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
		}
	}
	if _, diags := compile(t, `BEGIN { @ = syscall_name("x"); }`); !diags.HasErrors() {
		t.Errorf("syscall_name of a string: no error")
	}
	if row := funcRow("syscall_name"); row == nil || row.result.Format != FormatSyscall {
		t.Errorf("syscall_name's result is not formatted as a system call's name")
	}
}

// TestNtopBytes: ntop() takes an address's bytes, 4 or 16 of them (a
// tracepoint's __u8 daddr_v6[16]), their number giving the family.
func TestNtopBytes(t *testing.T) {
	src := `t:sock:inet_sock_set_state { @[ntop(args.saddr), ntop(args.daddr_v6), ntop(args.family, args.saddr_v6)] = count(); print(args.daddr); @i = args.daddr_v6[15]; }`
	if _, diags := compile(t, src); diags.HasErrors() {
		t.Errorf("%s:\n%s", src, diags.Format())
	}
	_, diags := compile(t, `BEGIN { @ = ntop("abcde"); }`)
	if want := "ntop() takes 4 bytes (IPv4) or 16 (IPv6), not string[6]"; !strings.Contains(diags.Format(), want) {
		t.Errorf("want %q, got\n%s", want, diags.Format())
	}
}

// TestMissingProbes: config = { missing_probes = ... } decides what an
// attach point that does not exist here is: an error, a warning, nothing.
func TestMissingProbes(t *testing.T) {
	const probes = ` t:syscalls:sys_enter_openat, t:nonsense:nonsense { @ = count(); } t:syscalls:nonsense { exit(); }`
	for _, c := range []struct {
		config        string
		errors, warns int
		programs      int
	}{
		{``, 2, 0, 0},
		{`config = { missing_probes = error }`, 2, 0, 0},
		{`config = { missing_probes = warn }`, 0, 3, 1},
		{`config = { missing_probes = "ignore" }`, 0, 0, 1},
	} {
		obj, diags := compile(t, c.config+probes)
		var errs, warns int
		for _, d := range diags.List {
			if d.Severity == lang.Error {
				errs++
			} else {
				warns++
			}
		}
		if errs != c.errors || warns != c.warns || (obj != nil) != (c.programs > 0) || obj != nil && len(obj.Programs) != c.programs {
			t.Errorf("%s: %d errors and %d warnings, want %d and %d:\n%s", c.config, errs, warns, c.errors, c.warns, diags.Format())
		}
	}
}

// TestReg: reg("name") loads the register from the probe's pt_regs, in
// the probes whose context is one.
func TestReg(t *testing.T) {
	src := `uprobe:libc:getppid { @ = reg("ip"); }`
	obj, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatalf("%s:\n%s", src, diags.Format())
	}
	if !loadsCtx(obj.Programs[0].Spec.Instructions, 128) {
		t.Errorf("%s: no load of pt_regs->ip (ctx+128)", src)
	}
	for src, want := range map[string]string{
		`BEGIN { @ = reg("ip"); }`:                       "reg() reads the registers of kprobe, uprobe and usdt probes, not of BEGIN probes",
		`i:s:1 { @ = reg(1); }`:                          "reg() needs the register's name as a string literal",
		`t:syscalls:sys_enter_openat { @ = reg("ip"); }`: "not of tracepoint probes",
	} {
		if _, diags := compile(t, src); !strings.Contains(diags.Format(), want) {
			t.Errorf("%s: want %q, got\n%s", src, want, diags.Format())
		}
	}
	for name, off := range map[string]int{"ip": 128, "sp": 152, "di": 112, "r15": 0, "orig_ax": 120} {
		if got, ok := probes.RegOffset(name); !ok || got != off {
			t.Errorf("RegOffset(%s) = %d, %v; want %d", name, got, ok, off)
		}
	}
	if _, ok := probes.RegOffset("eip"); ok {
		t.Errorf("RegOffset(eip): a register bpftrace's reg() does not take")
	}
}

// loadsCtx reports whether insns load a u64 at ctx+off (ctx kept in R9).
func loadsCtx(insns asm.Instructions, off int16) bool {
	for _, ins := range insns {
		if ins.OpCode.Class().IsLoad() && ins.Src == ctxReg && ins.Offset == off && ins.OpCode.Size() == asm.DWord {
			return true
		}
	}
	return false
}
