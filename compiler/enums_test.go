package compiler

import (
	"strings"
	"testing"
)

// TestKernelEnumeratorsEverywhere: every enumerator of the kernel's BTF is
// a constant in every kind of probe, sockops' TCP states included.
func TestKernelEnumeratorsEverywhere(t *testing.T) {
	for _, src := range []string{
		`t:syscalls:sys_enter_openat /args.flags != TCP_SYN_RECV/ { @[TCP_CLOSE, IPPROTO_IP] = IPPROTO_UDP + TCP_FIN_WAIT1; }`,
		`BEGIN { printf("%d %d\n", BPF_MAP_TYPE_HASH, TCP_CLOSE); } i:s:1 { @ = TCP_SYN_RECV; }`,
		`sockops { if (op == BPF_SOCK_OPS_STATE_CB && args.arg1 == TCP_SYN_RECV && state != TCP_CLOSE) { @ = count(); } }`,
	} {
		if _, diags := compile(t, src); diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
		}
	}
	// The values are the kernel's: TCP_CLOSE (7) is above TCP_SYN_RECV (3).
	_, diags := compile(t, `BEGIN { @ = lhist(1, TCP_CLOSE, TCP_SYN_RECV, 1); }`)
	if got := diags.Format(); !strings.Contains(got, "lhist() max must be greater than min") {
		t.Errorf("lhist(1, TCP_CLOSE, TCP_SYN_RECV, 1): want max <= min, got\n%s", got)
	}
	// Names that are no kernel enumerator keep their own errors.
	for src, want := range map[string]string{
		`BEGIN { @ = reply; }`:                    `reply is only available in sockops probes`,
		`BEGIN { @ = NOT_AN_ENUMERATOR_AT_ALL; }`: `unknown identifier "NOT_AN_ENUMERATOR_AT_ALL"`,
	} {
		if _, diags := compile(t, src); !strings.Contains(diags.Format(), want) {
			t.Errorf("%s: want %q, got\n%s", src, want, diags.Format())
		}
	}
}
