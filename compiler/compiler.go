// Package compiler turns a parsed bpfsh program into BPF programs and maps
// as pure data (the Object of object.go, which the runtime reads): it checks
// types, plans resources (maps, record layouts) and generates instructions
// in a fixed order. It never touches the kernel; what it knows about the
// machine comes through probes.Env, which tests point at captured files.
package compiler

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/lang/cpp"
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
	// IncludeDirs (-I DIR) are searched for #include's headers before
	// the system's; Includes (--include FILE) are read before the script.
	IncludeDirs []string
	Includes    []string
}

// DefaultMaxProbes is the default limit on attach points, as bpftrace's.
const DefaultMaxProbes = 1024

// noPrealloc is BPF_F_NO_PREALLOC: hash map entries allocated as they are used.
const noPrealloc = 1

// DefaultMaxKeys is the default number of entries of a keyed map.
const DefaultMaxKeys = 4096

// RingSize is the ring buffer size in bytes.
const RingSize = 1 << 20

// exitRingSize is the ring buffer's size when only exit() writes to it.
const exitRingSize = 4 << 12

type compiler struct {
	prog     *lang.Program
	opts     Options
	strlen   int
	maps     map[string]*Map
	printfs  []*Printf
	ringData bool // records other than exit()'s go through the ring buffer
	ringSet  bool // the ring buffer's size was configured
	useExit  bool // some probe calls exit(): every probe checks the exit flag first
	patches  map[string]PatchKind
	// missingProbes: what an attach point that does not exist here is,
	// as bpftrace's config: "error" (by default), "warn" or "ignore".
	missingProbes string
	missing       int // attach points skipped as missing
	// kernelAddrs: the kernel symbol of each PatchKernelAddr (kaddr()).
	kernelAddrs map[string]string
	// pp preprocesses the preamble and reads its headers (headers.go);
	// included says a header was read.
	pp        *cpp.Preprocessor
	included  bool
	npatch    int
	maxKeys   int
	ringSize  int
	maxProbes int
	// stackLimit is on_stack_limit: buffers larger than this go to
	// scratch memory (-1: only when a probe does not fit the stack).
	stackLimit int
	// C definitions in the script, and the kernel's enumerators the
	// script named (each looked up when first named).
	cdefs       *cdefs
	kernelEnums map[string]*enumValue // nil: not in the kernel's BTF
	decls       map[string]*mapDecl   // let @m = kind(n); by map name
	defs        defines               // #define constants (defines.go)
	filter      probeFilter           // --probe-filter's effect (probefilter.go)
	// config = { license = "..."; print_maps_on_exit = 0 }
	license     string
	noPrintMaps bool
	// getopt(): by parameter name, in order of first use, and per call
	getopts     map[string]*getoptInfo
	getoptOrder []string
	getoptCalls map[*lang.Call]*getoptInfo
	// tables: the syscall dispatch tables, by map name (syscalls.go)
	tables map[string]*ebpf.MapSpec
}

