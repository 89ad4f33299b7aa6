// Package compiler turns a parsed bpfsh program into BPF programs and maps
// as pure data: it checks types, plans resources (maps, printf formats) and
// generates instructions in a fixed order. It never touches the kernel; what
// it knows about the machine comes through probes.Env, which tests point at
// captured files.
package compiler

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// Options configure a compilation.
type Options struct {
	// Env is the machine the program is compiled for (required): the
	// running one (probes.SystemEnv) or, in tests, captured files.
	Env    *probes.Env
	Params []string // positional parameters $1..$N
	// NamedArgs are the named parameters after `--`, without their "--":
	// "aa=20" or "flag" (see getopt.go).
	NamedArgs []string
	StrLen    int  // default string buffer size (64)
	Unsafe    bool // allow destructive actions (signal, system, override)
	// MaxMapKeys and RingPages override the defaults (config = { ... } in
	// the script wins over these, as they come from the environment).
	MaxMapKeys int
	RingPages  int
	MaxProbes  int
	// ProbeFilter (--probe-filter) keeps only the attach points whose
	// names match, and BEGIN and END.
	ProbeFilter *regexp.Regexp
	// DummyTSMap names a scalar integer map (like "@ts") whose value
	// tseries() takes as the time instead of the clock: bpftrace's
	// BPFTRACE_DUMMY_TS_MAP test hook, which makes time series
	// deterministic.
	DummyTSMap string
}

// DefaultMaxProbes is the default limit on attach points, as bpftrace's.
const DefaultMaxProbes = 1024

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

// noPrealloc is BPF_F_NO_PREALLOC: hash map entries allocated as they are used.
const noPrealloc = 1

// DefaultMaxKeys is the default number of entries of a keyed map.
const DefaultMaxKeys = 4096

// RingSize is the ring buffer size in bytes.
const RingSize = 1 << 20

// exitRingSize is the ring buffer's size when only exit() writes to it.
const exitRingSize = 4 << 12

// PatchKind names a constant the runtime fills in just before loading.
type PatchKind int

const (
	PatchStartTime PatchKind = iota // ktime (ns) when the script started, for elapsed
	PatchNCPUs                      // number of possible CPUs
	PatchChildPID                   // pid of the -c command
	PatchTAIOffset                  // CLOCK_TAI minus CLOCK_BOOTTIME (ns), for nsecs(sw_tai) and tseries()
)

// Program is one BPF program: one probe body at one attach point.
type Program struct {
	Point    probes.Point
	Provider *probes.Provider
	Spec     *ebpf.ProgramSpec
	Probe    int // index of the probe in the source
}

// Map is one @map.
type Map struct {
	Name   string // "@x", "@" for the anonymous map
	Key    *Type  // nil: scalar
	Value  *Type
	PerCPU bool
	Spec   *ebpf.MapSpec
	Order  int // position of first use in the source
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
	// Patches lists instructions (by symbol) whose constants the runtime sets.
	Patches  map[string]PatchKind
	Warnings string
	// NoPrintMaps: config = { print_maps_on_exit = 0 }; maps are not
	// printed when the program ends.
	NoPrintMaps bool
	// NamedParams are the parameters the program reads with getopt(), in
	// source order.
	NamedParams []NamedParam
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
	return out
}

type compiler struct {
	prog      *lang.Program
	opts      Options
	strlen    int
	maps      map[string]*Map
	printfs   []*Printf
	useRing   bool
	ringData  bool // records other than exit()'s go through the ring buffer
	ringSet   bool // the ring buffer's size was configured
	useStats  bool
	useStacks bool
	useExit   bool // some probe calls exit(): every probe checks the exit flag first
	patches   map[string]PatchKind
	npatch    int
	maxKeys   int
	ringSize  int
	maxProbes int
	// stackLimit is on_stack_limit: buffers larger than this go to
	// scratch memory (-1: only when a probe does not fit the stack).
	stackLimit int
	// C definitions in the script, and the kernel's enumerators (by
	// name, indexed when a script first names an unknown identifier).
	cdefs       *cdefs
	kernelEnums map[string]enumValue
	decls       map[string]*mapDecl // let @m = kind(n); by map name
	defs        defines             // #define constants (defines.go)
	filter      probeFilter         // --probe-filter's effect (probefilter.go)
	// config = { license = "..."; print_maps_on_exit = 0 }
	license     string
	noPrintMaps bool
	// getopt(): by parameter name, in order of first use, and per call
	getopts     map[string]*getoptInfo
	getoptOrder []string
	getoptCalls map[*lang.Call]*getoptInfo
}

