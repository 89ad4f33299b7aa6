package probes

import (
	"strings"

	"github.com/cilium/ebpf"
)

// BEGIN and END run once, in bpfsh's own context, through BPF_PROG_TEST_RUN
// of a raw tracepoint program: no attach, no helper thread, no uprobe on
// ourselves.
func init() {
	for _, sp := range []struct {
		name string
		runs Lifecycle
	}{{"BEGIN", AtBegin}, {"END", AtEnd}} {
		name := sp.name
		register(&Provider{
			Name:     name,
			Aliases:  []string{strings.ToLower(name)}, // current bpftrace spells them begin/end
			Runs:     sp.runs,
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

// self:signal:SIGUSR1 runs, like BEGIN, through BPF_PROG_TEST_RUN: each
// time bpfsh receives SIGUSR1 (current bpftrace's self probe).
func init() {
	register(&Provider{
		Name:     "self",
		Runs:     OnSignal,
		ProgType: ebpf.RawTracepoint,
		Expand: func(_ *Env, parts []string) ([]Point, error) {
			if len(parts) != 2 || parts[0] != "signal" {
				return nil, errorf("self probes are self:signal:SIGUSR1")
			}
			if parts[1] != "SIGUSR1" {
				return nil, errorf("self:signal supports SIGUSR1 only, not %s", parts[1])
			}
			return []Point{{Provider: "self", Target: parts}}, nil
		},
	})
}
