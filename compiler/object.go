package compiler

import (
	"encoding/binary"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/probes"
)

// The object format: the contract between the compiler and the runtime.
// An Object is data — program and map specs, the layouts of the records
// the programs send, the constants to patch at load — and the runtime
// reads it without asking the compiler anything else. Values in maps and
// records are laid out as their Type says (types.go).

// PatchKind names a constant the runtime fills in just before loading.
type PatchKind int

const (
	PatchStartTime  PatchKind = iota // ktime (ns) when the script started, for elapsed
	PatchNCPUs                       // number of possible CPUs
	PatchChildPID                    // pid of the -c command
	PatchTAIOffset                   // CLOCK_TAI minus CLOCK_BOOTTIME (ns), for nsecs(sw_tai) and tseries()
	PatchKernelAddr                  // the address of the kernel symbol Object.KernelAddrs names (kaddr())
)

// Program is one BPF program: one probe body at one attach point.
type Program struct {
	Point    probes.Point
	Provider *probes.Provider
	Spec     *ebpf.ProgramSpec
	Probe    int // index of the probe in the source
	// PlainRanges: a range loop is a plain loop because the kernel has
	// no bpf_loop; a verifier that finds it too long is explained so.
	PlainRanges bool
}

// AttachPoints is how many attach points the programs stand for: a
// dispatching program serves several syscalls' tracepoints.
func (o *Object) AttachPoints() int {
	n := 0
	for _, p := range o.Programs {
		if p.Provider == probes.SyscallDispatcher {
			n += len(p.Point.Multi)
		} else {
			n++
		}
	}
	return n
}

// Map is one @map.
type Map struct {
	Name   string // "@x", "@" for the anonymous map
	Key    *Type  // nil: scalar
	Value  *Type
	PerCPU bool
	Spec   *ebpf.MapSpec
	Order  int // position of first use in the source
	// KeyNames name the parts of the key after the expressions that set
	// them (@m[comm, $x, 1 + 2] → comm, x, key2), one per key expression:
	// the runtime's metrics labels (a single tuple-typed key is one part).
	KeyNames []string
}

// Object is the compiled form of a script.
type Object struct {
	Programs []*Program
	Maps     []*Map // sorted by name
	Printfs  []*Printf
	// Ring and Stats are the event ring buffer and error counters, nil when unused.
	Ring   *ebpf.MapSpec
	Stats  *ebpf.MapSpec
	Stacks *ebpf.MapSpec // stack traces for kstack/ustack
	// Control holds the exit flag: once exit() has run, probes do nothing.
	Control *ebpf.MapSpec
	// Scratch holds the large values of probes that do not fit the stack.
	Scratch *ebpf.MapSpec
	// Tables are maps the programs only read, filled at creation: a
	// syscall dispatch's probe names by syscall number.
	Tables []*ebpf.MapSpec
	// Patches lists instructions (by symbol) whose constants the runtime sets.
	Patches map[string]PatchKind
	// KernelAddrs names, for each PatchKernelAddr instruction (by symbol),
	// the kernel symbol whose address the runtime puts there.
	KernelAddrs map[string]string
	Warnings    string
	// NoPrintMaps: config = { print_maps_on_exit = 0 }; maps are not
	// printed when the program ends.
	NoPrintMaps bool
	// NamedParams are the parameters the program reads with getopt(), in
	// source order.
	NamedParams []NamedParam
	// File names the script ("stdin", "-e" or a path), for the rule
	// lines USB verdicts report.
	File string
}

// MapSpecs returns every map spec by name, for loading.
func (o *Object) MapSpecs() map[string]*ebpf.MapSpec {
	out := map[string]*ebpf.MapSpec{}
	for _, m := range o.Maps {
		out[m.Spec.Name] = m.Spec
	}
	if o.Ring != nil {
		out[ringMap] = o.Ring
	}
	if o.Stats != nil {
		out[statsMap] = o.Stats
	}
	if o.Stacks != nil {
		out[stackMap] = o.Stacks
	}
	if o.Control != nil {
		out[ctlMap] = o.Control
	}
	if o.Scratch != nil {
		out[scratchMap] = o.Scratch
	}
	for _, t := range o.Tables {
		out[t.Name] = t
	}
	return out
}

