package probes

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

func init() {
	register(&Provider{
		Name:     "tracepoint",
		Aliases:  []string{"t"},
		ProgType: ebpf.TracePoint,
		Expand:   expandTracepoint,
		Context:  tracepointContext,
		Attach:   attachTracepoint,
	})
}

// attachTracepoint opens the tracepoint's perf event and attaches prog.
func attachTracepoint(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
	id, err := tracepointID(env, p)
	if err != nil {
		return nil, err
	}
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Config:      id,
		Size:        uint32(unsafeSizeofPerfAttr),
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
	}
	// Every thread, CPU 0: a BPF program on a tracepoint runs wherever it fires.
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, errorf("perf_event_open for tracepoint %s:%s: %v", p.Target[0], p.Target[1], err)
	}
	return attachPerfFD(prog, fd)
}

// tracepointID is the tracepoint's ID, from the format the script was
// compiled with (its ID line) or else from its id file.
func tracepointID(env *Env, p Point) (uint64, error) {
	if c, ok := formatCache.Load(env.formatPath(p.Target[0], p.Target[1])); ok && c.(*Context).tracepointID != 0 {
		return c.(*Context).tracepointID, nil
	}
	file := env.tracefs() + "/events/" + p.Target[0] + "/" + p.Target[1] + "/id"
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, errorf("tracepoint %s:%s: %v", p.Target[0], p.Target[1], err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, errorf("%s: %v", file, err)
	}
	return id, nil
}

func (e *Env) eventsDir() string { return filepath.Join(e.tracefs(), "events") }

// Tracepoints lists "category:name" for every tracepoint matching the glob
// patterns (either may be a wildcard).
func (e *Env) Tracepoints(catPat, namePat string) ([]Point, error) {
	cats, err := os.ReadDir(e.eventsDir())
	if err != nil {
		return nil, errorf("cannot read tracepoints: %v (is tracefs mounted? try: mount -t tracefs nodev /sys/kernel/tracing)", err)
	}
	var out []Point
	for _, c := range cats {
		if !c.IsDir() {
			continue
		}
		if ok, _ := path.Match(catPat, c.Name()); !ok {
			continue
		}
		evs, err := os.ReadDir(filepath.Join(e.eventsDir(), c.Name()))
		if err != nil {
			continue
		}
		for _, ev := range evs {
			if !ev.IsDir() {
				continue
			}
			if ok, _ := path.Match(namePat, ev.Name()); ok {
				out = append(out, Point{Provider: "tracepoint", Target: []string{c.Name(), ev.Name()}})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func expandTracepoint(env *Env, parts []string) ([]Point, error) {
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, errorf("tracepoint needs a category and a name: tracepoint:CATEGORY:NAME")
	}
	if !HasWildcard(parts[0]) && !HasWildcard(parts[1]) {
		file := env.formatPath(parts[0], parts[1])
		if _, ok := formatCache.Load(file); ok {
			return []Point{{Provider: "tracepoint", Target: []string{parts[0], parts[1]}}}, nil
		}
		if _, err := os.Stat(file); err != nil {
			if _, err2 := os.Stat(env.eventsDir()); err2 != nil {
				return nil, errorf("tracefs is not mounted at %s: mount -t tracefs nodev /sys/kernel/tracing", env.tracefs())
			}
			return nil, missingf("tracepoint not found: %s:%s", parts[0], parts[1])
		}
		return []Point{{Provider: "tracepoint", Target: []string{parts[0], parts[1]}}}, nil
	}
	pts, err := env.Tracepoints(parts[0], parts[1])
	if err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		return nil, missingf("no tracepoint matches %s:%s", parts[0], parts[1])
	}
	return pts, nil
}

var formatCache sync.Map // path → *Context

// formatPath is the path of a tracepoint's format file (also the key of
// its cached Context): joined without filepath.Join's cleaning, as it is
// computed for every probe of a script.
func (e *Env) formatPath(cat, name string) string {
	return e.tracefs() + "/events/" + cat + "/" + name + "/format"
}

func tracepointContext(env *Env, p Point) (*Context, error) {
	file := env.formatPath(p.Target[0], p.Target[1])
	if c, ok := formatCache.Load(file); ok {
		return c.(*Context), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, errorf("cannot read tracepoint format: %v", err)
	}
	c, err := ParseFormat(data)
	if err != nil {
		return nil, errorf("%s: %v", file, err)
	}
	c.UserPtrs = p.Target[0] == "syscalls"
	// 1, as bpftrace's: 0 would drop the event for every other perf user
	// of the tracepoint (perf record, perf stat) while bpfsh runs.
	c.Return = 1
	formatCache.Store(file, c)
	return c, nil
}

// ParseFormat parses a tracefs event format file. Common fields
// (common_type, ...) are skipped: bpftrace does not expose them either.
func ParseFormat(data []byte) (*Context, error) {
	c := &Context{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if id, ok := strings.CutPrefix(line, "ID:"); ok {
			c.tracepointID, _ = strconv.ParseUint(strings.TrimSpace(id), 10, 64)
		}
		if !strings.HasPrefix(line, "field:") {
			continue
		}
		var f Field
		var decl string
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, ":")
			if !ok {
				continue
			}
			switch k {
			case "field":
				decl = v
			case "offset":
				f.Offset, _ = strconv.Atoi(v)
			case "size":
				f.Size, _ = strconv.Atoi(v)
			case "signed":
				f.Signed = v == "1"
			}
		}
		if err := parseFieldDecl(decl, &f); err != nil {
			return nil, err
		}
		if strings.HasPrefix(f.Name, "common_") {
			continue
		}
		c.Args = append(c.Args, f)
	}
	return c, nil
}

