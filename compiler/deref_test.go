package compiler

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// TestDerefInteger: *n on an integer reads a u64 at address n, as
// bpftrace does, from the memory the probe's pointers address.
func TestDerefInteger(t *testing.T) {
	for _, c := range []struct {
		src  string
		read asm.BuiltinFunc
	}{
		{`BEGIN { $v = *(uint64)curtask; @[sizeof($v)] = *0; }`, asm.FnProbeReadKernel},
		{`t:syscalls:sys_enter_openat { @ = *(uint64)args.filename; }`, asm.FnProbeReadUser},
	} {
		obj, diags := compile(t, c.src)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", c.src, diags.Format())
			continue
		}
		if !callsHelper(obj.Programs[0].Spec.Instructions, c.read) {
			t.Errorf("%s: no call of %v", c.src, c.read)
		}
	}
	if _, diags := compile(t, `BEGIN { $b = true; @ = *$b; }`); !diags.HasErrors() {
		t.Errorf("*bool: compiled without errors")
	}
}

func callsHelper(insns asm.Instructions, fn asm.BuiltinFunc) bool {
	for _, ins := range insns {
		if ins.IsBuiltinCall() && asm.BuiltinFunc(ins.Constant) == fn {
			return true
		}
	}
	return false
}

// TestStrRuntimeLength: str(p, n) takes an n known only at run time, the
// read clamped to max_strlen (the verifier sees a bounded size).
func TestStrRuntimeLength(t *testing.T) {
	obj, diags := compile(t, `t:syscalls:sys_enter_openat { $n = args.flags; @[str(args.filename, $n)] = count(); printf("%s\n", str(args.filename, $n + 1)); }`)
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	if !callsHelper(obj.Programs[0].Spec.Instructions, asm.FnProbeReadUserStr) {
		t.Errorf("no bpf_probe_read_user_str")
	}
	for src, want := range map[string]string{
		`BEGIN { @ = str(0, "x"); }`: "str()'s length must be an integer, not string[2]",
		`BEGIN { @ = str(0, 0); }`:   "str()'s length must be positive",
	} {
		if _, diags := compile(t, src); !strings.Contains(diags.Format(), want) {
			t.Errorf("%s: want %q, got\n%s", src, want, diags.Format())
		}
	}
}