// config applies `config = { key = value; ... }` over the options.
func (c *compiler) config(prog *lang.Program, diags *lang.Diags) {
	c.maxKeys, c.ringSize, c.maxProbes, c.stackLimit, c.license = DefaultMaxKeys, RingSize, DefaultMaxProbes, -1, "GPL"
	if c.opts.MaxProbes > 0 {
		c.maxProbes = c.opts.MaxProbes
	}
	if c.opts.MaxMapKeys > 0 {
		c.maxKeys = c.opts.MaxMapKeys
	}
	if c.opts.RingPages > 0 {
		c.ringSize, c.ringSet = ringBytes(c.opts.RingPages), true
	}
	for _, a := range prog.Config {
		id, _ := a.LHS.(*lang.Ident)
		if id == nil {
			diags.Errorf(a.Span, "config keys are names: config = { max_map_keys = 8192 }")
			continue
		}
		name := strings.TrimPrefix(strings.ToLower(id.Name), "bpftrace_")
		if c.configString(name, id, a.RHS, diags) {
			continue
		}
		lit, ok := a.RHS.(*lang.IntLit)
		if b, isBool := a.RHS.(*lang.BoolLit); isBool && name == "print_maps_on_exit" {
			lit, ok = &lang.IntLit{Span: b.Span}, true
			if b.Val {
				lit.Val = 1
			}
		}
		if !ok {
			if !configKeys[name] {
				diags.Errorf(a.Span, "%s: not a known configuration option", id.Name).Hint("known: %s", strings.Join(configKeyList(), ", "))
			} else {
				diags.Errorf(a.RHS.Sp(), "%s: expecting a number", id.Name)
			}
			continue
		}
		switch name {
		case "max_map_keys", "map_keys_max":
			c.maxKeys = int(lit.Val)
		case "max_probes":
			c.maxProbes = int(lit.Val)
		case "perf_rb_pages":
			c.ringSize, c.ringSet = ringBytes(int(lit.Val)), true
		case "max_strlen", "strlen":
			if lit.Val < 1 || lit.Val > maxStrlen {
				diags.Errorf(lit.Span, "max_strlen must be from 1 to %d", maxStrlen)
				continue
			}
			c.strlen = int(lit.Val)
		case "on_stack_limit":
			c.stackLimit = int(min(lit.Val, maxScratch))
			continue // 0 is valid: every buffer in scratch memory
		case "print_maps_on_exit":
			c.noPrintMaps = lit.Val == 0
			continue
		default:
			if configKeys[name] {
				diags.Warnf(a.Span, "config option %s has no effect in bpfsh", id.Name)
				continue
			}
			diags.Errorf(a.Span, "%s: not a known configuration option", id.Name).Hint("known: %s", strings.Join(configKeyList(), ", "))
			continue
		}
		if lit.Val == 0 {
			diags.Errorf(lit.Span, "%s must be positive", id.Name)
		}
	}
}

// ringBytes turns a page count into a valid ring buffer size (a power-of-2
// number of pages).
func ringBytes(pages int) int {
	n := 4096
	for n < pages*4096 {
		n *= 2
	}
	return n
}

func (c *compiler) file() string {
	if c.prog.File == "" {
		return "stdin"
	}
	return c.prog.File
}

func (c *compiler) param(n int) (string, bool) {
	if n < 1 || n > len(c.opts.Params) {
		return "", false
	}
	return c.opts.Params[n-1], true
}

func (c *compiler) constInt(e lang.Expr) (int64, bool) {
	switch e := e.(type) {
	case *lang.IntLit:
		return int64(e.Val), true
	case *lang.PosParam:
		v, ok := c.param(e.N)
		if !ok {
			return 0, false
		}
		n, err := parseIntParam(v)
		return n, err == nil
	}
	return 0, false
}

func (c *compiler) addPrintf(p *Printf) int {
	c.printfs = append(c.printfs, p)
	return len(c.printfs) - 1
}

