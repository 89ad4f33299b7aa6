package probes

import (
	"errors"

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

func init() {
	register(perfEvents{
		name: "hardware", alias: "h", typ: unix.PERF_TYPE_HARDWARE, events: hardwareEvents,
		unknown: "unknown hardware event %q (bpfsh -l 'hardware:*' lists them)",
		attachErr: func(ev softwareEvent, err error) error {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
				return errorf("this machine has no hardware counter for %s (a VM without a virtual PMU?): %v", ev.name, err)
			}
			return err
		},
	}.provider())
}
