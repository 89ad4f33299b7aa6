package probes

import (
	"errors"
	"io"
	"strconv"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// hardware:EVENT[:COUNT] samples a CPU performance counter on every CPU.
// The events and aliases are the kernel's generic PERF_TYPE_HARDWARE ones,
// named as perf and bpftrace name them.
var hardwareEvents = []softwareEvent{
	{"cpu-cycles", "cycles", unix.PERF_COUNT_HW_CPU_CYCLES, 1000000},
	{"instructions", "", unix.PERF_COUNT_HW_INSTRUCTIONS, 1000000},
	{"cache-references", "", unix.PERF_COUNT_HW_CACHE_REFERENCES, 1000000},
	{"cache-misses", "", unix.PERF_COUNT_HW_CACHE_MISSES, 1000000},
	{"branch-instructions", "branches", unix.PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 100000},
	{"branch-misses", "", unix.PERF_COUNT_HW_BRANCH_MISSES, 100000},
	{"bus-cycles", "", unix.PERF_COUNT_HW_BUS_CYCLES, 100000},
	{"frontend-stalls", "", unix.PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, 1000000},
	{"backend-stalls", "", unix.PERF_COUNT_HW_STALLED_CYCLES_BACKEND, 1000000},
	{"ref-cycles", "", unix.PERF_COUNT_HW_REF_CPU_CYCLES, 1000000},
}

func findPerfEvent(events []softwareEvent, name string) (softwareEvent, bool) {
	for _, e := range events {
		if e.name == name || (e.alias != "" && e.alias == name) {
			return e, true
		}
	}
	return softwareEvent{}, false
}

func init() {
	register(&Provider{
		Name:     "hardware",
		Aliases:  []string{"h"},
		ProgType: ebpf.PerfEvent,
		Expand: func(_ *Env, parts []string) ([]Point, error) {
			if len(parts) < 1 || len(parts) > 2 {
				return nil, errorf("hardware needs an event: hardware:EVENT[:COUNT]")
			}
			ev, ok := findPerfEvent(hardwareEvents, parts[0])
			if !ok {
				return nil, errorf("unknown hardware event %q (bpfsh -l 'hardware:*' lists them)", parts[0])
			}
			count := ev.period
			if len(parts) == 2 {
				n, err := ParseCount(parts[1])
				if err != nil || n == 0 {
					return nil, errorf("hardware: invalid count %q", parts[1])
				}
				count = n
			}
			return []Point{{Provider: "hardware", Target: []string{ev.name, strconv.FormatUint(count, 10)}}}, nil
		},
		Attach: func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			ev, _ := findPerfEvent(hardwareEvents, p.Target[0])
			n, _ := strconv.ParseUint(p.Target[1], 10, 64)
			c, err := attachPerf(prog, unix.PERF_TYPE_HARDWARE, ev.config, n, 0, env.onlineCPUs())
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
				return nil, errorf("this machine has no hardware counter for %s (a VM without a virtual PMU?): %v", ev.name, err)
			}
			return c, err
		},
	})
}
