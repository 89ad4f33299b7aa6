package probes

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// interval fires on one CPU at a fixed period; profile fires on every CPU.
// Both are cpu-clock software perf events with a BPF program attached.
func init() {
	for _, c := range []struct {
		name, alias string
		cpus        func(*Env) []int
	}{
		{"interval", "i", func(*Env) []int { return []int{0} }},
		{"profile", "p", (*Env).onlineCPUs},
	} {
		register(&Provider{
			Name:     c.name,
			Aliases:  []string{c.alias},
			ProgType: ebpf.PerfEvent,
			Expand:   func(_ *Env, parts []string) ([]Point, error) { return expandRate(c.name, parts) },
			Attach: func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
				return attachClock(prog, p, c.cpus(env))
			},
		})
	}
}

// expandRate accepts UNIT:N (s, ms, us, hz) and the newer single-part form (1s, 100ms, 99hz).
func expandRate(provider string, parts []string) ([]Point, error) {
	var unit, num string
	switch len(parts) {
	case 1:
		i := strings.IndexFunc(parts[0], func(r rune) bool { return !unicode.IsDigit(r) })
		if i <= 0 {
			return nil, errorf("%s needs a rate: %s:UNIT:N or %s:Nunit (units s, ms, us, hz)", provider, provider, provider)
		}
		num, unit = parts[0][:i], parts[0][i:]
	case 2:
		unit, num = parts[0], parts[1]
	default:
		return nil, errorf("%s needs a rate: %s:UNIT:N (units s, ms, us, hz)", provider, provider)
	}
	n, err := ParseCount(num)
	if err != nil || n == 0 {
		return nil, errorf("%s: invalid count %q", provider, num)
	}
	switch unit {
	case "s", "ms", "us", "hz":
	default:
		return nil, errorf("%s: unknown unit %q (use s, ms, us or hz)", provider, unit)
	}
	return []Point{{Provider: provider, Target: []string{unit, strconv.FormatUint(n, 10)}}}, nil
}

// PeriodNS returns an interval/profile point's period in nanoseconds, or 0 and
// the frequency for hz.
func PeriodNS(p Point) (period uint64, freq uint64) {
	n, _ := strconv.ParseUint(p.Target[1], 10, 64)
	switch p.Target[0] {
	case "s":
		return n * 1e9, 0
	case "ms":
		return n * 1e6, 0
	case "us":
		return n * 1e3, 0
	}
	return 0, n
}

type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type fdCloser int

func (f fdCloser) Close() error { return unix.Close(int(f)) }

func attachClock(prog *ebpf.Program, p Point, cpus []int) (io.Closer, error) {
	period, freq := PeriodNS(p)
	return attachPerf(prog, unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK, period, freq, cpus)
}

// attachPerf opens a sampling perf event on each CPU and attaches prog to it
// (period events, or freq samples per second when freq > 0).
func attachPerf(prog *ebpf.Program, typ uint32, config, period, freq uint64, cpus []int) (io.Closer, error) {
	attr := unix.PerfEventAttr{
		Type:   typ,
		Config: config,
		Size:   uint32(unsafeSizeofPerfAttr),
		Sample: period,
	}
	if freq > 0 {
		attr.Sample = freq
		attr.Bits |= unix.PerfBitFreq
	}
	var cs closers
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			cs.Close()
			return nil, errorf("perf_event_open on CPU %d: %w", cpu, err)
		}
		l, err := attachPerfFD(prog, fd)
		if err != nil {
			cs.Close()
			return nil, err
		}
		cs = append(cs, l)
	}
	return cs, nil
}

// perfLink is a BPF link to a perf event, and the event. It can be pinned
// (the pinned link holds its own reference to the event).
type perfLink struct {
	*link.RawLink
	fd int
}

// Close closes the link first, then the event, releasing both.
func (l *perfLink) Close() error {
	err := l.RawLink.Close()
	unix.Close(l.fd)
	return err
}

// attachPerfFD attaches prog to the perf event fd (a tracepoint, software,
// hardware or PMU event) with a BPF link, or on kernels before 5.15 with
// PERF_EVENT_IOC_SET_BPF. It owns fd: closing what it returns releases
// both, and an error closes fd. (cilium/ebpf's link.Tracepoint would first
// load a kprobe program to learn whether perf links work.)
func attachPerfFD(prog *ebpf.Program, fd int) (io.Closer, error) {
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	if err == nil {
		return &perfLink{RawLink: l, fd: fd}, nil
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, ebpf.ErrNotSupported) {
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err == nil {
			if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err == nil {
				return fdCloser(fd), nil
			}
		}
	}
	unix.Close(fd)
	if errors.Is(err, unix.E2BIG) {
		return nil, errorf("attach to perf event: the kernel runs at most 64 BPF programs on one event (%v): merge probes on the same event into one", err)
	}
	return nil, errorf("attach to perf event: %v", err)
}

func (e *Env) onlineCPUs() []int {
	data, err := os.ReadFile(e.sysPath("devices", "system", "cpu", "online"))
	if err != nil {
		return []int{0}
	}
	var cpus []int
	for _, r := range strings.Split(strings.TrimSpace(string(data)), ",") {
		lo, hi, found := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if found {
			b, _ = strconv.Atoi(hi)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus
}