// config applies `config = { key = value; ... }` over the options.
func (c *compiler) config(prog *lang.Program, diags *lang.Diags) {
	c.maxKeys, c.ringSize, c.maxProbes, c.stackLimit, c.license = DefaultMaxKeys, RingSize, DefaultMaxProbes, -1, "GPL"
	c.missingProbes = "error"
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
			if lit.Val > MaxMapKeys {
				diags.Errorf(lit.Span, "%s must be from 1 to %d", id.Name, uint64(MaxMapKeys))
				continue
			}
			c.maxKeys = int(lit.Val)
		case "max_probes":
			c.maxProbes = int(lit.Val)
		case "perf_rb_pages":
			if lit.Val > MaxRingPages {
				diags.Errorf(lit.Span, "%s must be from 1 to %d (a ring buffer of 1 GiB)", id.Name, MaxRingPages)
				continue
			}
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

// MaxRingPages and MaxMapKeys bound perf_rb_pages and max_map_keys (in a
// config block or the environment): a larger ring buffer's size, or map's
// entries, would not fit the kernel's 32-bit max_entries.
const (
	MaxRingPages = 1 << 18
	MaxMapKeys   = 1<<32 - 1
)

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

// Compile checks prog and generates its BPF programs and maps, in stages
// that run in a fixed order: check (the front matter, attach points and
// types), resources (maps and records, resources.go), code generation,
// then the object's assembly. Each stage reads what the earlier ones
// decided; none goes back.
func Compile(prog *lang.Program, opts Options) (*Object, *lang.Diags) {
	diags := &lang.Diags{File: prog.File, Src: prog.Src}
	c := newCompiler(prog, opts)
	insts, maps := c.check(diags)
	if diags.HasErrors() {
		return nil, diags
	}
	c.resources(prog, insts, maps)
	progs, scratchSize := c.codegen(insts, diags)
	if diags.HasErrors() {
		return nil, diags
	}
	obj := c.object(progs, scratchSize)
	obj.Warnings = diags.Warnings()
	return obj, diags
}

func newCompiler(prog *lang.Program, opts Options) *compiler {
	if opts.StrLen == 0 {
		opts.StrLen = 64
	}
	opts.StrLen = min(opts.StrLen, maxStrlen)
	if opts.Env == nil {
		panic("compiler.Compile: Options.Env is nil (pass probes.SystemEnv())")
	}
	return &compiler{prog: prog, opts: opts, strlen: opts.StrLen, maps: map[string]*Map{}, patches: map[string]PatchKind{}, kernelAddrs: map[string]string{},
		getopts: map[string]*getoptInfo{}, getoptCalls: map[*lang.Call]*getoptInfo{}, tables: map[string]*ebpf.MapSpec{}}
}

// check is the first stage: the preamble, config and macros, then the
// attach points, then the types of every instance. It returns the
// instances and the maps' types, or reports why there are none.
func (c *compiler) check(diags *lang.Diags) ([]instance, map[string]*mapInfo) {
	c.front(diags)
	if diags.HasErrors() {
		return nil, nil
	}
	// An attach point that does not resolve is reported, and the
	// script's bodies are checked all the same, its own too: every error
	// at once.
	insts := c.instances(diags)
	k := &checker{c: c, diags: diags, maps: map[string]*mapInfo{}}
	k.instances(insts)
	c.checkMapDecls(k.maps, diags)
	if diags.HasErrors() {
		return nil, nil
	}
	return insts, k.maps
}

// front reads what comes before the probes: C definitions, config, map
// declarations and imports, then expands macros.
func (c *compiler) front(diags *lang.Diags) {
	prog := c.prog
	c.cdefs = newCdefs()
	c.preamble(diags) // headers.go
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
}

// instances resolves every probe's attach points: one instance per point.
func (c *compiler) instances(diags *lang.Diags) []instance {
	var insts []instance
	// What the kernel lacks is said once, however many probes need it.
	lacks := &kernelLacks{at: map[string]int{}, more: map[int]int{}}
	npoints := 0
	plainLoops := &lazyFlag{f: func() bool { return !c.opts.Env.KernelHasHelper(asm.FnLoop) }}
	for i, p := range c.prog.Probes {
		overrides := callsOverride(p)
		before, errs := len(insts), errorCount(diags)
		for _, spec := range p.Specs {
			prov, points := c.expandSpec(spec, overrides, len(p.Specs) > 1, lacks, diags)
			points = slices.DeleteFunc(points, func(pt probes.Point) bool { return !c.keepPoint(prov, pt) })
			npoints += len(points)
			for _, ap := range c.attachPoints(p, prov, points) {
				pt, prov := ap.pt, ap.prov
				sc := &scope{point: pt, prov: prov, plainLoops: plainLoops}
				if prov.Context != nil {
					ctx, err := prov.Context(c.opts.Env, pt)
					if err != nil {
						diags.Errorf(spec.Span, "%v", err)
						continue
					}
					sc.ctx = ctx
				}
				insts = append(insts, instance{probe: p, index: i, sc: sc})
			}
		}
		switch {
		case len(insts) > before:
		case errorCount(diags) > errs:
			insts = append(insts, unresolvedInstance(p, i))
		case c.missingProbes == "warn":
			diags.Warnf(p.Specs[0].Span, "this probe has no attach point here: it is left out")
		}
	}
	lacks.hint(diags)
	c.checkFiltered(diags)
	if len(insts) == 0 && c.missing > 0 && !diags.HasErrors() {
		diags.Errorf(c.prog.Probes[0].Specs[0].Span, "none of the script's attach points exists here")
	}
	if npoints > c.maxProbes {
		diags.Errorf(c.prog.Probes[0].Span, "this script would attach %d probes; the limit is %d", npoints, c.maxProbes).
			Hint("narrow the wildcards, or raise the limit: config = { max_probes = %d }", npoints)
	}
	return insts
}

// unresolvedInstance stands for a probe none of whose attach points
// resolved (the reasons are reported): its body is only checked, with a
// context that knows no names, so that its other errors are reported too.
func unresolvedInstance(p *lang.Probe, index int) instance {
	prov, _ := probes.Lookup(p.Specs[0].Provider)
	if prov == nil {
		prov = &probes.Provider{Name: p.Specs[0].Provider}
	}
	return instance{probe: p, index: index, sc: &scope{prov: prov, unresolved: true}}
}

func errorCount(diags *lang.Diags) int {
	n := 0
	for _, d := range diags.List {
		if d.Severity == lang.Error {
			n++
		}
	}
	return n
}

// kernelLacks gathers the errors of attach points that need what the
// kernel lacks: by message, the first one's index in the diagnostics, and
// how many more points said the same.
type kernelLacks struct {
	at   map[string]int
	more map[int]int
}

// report reports err once per message.
func (l *kernelLacks) report(err error, sp lang.Span, diags *lang.Diags) {
	if i, ok := l.at[err.Error()]; ok {
		l.more[i]++
		return
	}
	diags.Errorf(sp, "%v", err)
	l.at[err.Error()] = len(diags.List) - 1
}

// hint says how many more probes each reported lack concerns.
func (l *kernelLacks) hint(diags *lang.Diags) {
	for i, n := range l.more {
		if n == 1 {
			diags.List[i].Hint("1 more probe of this script needs it too")
		} else {
			diags.List[i].Hint("%d more probes of this script need it too", n)
		}
	}
}

// expandSpec finds the provider of one attach spec and the points it
// names (none, after reporting why). A wildcard that matches nothing
// among a probe's alternatives (kprobe:lookup_fast,
// kprobe:lookup_fast.constprop.*) is a warning: it names no point here.
func (c *compiler) expandSpec(spec *lang.ProbeSpec, overrides, alternatives bool, lacks *kernelLacks, diags *lang.Diags) (*probes.Provider, []probes.Point) {
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
		return nil, nil
	}
	var points []probes.Point
	var err error
	if overrides {
		// override() decides the mechanism, hence maybe the provider.
		prov, points, err = probes.ResolveOverride(c.opts.Env, prov, parts)
	} else {
		points, err = prov.Expand(c.opts.Env, parts)
	}
	if err != nil {
		if probes.Missing(err) && c.missingProbes != "error" {
			// config = { missing_probes = warn|ignore }: scripts list
			// alternatives (uprobe:libpthread:f, uprobe:libc:f).
			if c.missingProbes == "warn" {
				diags.Warnf(spec.Span, "%v: skipping this attach point", err)
			}
			c.missing++
			return nil, nil
		}
		if alternatives && probes.Missing(err) && !probes.KernelLacks(err) && probes.HasWildcard(spec.Raw) {
			diags.Warnf(spec.Span, "%v: skipping this attach point", err)
			c.missing++
			return nil, nil
		}
		var missing *probes.MissingError
		switch {
		case probes.KernelLacks(err):
			lacks.report(err, spec.Span, diags)
		case errors.As(err, &missing) && missing.Hint != "":
			diags.Errorf(spec.Span, "%v", err).Hint("%s", missing.Hint)
		default:
			diags.Errorf(spec.Span, "%v", err)
		}
		return nil, nil
	}
	return prov, points
}

