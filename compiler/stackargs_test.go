package compiler

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// Stacks with modes and limits load into the verifier, on the stack and in
// scratch memory.
var stackArgPrograms = []string{
	`t:syscalls:sys_enter_openat { @[kstack(raw)] = count(); @p[kstack(perf, 5)] = count(); @u[ustack(3), comm] = count(); print(kstack(2)); }`,
	`config = { on_stack_limit = 0 } t:syscalls:sys_enter_openat { @[kstack(100), ustack(perf, 126)] = count(); $t = (1, ustack(4)); print($t); }`,
	`BEGIN { @[kstack(1)] = count(); @m[kstack(raw)] = 1; for ($kv : @m) { print($kv.0); } }`,
}

func TestStackArgsVerifier(t *testing.T) {
	var objs []*Object
	for _, src := range stackArgPrograms {
		obj, diags := compile(t, src)
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", src, diags.Format())
		}
		objs = append(objs, obj)
	}
	privtest.Require(t)
	for i, obj := range objs {
		spec := &ebpf.CollectionSpec{Maps: obj.MapSpecs(), Programs: map[string]*ebpf.ProgramSpec{}}
		for _, p := range obj.Programs {
			spec.Programs[p.Spec.Name] = p.Spec
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			t.Errorf("%s:\n%+v", stackArgPrograms[i], err)
			continue
		}
		coll.Close()
	}
}

func TestStackTypeNames(t *testing.T) {
	for _, c := range []struct {
		t    *Type
		want string
	}{
		{tKstack, "kstack"},
		{&Type{Kind: KStack, User: true, StackMode: "perf", StackLimit: 3}, "ustack(perf, 3)"},
		{&Type{Kind: KStack, StackLimit: 7}, "kstack(7)"},
	} {
		if got := c.t.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.t, got, c.want)
		}
	}
}
