package compiler

import "testing"

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