// Events are records in the ring buffer, each starting with a u64 id: a
// printf's index in Object.Printfs, or one of these.
const (
	EventExit  uint64 = 0x7fffff00 + iota // followed by the exit code (u64)
	EventPrint                            // map index, top, div
	EventClear                            // map index
	EventZero                             // map index
	// Kinds of printf-like records (Printf.Kind).
	EventSystem // run the formatted command
	EventCat    // print the named file
	EventTime   // print the time, strftime-formatted
	EventJoin   // join(): a count, then strings of ArgLen bytes; Format is the delimiter
	EventErrorf // print to stderr as an error, after Printf.Loc
	EventWarnf  // print to stderr as a warning, after Printf.Loc
)

// Verb is one conversion in a printf format.
type Verb struct {
	Spec string // the whole conversion as written, e.g. "%-5llu"
	Conv byte   // d, i, u, x, X, o, s, c, p, ...
}

// Printf is the layout of one kind of record: the format and how the
// arguments are laid out after the id. Calls whose records are laid out
// alike, like one printf at several attach points, share one (resources.go).
type Printf struct {
	Format string
	Verbs  []Verb
	Args   []*Type
	Offs   []int // offset of each argument from the start of the record
	Size   int
	Value  bool   // print(value): the single argument printed alone on a line
	Kind   uint64 // 0 for printf; EventSystem, EventCat, EventTime, EventJoin, EventErrorf or EventWarnf
	ArgLen int    // EventJoin: bytes of each string
	Loc    string // errorf/warnf: where the call is, as file:line:col-endcol
	// Expanded lists, for an errorf/warnf in a macro, the calls that
	// expanded it (innermost first).
	Expanded []SourceRef
}

// SourceRef is a place in the source: its location and the source line
// with the span underlined (bpftrace's "~~~~" style).
type SourceRef struct {
	Loc     string
	Context string
}

// Names of the maps every program may share.
const (
	ringMap  = "bpfsh_events"
	statsMap = "bpfsh_stats"
	ctlMap   = "bpfsh_ctl"
)

// Indexes in the stats map (per-CPU counters of things that went wrong).
const (
	statLost      = iota // ring buffer full: events dropped
	statMapFull          // map update failed (max entries reached)
	statReadFault        // bpf_probe_read* failed (a bad or paged-out address)
	statOne              // not a counter: the constant 1, a value pointer for count()'s first insert
	statDivZero          // a division or modulo by zero (its result was taken as 1)
	statCount
)

// eagain is EAGAIN, the only error bpf_ringbuf_output returns with valid
// flags and size: the lost-events counter adds R0 (-EAGAIN) per failure,
// one instruction less than a branch to an add of 1.
const eagain = 11

// Counters is what a program's stats map says went wrong.
type Counters struct {
	Lost       uint64 // events dropped because the ring buffer was full
	MapFull    uint64 // map updates that failed (max keys reached)
	ReadFaults uint64 // probe_read* calls that failed
	DivZero    uint64 // divisions or modulos by zero (taken as 1)
}

// DecodeStats reads the stats map's single value.
func DecodeStats(raw []byte) Counters {
	at := func(i int) uint64 {
		if 8*i+8 > len(raw) {
			return 0
		}
		return binary.LittleEndian.Uint64(raw[8*i:])
	}
	return Counters{Lost: -at(statLost) / eagain, MapFull: at(statMapFull), ReadFaults: at(statReadFault),
		DivZero: at(statDivZero)}
}

// statsContents is the stats map's initial value: zero counters and the
// constant one.
func statsContents() []ebpf.MapKV {
	v := make([]byte, 8*statCount)
	binary.LittleEndian.PutUint64(v[8*statOne:], 1)
	return []ebpf.MapKV{{Key: uint32(0), Value: v}}
}
