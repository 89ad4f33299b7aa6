package compiler

import (
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// loopReturnPrograms end the probe from inside a loop callback: they load
// into the verifier (the flag travels through every callback's frame).
var loopReturnPrograms = []string{
	`BEGIN { @m[1] = 1; for ($kv : @m) { return; } printf("end\n"); }`,
	`BEGIN { for ($i : 1..4) { for ($j : 1..$i) { if ($j == 2) { return; } } } printf("end\n"); }`,
	`BEGIN { @m[1] = 1; $n = 5; for ($kv : @m) { for ($i : 0..$n) { if ($i == 1) { exit(); } } } printf("end\n"); }`,
	`config = { on_stack_limit = 0 } BEGIN { @m[1] = 1; $s = "abc"; for ($kv : @m) { if ($s == "abc") { return; } } }`,
	`t:syscalls:sys_enter_openat { @m[1] = 1; for ($kv : @m) { @n = count(); return; } @after = count(); }`,
}

func TestLoopReturnVerifier(t *testing.T) {
	for _, src := range loopReturnPrograms {
		if _, diags := compile(t, src); diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
		}
	}
	privtest.Require(t)
	for _, src := range loopReturnPrograms {
		obj, diags := compile(t, src)
		if diags.HasErrors() {
			continue
		}
		if err := verify(obj); err != nil {
			t.Errorf("%s:\n%+v", src, err)
		}
	}
}