// parseFieldDecl splits "const char * filename", "char comm[16]" or
// "__data_loc char[] name" into type and name.
func parseFieldDecl(decl string, f *Field) error {
	decl = strings.TrimSpace(decl)
	if strings.HasPrefix(decl, "__data_loc ") {
		f.DataLoc = true
		decl = strings.TrimPrefix(decl, "__data_loc ")
	}
	i := strings.LastIndexAny(decl, " *")
	if i < 0 {
		return errorf("cannot parse field %q", decl)
	}
	name := decl[i+1:]
	typ := strings.TrimSpace(decl[:i+1])
	if j := strings.IndexByte(name, '['); j >= 0 {
		n, _ := strconv.Atoi(strings.TrimSuffix(name[j+1:], "]"))
		f.Elems = n
		name = name[:j]
	}
	if strings.HasSuffix(typ, "[]") {
		typ = strings.TrimSpace(strings.TrimSuffix(typ, "[]"))
	}
	f.Name = name
	f.CType = typ
	if strings.HasSuffix(typ, "*") {
		f.Ptr = true
		typ = strings.TrimSpace(strings.TrimSuffix(typ, "*"))
	}
	base := strings.TrimPrefix(strings.TrimPrefix(typ, "const "), "unsigned ")
	f.Char = base == "char" || base == "signed char"
	if f.Elems > 0 && f.Char {
		f.Signed = false
	}
	return nil
}

// TracepointAsRaw attaches a tracepoint's program as a BPF raw tracepoint
// (BPF_RAW_TRACEPOINT_OPEN) rather than through a perf event, for
// probes that do not read the event's record: a raw tracepoint's program
// gets the tracepoint's own arguments (TP_PROTO), not the record its
// TP_fast_assign code fills (sched_switch's prev_state is computed there),
// so args cannot be had this way in general. What it gains: detaching a
// perf-event tracepoint waits for an RCU grace period, one tracepoint
// after another (the kernel serializes them, about 95 ms each here),
// while a raw tracepoint's link goes at once.
var TracepointAsRaw = &Provider{
	Name:     "tracepoint",
	ProgType: ebpf.RawTracepoint,
	Context:  func(*Env, Point) (*Context, error) { return &Context{}, nil },
	Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: p.Target[1], Program: prog})
	},
}

// notTracepoints are tracefs event categories whose events are not
// kernel tracepoints of the same name: syscalls hang off raw_syscalls,
// the others are made at run time or by ftrace itself.
var notTracepoints = map[string]bool{"syscalls": true, "kprobes": true, "uprobes": true, "synthetic": true, "ftrace": true}

// HasRawTracepoint reports whether a tracepoint point is a kernel
// tracepoint a BPF raw tracepoint can attach to (vmlinux BTF has its
// btf_trace_ prototype).
func (e *Env) HasRawTracepoint(p Point) bool {
	if p.Provider != "tracepoint" || len(p.Target) != 2 || notTracepoints[p.Target[0]] {
		return false
	}
	_, err := e.TracepointProto(p.Target[1])
	return err == nil
}
