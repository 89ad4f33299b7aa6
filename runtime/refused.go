package runtime

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
)

// refusedHelpers names the functions behind helpers that a kernel may
// refuse by configuration rather than because bpfsh used them wrongly.
var refusedHelpers = map[string]string{
	"bpf_probe_write_user": "write_user()",
}

// refusedHelper explains a verifier rejection that comes from the kernel
// refusing a helper (lockdown, a missing config option); "" otherwise.
func refusedHelper(ve *ebpf.VerifierError) string {
	for _, line := range ve.Log {
		for helper, fn := range refusedHelpers {
			if strings.Contains(line, "cannot use helper "+helper+"#") || strings.Contains(line, "unknown func "+helper+"#") {
				return fmt.Sprintf("%s: this kernel refuses the %s helper (kernel lockdown, or a configuration without it)", fn, helper)
			}
		}
	}
	return ""
}