// instances checks the types of every instance: first learn map types
// quietly, then variable types (with every map known), then check for real.
func (k *checker) instances(insts []instance) {
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
}

// codegen is the third stage: one program per instance, and the scratch
// memory the largest needs (0: none).
func (c *compiler) codegen(insts []instance, diags *lang.Diags) ([]*Program, int) {
	var progs []*Program
	scratchSize := 0
	for n, in := range insts {
		g := c.generate(diags, in.sc, in.probe, n, in.index)
		if g.scratch {
			scratchSize = max(scratchSize, g.scrMax)
		}
		progs = append(progs, c.program(in, n, g))
	}
	return progs, scratchSize
}

// program wraps an instance's generated code in its program spec.
func (c *compiler) program(in instance, n int, g *gen) *Program {
	insns := g.finish()
	if len(insns) > 0 {
		insns[0] = insns[0].WithSymbol(progName(n))
		if len(g.subprogs) > 0 {
			// With subprograms, the kernel wants BTF for every function.
			insns[0] = btf.WithFuncMetadata(insns[0], mainFunc(progName(n)))
		}
	}
	prov, pt := in.sc.prov, in.sc.point
	spec := &ebpf.ProgramSpec{
		Name:         progName(n),
		Type:         prov.ProgType,
		AttachType:   prov.AttachType,
		Instructions: insns,
		License:      c.license,
	}
	if prov.AttachTo != nil {
		spec.AttachTo = prov.AttachTo(pt)
	}
	if prov.AttachTypeFor != nil {
		if at := prov.AttachTypeFor(pt); at != ebpf.AttachNone {
			spec.AttachType = at
		}
	}
	return &Program{Point: pt, Provider: prov, Spec: spec, Probe: in.index, PlainRanges: g.plainRanges}
}

