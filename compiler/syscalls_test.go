package compiler

import (
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/probes"
)

// A probe on several syscall tracepoints is one program on raw_syscalls
// whose table names each syscall's tracepoint; a body that reads what
// differs between them keeps one program per tracepoint.
func TestSyscallDispatch(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		privtest.Inapplicable(t, "bpfsh knows syscall numbers on amd64 only")
	}
	tests := []struct {
		src      string
		programs []string // each program's point
		attach   int
	}{
		{`t:syscalls:sys_enter_get* { @[probe, args.__syscall_nr] = count(); }`,
			[]string{"tracepoint:raw_syscalls:sys_enter"}, 3},
		{`t:syscalls:* { @[probe] = count(); }`,
			[]string{"tracepoint:raw_syscalls:sys_enter", "tracepoint:syscalls:sys_exit_openat"}, 6},
		{`t:syscalls:sys_enter_gett* { @[probe] = count(); }`, // one syscall: its own tracepoint
			[]string{"tracepoint:syscalls:sys_enter_gettid"}, 1},
		{`t:syscalls:sys_enter_get* { @[kstack] = count(); }`, // the stack would differ
			[]string{"tracepoint:syscalls:sys_enter_getpid", "tracepoint:syscalls:sys_enter_getppid", "tracepoint:syscalls:sys_enter_gettid"}, 3},
		{`t:syscalls:sys_enter_get*,t:sched:sched_switch { @[probe] = count(); }`,
			[]string{"tracepoint:raw_syscalls:sys_enter", "tracepoint:sched:sched_switch"}, 4},
	}
	for _, tt := range tests {
		obj, diags := compile(t, tt.src)
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", tt.src, diags.Format())
		}
		var got []string
		for _, p := range obj.Programs {
			got = append(got, p.Point.String())
		}
		if !slices.Equal(got, tt.programs) || obj.AttachPoints() != tt.attach {
			t.Errorf("%s: programs %q attach %d, want %q attach %d", tt.src, got, obj.AttachPoints(), tt.programs, tt.attach)
		}
	}
	obj, _ := compile(t, `t:syscalls:sys_enter_get* { @[probe] = count(); }`)
	p := obj.Programs[0]
	if p.Provider != probes.SyscallDispatcher || p.Spec.Type != ebpf.Tracing || p.Spec.AttachTo != "sys_enter" {
		t.Errorf("program %v %v %q, want a tp_btf program on sys_enter", p.Provider.Name, p.Spec.Type, p.Spec.AttachTo)
	}
	if len(obj.Tables) != 1 {
		t.Fatalf("%d tables, want 1", len(obj.Tables))
	}
	names := map[uint32]string{}
	for _, kv := range obj.Tables[0].Contents {
		v := kv.Value.([]byte)
		names[kv.Key.(uint32)] = string(v[:slices.Index(v, 0)])
	}
	want := map[uint32]string{39: "tracepoint:syscalls:sys_enter_getpid", 110: "tracepoint:syscalls:sys_enter_getppid", 186: "tracepoint:syscalls:sys_enter_gettid"}
	if len(names) != len(want) {
		t.Errorf("table %v, want %v", names, want)
	}
	for nr, n := range want {
		if names[nr] != n {
			t.Errorf("table %v, want %v", names, want)
		}
	}
}

// A tracepoint whose record the probe does not read attaches as a raw
// tracepoint; one that reads args keeps its perf event.
func TestTracepointAsRaw(t *testing.T) {
	tests := []struct {
		src  string
		want *probes.Provider
	}{
		{`t:sched:sched_switch { @[probe] = count(); }`, probes.TracepointAsRaw},
		{`t:sched:sched_switch { @[args.prev_comm] = count(); }`, nil},
		{`t:sched:sched_switch { @[kstack] = count(); }`, nil},
		{`t:syscalls:sys_enter_getppid { @ = count(); }`, nil}, // not a kernel tracepoint
	}
	for _, tt := range tests {
		obj, diags := compile(t, tt.src)
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", tt.src, diags.Format())
		}
		want := tt.want
		if want == nil {
			want, _ = probes.Lookup("tracepoint")
		}
		if p := obj.Programs[0]; p.Provider != want || p.Spec.Type != want.ProgType {
			t.Errorf("%s: %s program, want %s", tt.src, p.Spec.Type, want.ProgType)
		}
	}
}