func (c *compiler) patchSymbol(k PatchKind) string {
	c.npatch++
	s := "bpfsh_patch_" + strconv.Itoa(c.npatch)
	c.patches[s] = k
	return s
}

// retval is what a program returns when it ends normally.
func (c *compiler) retval(sc *scope) int32 {
	if sc.ctx != nil {
		return sc.ctx.Return
	}
	return 0
}

// Compile checks prog and generates its BPF programs and maps.
func Compile(prog *lang.Program, opts Options) (*Object, *lang.Diags) {
	diags := &lang.Diags{File: prog.File, Src: prog.Src}
	if opts.StrLen == 0 {
		opts.StrLen = 64
	}
	opts.StrLen = min(opts.StrLen, maxStrlen)
	if opts.Env == nil {
		panic("compiler.Compile: Options.Env is nil (pass probes.SystemEnv())")
	}
	c := &compiler{prog: prog, opts: opts, strlen: opts.StrLen, maps: map[string]*Map{}, patches: map[string]PatchKind{},
		getopts: map[string]*getoptInfo{}, getoptCalls: map[*lang.Call]*getoptInfo{}}
	k := &checker{c: c, diags: diags, maps: map[string]*mapInfo{}}

	c.cdefs = newCdefs()
	for _, d := range prog.Preamble {
		c.cdecl(d, diags)
	}
	c.config(prog, diags)
	if len(prog.Probes) == 0 && !diags.HasErrors() {
		diags.Errorf(lang.Span{Start: lang.PosAt(prog.Src, 0), End: lang.PosAt(prog.Src, len(prog.Src))},
			"the program has no probes").Hint("a probe looks like: BEGIN { printf(\"hello\\n\"); }")
	}
	c.mapDecls(prog, diags)
	own := prog.Macros
	c.imports(prog, diags)
	lang.ExpandMacros(prog, lang.MacroOptions{Library: stdlib, Builtin: isCompilerName}, diags)
	prog.Macros = own // the imported ones were for this expansion only
	if diags.HasErrors() {
		return nil, diags
	}

	// Resolve attach points.
	type instance struct {
		probe *lang.Probe
		index int
		sc    *scope
	}
	var insts []instance
	// What the kernel lacks is said once, however many probes need it.
	lacks := map[string]int{} // message → index in diags.List
	lacksMore := map[int]int{}
	for i, p := range prog.Probes {
		overrides := callsOverride(p)
		for _, spec := range p.Specs {
			provName, parts := spec.Provider, c.specParts(spec.Parts)
			if strings.Contains(provName, "$") {
				// BEG$1, or $1 alone: the parameter may hold ':'s.
				provName, parts = lang.SplitSpec(c.specParts([]string{spec.Raw})[0])
			}
			prov, ok := probes.Lookup(provName)
			if !ok {
				d := diags.Errorf(spec.Span, "unknown probe type %q", provName)
				if known[provName] {
					d.Msg = fmt.Sprintf("not supported yet: %s probes", provName)
				}
				continue
			}
			var points []probes.Point
			var err error
			if overrides {
				// override() decides the mechanism, hence maybe the provider.
				prov, points, err = probes.ResolveOverride(opts.Env, prov, parts)
			} else {
				points, err = prov.Expand(opts.Env, parts)
			}
			if err != nil {
				if probes.KernelLacks(err) {
					if i, ok := lacks[err.Error()]; ok {
						lacksMore[i]++
						continue
					}
					diags.Errorf(spec.Span, "%v", err)
					lacks[err.Error()] = len(diags.List) - 1
					continue
				}
				diags.Errorf(spec.Span, "%v", err)
				continue
			}
			for _, pt := range points {
				if !c.keepPoint(prov, pt) {
					continue
				}
				sc := &scope{point: pt, prov: prov}
				if prov.Context != nil {
					ctx, err := prov.Context(opts.Env, pt)
					if err != nil {
						diags.Errorf(spec.Span, "%v", err)
						continue
					}
					sc.ctx = ctx
				}
				insts = append(insts, instance{probe: p, index: i, sc: sc})
			}
		}
	}
	for i, n := range lacksMore {
		if n == 1 {
			diags.List[i].Hint("1 more probe of this script needs it too")
		} else {
			diags.List[i].Hint("%d more probes of this script need it too", n)
		}
	}
	c.checkFiltered(diags)
	if len(insts) > c.maxProbes {
		diags.Errorf(prog.Probes[0].Span, "this script would attach %d probes; the limit is %d", len(insts), c.maxProbes).
			Hint("narrow the wildcards, or raise the limit: config = { max_probes = %d }", len(insts))
	}
	if diags.HasErrors() {
		return nil, diags
	}

	// Type check: first learn map types quietly, then variable types (with
	// every map known), then check for real.
	k.quiet = true
	for pass := 0; pass < 2; pass++ {
		for _, in := range insts {
			in.sc.reset()
			k.probe(in.probe, in.sc)
			in.sc.final = in.sc.vars
		}
	}
	k.quiet = false
	checked := map[*lang.Probe]bool{}
	for _, in := range insts {
		in.sc.reset()
		if checked[in.probe] {
			// Report each probe's errors once, however many points it has.
			saved := k.diags
			k.diags = &lang.Diags{}
			k.probe(in.probe, in.sc)
			k.diags = saved
			continue
		}
		checked[in.probe] = true
		k.probe(in.probe, in.sc)
	}
	c.checkMapDecls(k.maps, diags)
	if diags.HasErrors() {
		return nil, diags
	}

	// Resources: one BPF map per @map, named so bpftool shows the script's names.
	names := sortedKeys(k.maps)
	for i, name := range names {
		mi := k.maps[name]
		m := &Map{Name: mi.name, Key: mi.key, Value: mi.val, Order: i}
		m.PerCPU = mi.val.IsAgg()
		keySize := 8
		if mi.key != nil {
			keySize = mi.key.MemSize()
		}
		typ := ebpf.Hash
		if m.PerCPU {
			typ = ebpf.PerCPUHash
		}
		if mi.key == nil && mi.val.Kind == KCount {
			// A keyless count is one per-CPU slot: the lookup cannot miss
			// (and is inlined by the kernel). Zero means never counted.
			typ, keySize = ebpf.PerCPUArray, 4
		}
		maxEntries := uint32(c.maxKeys)
		if mi.key == nil {
			maxEntries = 1
		}
		var flags uint32
		if mi.key != nil {
			// Entries are allocated as keys appear: creating a map costs
			// nothing up front (a preallocated per-CPU map of 4096 keys
			// took 3 ms to create).
			flags = noPrealloc
		}
		if mi.val.IsHist() {
			// One entry per (key, bucket), allocated as buckets fill.
			keySize += 8
			maxEntries = uint32(c.maxKeys) * 16
			flags = noPrealloc
			if mi.key == nil {
				// Keyless: one per-CPU slot per bucket, indexed by bucket.
				typ, keySize, flags = ebpf.PerCPUArray, 4, 0
				maxEntries = 66
				if mi.val.Kind == KLhist {
					maxEntries = uint32((mi.val.Max-mi.val.Min)/mi.val.Step + 2)
				}
			}
		}
		if mi.val.Kind == KTseries {
			// One entry per (key, bucket), preallocated as bpftrace's are
			// (interval and profile probes run where a map without
			// preallocation soon fails to allocate entries), unless there
			// are very many.
			keySize += 8
			keys := c.maxKeys
			if mi.key == nil {
				keys = 1
			}
			maxEntries, flags = tseriesEntries(keys, mi.val.Intervals), 0
			if maxEntries > maxPreallocTseries {
				flags = noPrealloc
			}
		}
		m.Spec = &ebpf.MapSpec{Name: mapObjName(name, i), Type: typ, KeySize: uint32(keySize),
			ValueSize: uint32(mi.val.MemSize()), MaxEntries: maxEntries, Flags: flags}
		c.declaredSpec(name, mi, m.Spec)
		c.maps[name] = m
	}

	// Code generation.
	lang.Walk(prog, func(n lang.Node) bool {
		if call, ok := n.(*lang.Call); ok && call.Name == "exit" {
			c.useExit = true
		}
		return true
	})
	obj := &Object{}
	scratchSize := 0
	for n, in := range insts {
		g := c.generate(k.diags, in.sc, in.probe, n, in.index)
		if g.scratch {
			scratchSize = max(scratchSize, g.scrMax)
		}
		insns := g.finish()
		if len(insns) > 0 {
			insns[0] = insns[0].WithSymbol(progName(n))
			if len(g.subprogs) > 0 {
				// With subprograms, the kernel wants BTF for every function.
				insns[0] = btf.WithFuncMetadata(insns[0], mainFunc(progName(n)))
			}
		}
		spec := &ebpf.ProgramSpec{
			Name:         progName(n),
			Type:         in.sc.prov.ProgType,
			AttachType:   in.sc.prov.AttachType,
			Instructions: insns,
			License:      c.license,
		}
		if in.sc.prov.AttachTo != nil {
			spec.AttachTo = in.sc.prov.AttachTo(in.sc.point)
		}
		if in.sc.prov.AttachTypeFor != nil {
			if at := in.sc.prov.AttachTypeFor(in.sc.point); at != ebpf.AttachNone {
				spec.AttachType = at
			}
		}
		obj.Programs = append(obj.Programs, &Program{Point: in.sc.point, Provider: in.sc.prov, Spec: spec, Probe: in.index})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	for _, name := range names {
		obj.Maps = append(obj.Maps, c.maps[name])
	}
	obj.Printfs = c.printfs
	if c.useRing {
		size := c.ringSize
		if !c.ringData && !c.ringSet {
			// Only exit() writes to it: a few pages do (a 1 MiB ring
			// buffer takes a third of a millisecond to create).
			size = exitRingSize
		}
		obj.Ring = &ebpf.MapSpec{Name: ringMap, Type: ebpf.RingBuf, MaxEntries: uint32(size)}
	}
	if c.useStats {
		obj.Stats = &ebpf.MapSpec{Name: statsMap, Type: ebpf.Array, KeySize: 4, ValueSize: 8 * statCount, MaxEntries: 1,
			Contents: statsContents()}
	}
	if c.useStacks {
		obj.Stacks = stackMapSpec(c.maxKeys)
	}
	if c.useExit {
		obj.Control = &ebpf.MapSpec{Name: ctlMap, Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	}
	if scratchSize > 0 {
		obj.Scratch = scratchMapSpec(scratchSize, len(prog.Probes))
	}
	obj.Patches = c.patches
	obj.NoPrintMaps = c.noPrintMaps
	for _, name := range c.getoptOrder {
		obj.NamedParams = append(obj.NamedParams, c.getopts[name].param)
	}
	obj.Warnings = diags.Warnings()
	return obj, diags
}

// generate generates one probe instance: on the stack if it fits, else
// again with scratch memory (scratch.go).
func (c *compiler) generate(diags *lang.Diags, sc *scope, p *lang.Probe, n, probe int) *gen {
	nprintf, ndiag := len(c.printfs), len(diags.List)
	g := newGen(c, sc, "p"+strconv.Itoa(n))
	g.diags = diags
	g.program(p)
	if g.needsScratch() {
		// Forget the first attempt's printf formats and diagnostics.
		c.printfs, diags.List = c.printfs[:nprintf], diags.List[:ndiag]
		limit := autoScratchLimit
		if c.stackLimit >= 0 && (!g.overErr && g.loopOver == 0 || c.stackLimit < limit) {
			limit = c.stackLimit
		}
		g = newGen(c, sc, "p"+strconv.Itoa(n))
		g.diags, g.scratch, g.scrLimit, g.scrSlot = diags, true, limit, probe
		g.freeRegs = g.temps()
		g.program(p)
	}
	g.report(p)
	return g
}

// known lists bpftrace probe types bpfsh parses but cannot compile yet.
var known = map[string]bool{
	"hardware": true, "h": true,
	"watchpoint": true, "w": true, "asyncwatchpoint": true, "iter": true, "it": true,
	"sockops": true, "xdp": true, "tc": true,
}

func progName(n int) string { return "bpfsh_p" + strconv.Itoa(n) }

// mapObjName is the kernel-visible name (at most 15 characters).
func mapObjName(name string, i int) string {
	n := "m_" + name
	if name == "" {
		n = "m_anon"
	}
	clean := []byte{}
	for _, ch := range []byte(n) {
		if ch == '_' || ch == '.' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' {
			clean = append(clean, ch)
		}
	}
	s := string(clean)
	if len(s) > 15 {
		s = fmt.Sprintf("%s%d", s[:11], i)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var _ = asm.R0
