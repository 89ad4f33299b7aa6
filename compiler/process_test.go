package compiler

import (
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestPidNSVerifier: in a pid namespace, pid and tid go through
// bpf_get_ns_current_pid_tgid; the programs load.
func TestPidNSVerifier(t *testing.T) {
	env := &probes.Env{TracefsRoot: testEnv.TracefsRoot, SysfsRoot: testEnv.SysfsRoot, ProcRoot: testEnv.ProcRoot, BTFFile: testEnv.BTFFile, PidNS: &probes.PidNS{Dev: 4, Ino: 4026532000}}
	srcs := []string{
		`BEGIN { printf("%d %d %d %d\n", pid, tid, pid(init), tid(curr_ns)); }`,
		`t:syscalls:sys_enter_openat { @[pid, tid(init)] = count(); }`,
		`config = { on_stack_limit = 0 } t:syscalls:sys_enter_openat { @[pid, comm] = count(); }`,
	}
	var objs []*Object
	for _, src := range srcs {
		prog, diags := lang.Parse("test.bt", []byte(src))
		if diags.HasErrors() {
			t.Fatal(diags.Format())
		}
		obj, diags := Compile(prog, Options{Env: env})
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", src, diags.Format())
		}
		objs = append(objs, obj)
	}
	privtest.Require(t)
	for i, obj := range objs {
		if err := verify(obj); err != nil {
			t.Errorf("%s:\n%+v", srcs[i], err)
		}
	}
}
