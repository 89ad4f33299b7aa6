package probes

import (
	"io"
	"strconv"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// software:EVENT[:COUNT] samples a perf software event on every CPU.
type softwareEvent struct {
	name, alias string
	config      uint64
	period      uint64 // default sample period
}

var softwareEvents = []softwareEvent{
	{"cpu-clock", "cpu", unix.PERF_COUNT_SW_CPU_CLOCK, 1000000},
	{"task-clock", "", unix.PERF_COUNT_SW_TASK_CLOCK, 1000000},
	{"page-faults", "faults", unix.PERF_COUNT_SW_PAGE_FAULTS, 100},
	{"context-switches", "cs", unix.PERF_COUNT_SW_CONTEXT_SWITCHES, 1000},
	{"cpu-migrations", "", unix.PERF_COUNT_SW_CPU_MIGRATIONS, 1},
	{"minor-faults", "", unix.PERF_COUNT_SW_PAGE_FAULTS_MIN, 100},
	{"major-faults", "", unix.PERF_COUNT_SW_PAGE_FAULTS_MAJ, 1},
	{"alignment-faults", "", unix.PERF_COUNT_SW_ALIGNMENT_FAULTS, 1},
	{"emulation-faults", "", unix.PERF_COUNT_SW_EMULATION_FAULTS, 1},
	{"dummy", "", unix.PERF_COUNT_SW_DUMMY, 1},
	{"bpf-output", "", unix.PERF_COUNT_SW_BPF_OUTPUT, 1},
}

func init() {
	register(perfEvents{name: "software", alias: "s", typ: unix.PERF_TYPE_SOFTWARE, events: softwareEvents,
		unknown: "unknown software event %q", asWritten: true}.provider())
}

// perfEvents describes a provider of perf events (software, hardware):
// EVENT[:COUNT] samples the event on every CPU.
type perfEvents struct {
	name, alias string
	typ         uint32 // PERF_TYPE_*
	events      []softwareEvent
	unknown     string // the error for an event it does not have (%q: the name)
	// asWritten: the point keeps the event's name as written, an alias
	// too (probe prints software:cpu:N for the alias).
	asWritten bool
	attachErr func(softwareEvent, error) error // explains an attach error; nil: none
}

func (pe perfEvents) provider() *Provider {
	return &Provider{
		Name:     pe.name,
		Aliases:  []string{pe.alias},
		ProgType: ebpf.PerfEvent,
		Expand: func(_ *Env, parts []string) ([]Point, error) {
			ev, count, err := expandPerfEvent(pe.name, pe.events, parts, pe.unknown)
			if err != nil {
				return nil, err
			}
			name := ev.name
			if pe.asWritten {
				name = parts[0]
			}
			return []Point{{Provider: pe.name, Target: []string{name, strconv.FormatUint(count, 10)}}}, nil
		},
		Attach: func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			ev, n := perfEventTarget(pe.events, p)
			c, err := attachPerf(prog, pe.typ, ev.config, n, 0, env.onlineCPUs())
			if err != nil && pe.attachErr != nil {
				return nil, pe.attachErr(ev, err)
			}
			return c, err
		},
	}
}

// expandPerfEvent reads EVENT[:COUNT] of a software or hardware probe: the
// event (by name or alias) and its sample period.
func expandPerfEvent(provider string, events []softwareEvent, parts []string, unknown string) (softwareEvent, uint64, error) {
	if len(parts) < 1 || len(parts) > 2 {
		return softwareEvent{}, 0, errorf("%s needs an event: %s:EVENT[:COUNT]", provider, provider)
	}
	ev, ok := findPerfEvent(events, parts[0])
	if !ok {
		return softwareEvent{}, 0, errorf(unknown, parts[0])
	}
	count := ev.period
	if len(parts) == 2 {
		n, err := ParseCount(parts[1])
		if err != nil || n == 0 {
			return softwareEvent{}, 0, errorf("%s: invalid count %q", provider, parts[1])
		}
		count = n
	}
	return ev, count, nil
}

// perfEventTarget is the event and sample period of an expanded point.
func perfEventTarget(events []softwareEvent, p Point) (softwareEvent, uint64) {
	ev, _ := findPerfEvent(events, p.Target[0])
	n, _ := strconv.ParseUint(p.Target[1], 10, 64)
	return ev, n
}

func findPerfEvent(events []softwareEvent, name string) (softwareEvent, bool) {
	for _, e := range events {
		if e.name == name || (e.alias != "" && e.alias == name) {
			return e, true
		}
	}
	return softwareEvent{}, false
}
