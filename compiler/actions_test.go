package compiler

import (
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/lang"
)

// TestUnsafeGate: every statement that changes what the kernel does is
// refused without --unsafe, with the statement's position; watching (pass,
// reading sock_ops fields) is not.
func TestUnsafeGate(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`xdp:lo { drop; }`, "test.bt:1:10: error: drop discards packets: run bpfsh with --unsafe to allow it\n" +
			"xdp:lo { drop; }\n         ^~~~\n"},
		{`tc:lo:ingress /sport == 53/ { drop; }`, "1:31: error: drop discards packets"},
		{`sockops /op == TIMEOUT_INIT/ { reply = 3s; }`, "1:32: error: reply changes the kernel's TCP behaviour: run bpfsh with --unsafe"},
		{`sockops { setsockopt(SOL_TCP, TCP_BPF_IW, 40); }`, "1:11: error: setsockopt() changes the socket's options"},
		{`BEGIN { signal("SIGUSR1"); }`, "1:9: error: signal() is a destructive action"},
		{`BEGIN { system("true"); }`, "1:9: error: system() is a destructive action"},
		{`xdp:lo { pass; }`, ""},
		{`tc:lo:egress { @[sport] = count(); }`, ""},
		{`sockops { @[op, rport] = count(); }`, ""},
	} {
		prog, diags := lang.Parse("test.bt", []byte(c.src))
		if diags.HasErrors() {
			t.Fatalf("parse %q:\n%s", c.src, diags.Format())
		}
		_, d := Compile(prog, Options{Env: testEnv})
		got := ""
		if d.HasErrors() {
			got = d.Format()
		}
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s without --unsafe:\n%s\nwant %q", c.src, got, c.want)
		}
		if _, d := Compile(prog, Options{Env: testEnv, Unsafe: true}); d.HasErrors() {
			t.Errorf("%s with --unsafe:\n%s", c.src, d.Format())
		}
	}
}
