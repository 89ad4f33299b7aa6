package compiler

import (
	"strings"
	"testing"
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
