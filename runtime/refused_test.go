package runtime

import (
	"testing"

	"github.com/cilium/ebpf"
)

// A kernel without a helper the program calls gets one line naming the
// construct, the helper and the first Linux that has it.
func TestMissingHelper(t *testing.T) {
	for _, tt := range []struct{ log, want string }{
		{"invalid func unknown#164", "for ($kv : @map) needs bpf_for_each_map_elem, Linux 5.13; this kernel does not have it"},
		{"unknown func bpf_loop#181", "for ($i : a..b) with bounds known at run time needs bpf_loop, Linux 5.17; this kernel does not have it"},
		{"invalid func unknown#9999", "the program calls helper #9999, which this kernel does not have"},
		{"R1 invalid mem access 'scalar'", ""},
	} {
		ve := &ebpf.VerifierError{Log: []string{"0: (85) call", tt.log}}
		got := missingHelper(ve, nil)
		if tt.want == "" && got != "" || len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("log %q: got %q, want it to start %q", tt.log, got, tt.want)
		}
	}
}