// object is the last stage: the programs with the maps they use. The
// shared maps are those some instruction refers to.
func (c *compiler) object(progs []*Program, scratchSize int) *Object {
	obj := &Object{Programs: progs, Printfs: c.printfs, Patches: c.patches, KernelAddrs: c.kernelAddrs, NoPrintMaps: c.noPrintMaps,
		File: c.file()}
	for _, name := range sortedKeys(c.tables) {
		obj.Tables = append(obj.Tables, c.tables[name])
	}
	for _, name := range sortedKeys(c.maps) {
		obj.Maps = append(obj.Maps, c.maps[name])
	}
	c.preallocForPerfEvents(obj)
	used := referenced(progs)
	if used[ringMap] {
		size := c.ringSize
		if !c.ringData && !c.ringSet {
			// Only exit() writes to it: a few pages do (a 1 MiB ring
			// buffer takes a third of a millisecond to create).
			size = exitRingSize
		}
		obj.Ring = &ebpf.MapSpec{Name: ringMap, Type: ebpf.RingBuf, MaxEntries: uint32(size)}
	}
	if used[statsMap] {
		obj.Stats = &ebpf.MapSpec{Name: statsMap, Type: ebpf.Array, KeySize: 4, ValueSize: 8 * statCount, MaxEntries: 1,
			Contents: statsContents()}
	}
	if used[stackMap] {
		obj.Stacks = stackMapSpec(c.maxKeys)
	}
	if c.useExit {
		obj.Control = &ebpf.MapSpec{Name: ctlMap, Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	}
	if scratchSize > 0 {
		obj.Scratch = scratchMapSpec(scratchSize, len(c.prog.Probes))
	}
	for _, name := range c.getoptOrder {
		obj.NamedParams = append(obj.NamedParams, c.getopts[name].param)
	}
	return obj
}

// preallocForPerfEvents preallocates the hash maps that perf-event
// programs (profile, interval, software, hardware) use on kernels before
// 6.1, whose verifier refuses them others ("perf_event programs can only
// use preallocated hash map"): there an NMI may interrupt the allocator.
// 6.1 brought BPF's own allocator (struct bpf_mem_alloc) and dropped that.
func (c *compiler) preallocForPerfEvents(obj *Object) {
	var perf []*Program
	for _, p := range obj.Programs {
		if p.Spec.Type == ebpf.PerfEvent {
			perf = append(perf, p)
		}
	}
	used := referenced(perf)
	var dynamic []*ebpf.MapSpec
	for _, m := range obj.Maps {
		if used[m.Spec.Name] && m.Spec.Flags&noPrealloc != 0 {
			dynamic = append(dynamic, m.Spec)
		}
	}
	// Only then read the kernel's BTF (tens of milliseconds).
	if len(dynamic) == 0 || c.opts.Env.HasKernelStruct("bpf_mem_alloc") {
		return
	}
	for _, spec := range dynamic {
		spec.Flags &^= noPrealloc
	}
}

// referenced is the set of maps the programs' instructions refer to.
func referenced(progs []*Program) map[string]bool {
	used := map[string]bool{}
	for _, p := range progs {
		for _, ins := range p.Spec.Instructions {
			if ins.IsLoadFromMap() {
				used[ins.Reference()] = true
			}
		}
	}
	return used
}

// generate generates one probe instance: on the stack if it fits, else
// again with scratch memory (scratch.go).
func (c *compiler) generate(diags *lang.Diags, sc *scope, p *lang.Probe, n, probe int) *gen {
	ndiag := len(diags.List)
	g := newGen(c, sc, "p"+strconv.Itoa(n))
	g.diags = diags
	g.program(p)
	if g.needsScratch() {
		// Forget the first attempt's diagnostics.
		diags.List = diags.List[:ndiag]
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
