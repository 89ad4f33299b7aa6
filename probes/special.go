package probes

import (
	"strings"

	"github.com/cilium/ebpf"
)

// BEGIN and END run once, in bpfsh's own context, through BPF_PROG_TEST_RUN
// of a raw tracepoint program: no attach, no helper thread, no uprobe on
// ourselves.
func init() {
	for _, name := range []string{"BEGIN", "END"} {
		register(&Provider{
			Name:     name,
			Aliases:  []string{strings.ToLower(name)}, // current bpftrace spells them begin/end
			ProgType: ebpf.RawTracepoint,
			Expand: func(_ *Env, parts []string) ([]Point, error) {
				if len(parts) != 0 {
					return nil, errorf("%s takes no arguments", name)
				}
				return []Point{{Provider: name}}, nil
			},
		})
	}
}
