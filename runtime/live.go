package runtime

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// A Live is a run that grows, the REPL's: compiled objects arrive one after
// another and their new probes start at once, while earlier ones keep
// running. The caller compiles each object from all of its source so far,
// so a map or a printf sees the same types as in one script; Load loads
// and attaches only the new probes' programs, bound to the maps the Live
// already has.
//
// Printf ids and map indexes in ring buffer records only mean something
// within one compilation, so every object that prints gets its own ring
// buffer, read with that object.
type Live struct {
	opts  Options
	out   *SyncWriter
	start uint64

	probes []*Probe              // committed, in order
	maps   map[string]*liveMap   // by script name ("@x")
	shared map[string]*sharedMap // stats, stacks, exit flag: by object name
	units  []*unit               // one per committed batch that loaded programs
	stats  *ebpf.MapSpec         // the stats map's spec, once created
	dec    *decoder              // its runs' and scrapes'

	exitOnce sync.Once
	exited   chan struct{}
	exitCode int

	metrics *MetricsServer // :metrics; nil until then
}

type liveMap struct {
	m  *compiler.Map // from the compilation that created the map
	bm *ebpf.Map
}

type sharedMap struct {
	spec *ebpf.MapSpec
	bm   *ebpf.Map
}

// unit is what one batch loaded: its compilation, ring buffer and reader.
type unit struct {
	obj  *compiler.Object
	ring *ebpf.Map
	run  *run // reads ring; nil without one
	live int  // probes still holding programs
}

// ProbeKind says how a probe runs.
type ProbeKind int

const (
	KindProbe ProbeKind = iota // attached to its points until detached
	KindBegin                  // ran once when loaded
	KindEnd                    // runs when the Live closes
)

// Probe is the kernel side of one probe of a Live: its programs and links.
type Probe struct {
	Kind   ProbeKind
	Points int
	// Detached is set once Release (or the end of a BEGIN) let it go.
	Detached bool

	unit  *unit
	progs []*ebpf.Program
	links []io.Closer
}

// NewLive starts an empty Live. opts.Out receives probe output and printed
// maps.
func NewLive(opts Options) *Live {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	l := &Live{opts: opts, out: NewSyncWriter(opts.Out), start: monotonicNS(), exited: make(chan struct{}), dec: newDecoder(opts.Env)}
	l.reset()
	return l
}

func (l *Live) reset() {
	l.probes, l.units = nil, nil
	l.maps, l.shared, l.stats = map[string]*liveMap{}, map[string]*sharedMap{}, nil
}

// Exited is closed when a probe called exit(): the session should end.
func (l *Live) Exited() <-chan struct{} { return l.exited }

func (l *Live) exit(code int) {
	l.exitOnce.Do(func() {
		l.exitCode = code
		close(l.exited)
	})
}

// A Batch is what one Load created: it becomes the Live's with Commit or
// is freed by Discard.
type Batch struct {
	Probes []*Probe // the new probes, in order

	live      *Live
	obj       *compiler.Object
	u         *unit
	byName    map[string]*ebpf.Map // object name → map, for this compilation
	newMaps   map[string]*liveMap
	newShr    map[string]*sharedMap
	committed bool
}

// Load loads and attaches the programs of obj's probes first to end-1 (the
// ones before first run already, from earlier objects). Maps the Live has
// keep their contents, and must keep their types. On an error nothing is
// left of the batch.
func (l *Live) Load(obj *compiler.Object, first, end int) (b *Batch, err error) {
	if err := l.compatible(obj); err != nil {
		return nil, err
	}
	var progs []*compiler.Program
	for _, cp := range obj.Programs {
		if cp.Probe < first || cp.Probe >= end {
			continue
		}
		if cp.Provider.Runs == probes.OnDevice {
			return nil, fmt.Errorf("usb probes run in a script (bpfsh --unsafe FILE), not in the shell")
		}
		progs = append(progs, cp)
	}
	if err := checkHelpers(progs, l.opts.Env); err != nil {
		return nil, err
	}
	memlockFirst(l.opts.Env)
	b = &Batch{live: l, obj: obj, u: &unit{obj: obj}}
	defer func() {
		if err != nil {
			b.Discard()
		}
	}()
	scratch, err := b.bindMaps(first)
	if err != nil {
		return nil, err
	}
	loaded, err := loadPrograms(obj, progs, b.byName, patchValues{start: l.start}, l.opts)
	if scratch != nil {
		scratch.Close() // the programs hold it now
	}
	if err != nil {
		return nil, err
	}
	for i := first; i < end; i++ {
		b.Probes = append(b.Probes, &Probe{unit: b.u})
		b.u.live++
	}
	for _, cp := range progs {
		p := b.Probes[cp.Probe-first]
		switch cp.Provider.Runs {
		case probes.AtBegin:
			p.Kind = KindBegin
		case probes.AtEnd:
			p.Kind = KindEnd
		}
		p.progs = append(p.progs, loaded[cp])
		p.Points++
	}
	for _, cp := range progs {
		if cp.Provider.Attach == nil {
			continue
		}
		p := b.Probes[cp.Probe-first]
		ln, err := cp.Provider.Attach(l.opts.Env, loaded[cp], cp.Point)
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", cp.Point, err)
		}
		p.links = append(p.links, ln)
	}
	return b, nil
}

// compatible checks that obj's maps have the types of the Live's maps of
// the same names.
func (l *Live) compatible(obj *compiler.Object) error {
	for _, m := range obj.Maps {
		if old := l.maps[m.Name]; old != nil && !sameMap(old.m, m) {
			return fmt.Errorf("this changes %s from %s to %s; a map keeps its type for the whole session (use another name, or :reset)",
				m.Name, mapType(old.m), mapType(m))
		}
	}
	for _, spec := range []*ebpf.MapSpec{obj.Stats, obj.Stacks, obj.Control} {
		if spec == nil {
			continue
		}
		if old := l.shared[spec.Name]; old != nil && !sameSpec(old.spec, spec) {
			return fmt.Errorf("this changes the session's %s map (a config change?); :reset to start over", spec.Name)
		}
	}
	return nil
}

// bindMaps finds or creates every map the compilation names, and the ring
// buffer and its reader if one of the new programs (probes first and up)
// writes to it. It returns the compilation's scratch memory, which the
// caller closes once the programs are loaded.
func (b *Batch) bindMaps(first int) (scratch *ebpf.Map, err error) {
	l, obj := b.live, b.obj
	b.byName, b.newMaps, b.newShr = map[string]*ebpf.Map{}, map[string]*liveMap{}, map[string]*sharedMap{}
	for _, m := range obj.Maps {
		if old := l.maps[m.Name]; old != nil {
			b.byName[m.Spec.Name] = old.bm
			continue
		}
		bm, err := ebpf.NewMap(m.Spec)
		if err != nil {
			return nil, fmt.Errorf("create map %s: %w", m.Name, err)
		}
		b.newMaps[m.Name] = &liveMap{m: m, bm: bm}
		b.byName[m.Spec.Name] = bm
	}
	// A syscall dispatch table is named by its contents: shared alike.
	for _, spec := range append([]*ebpf.MapSpec{obj.Stats, obj.Stacks, obj.Control}, obj.Tables...) {
		if spec == nil {
			continue
		}
		if old := l.shared[spec.Name]; old != nil {
			b.byName[spec.Name] = old.bm
			continue
		}
		bm, err := ebpf.NewMap(spec)
		if err != nil {
			return nil, fmt.Errorf("create map %s: %w", spec.Name, err)
		}
		b.newShr[spec.Name] = &sharedMap{spec: spec, bm: bm}
		b.byName[spec.Name] = bm
		if spec == obj.Stacks {
			l.dec.syms.setStacks(bm) // printing a stack reads it, from any reader
		}
	}
	if obj.Scratch != nil {
		if scratch, err = ebpf.NewMap(obj.Scratch); err != nil {
			return nil, fmt.Errorf("create scratch memory: %w", err)
		}
		b.byName[obj.Scratch.Name] = scratch
	}
	if obj.Ring != nil && b.writesRing(first) {
		if err := b.startRing(); err != nil {
			if scratch != nil {
				scratch.Close()
			}
			return nil, err
		}
	}
	return scratch, nil
}

// writesRing reports whether a program of probe first or later writes to
// the ring buffer.
func (b *Batch) writesRing(first int) bool {
	for _, p := range b.obj.Programs {
		if p.Probe < first {
			continue
		}
		for _, ins := range p.Spec.Instructions {
			if ins.IsLoadFromMap() && ins.Reference() == b.obj.Ring.Name {
				return true
			}
		}
	}
	return false
}

// startRing creates the batch's ring buffer and starts its reader.
func (b *Batch) startRing() error {
	l, obj := b.live, b.obj
	ring, err := ebpf.NewMap(obj.Ring)
	if err != nil {
		return fmt.Errorf("create ring buffer: %w", err)
	}
	b.u.ring = ring
	b.byName[obj.Ring.Name] = ring
	rd, err := ringbuf.NewReader(ring)
	if err != nil {
		return fmt.Errorf("open ring buffer: %w", err)
	}
	coll := &ebpf.Collection{Maps: map[string]*ebpf.Map{}}
	for _, m := range obj.Maps {
		coll.Maps[m.Spec.Name] = b.byName[m.Spec.Name]
	}
	r := &run{obj: obj, opts: l.opts, out: bufio.NewWriterSize(l.out, 64<<10), coll: coll, dec: l.dec, ring: rd, exited: make(chan struct{})}
	b.u.run = r
	r.startReader()
	go func() {
		select {
		case <-r.exited:
			l.exit(r.exitCode)
		case <-r.done:
			select {
			case <-r.exited:
				l.exit(r.exitCode)
			default:
			}
		}
	}()
	return nil
}

// Commit makes the batch's maps and probes part of the Live.
func (b *Batch) Commit() {
	l := b.live
	for name, m := range b.newMaps {
		l.maps[name] = m
	}
	for name, m := range b.newShr {
		l.shared[name] = m
		if m.spec == b.obj.Stats {
			l.stats = m.spec
		}
	}
	l.probes = append(l.probes, b.Probes...)
	if b.u.live > 0 || b.u.run != nil {
		l.units = append(l.units, b.u)
	}
	b.committed = true
	l.publishMetrics()
}

// RunBegin runs the batch's BEGIN probes once and waits until their output
// is printed. Committed ones are then released: they have run.
func (b *Batch) RunBegin() {
	for _, p := range b.Probes {
		if p.Kind != KindBegin {
			continue
		}
		for _, prog := range p.progs {
			if err := runOnce(prog); err != nil {
				fmt.Fprintf(b.live.opts.Err, "ERROR: run BEGIN: %v\n", err)
			}
		}
		p.unit.drain()
		if b.committed {
			b.live.Release(p)
		}
	}
}

// Discard releases whatever the batch created: for a failed load, or a
// one-off evaluation that has run. A committed batch is the Live's.
func (b *Batch) Discard() {
	if b.committed {
		return
	}
	for i := len(b.Probes) - 1; i >= 0; i-- {
		b.Probes[i].close()
	}
	b.u.close()
	for _, m := range b.newMaps {
		m.bm.Close()
	}
	b.live.dec.syms.closeShared(b.newShr)
}

// close detaches the probe and closes its programs.
func (p *Probe) close() {
	closeAll(p.links)
	p.links = nil
	for _, prog := range p.progs {
		prog.Close()
	}
	p.progs = nil
}

// drain waits until the unit's records so far are printed.
func (u *unit) drain() {
	if u != nil && u.run != nil {
		u.run.drain()
	}
}

// close stops the unit's reader and frees its ring buffer.
func (u *unit) close() {
	if u.run != nil {
		u.run.drain()
		u.run.ring.Close()
		<-u.run.done
		u.run.mu.Lock()
		u.run.out.Flush()
		u.run.mu.Unlock()
		u.run = nil
	}
	if u.ring != nil {
		u.ring.Close()
		u.ring = nil
	}
}

// Release detaches a committed probe and frees its programs; with its
// batch's last probe, the batch's ring buffer goes too.
func (l *Live) Release(p *Probe) {
	if p.Detached {
		return
	}
	p.Detached = true
	p.close()
	if p.unit != nil {
		p.unit.live--
		if p.unit.live == 0 {
			p.unit.close()
		}
	}
	l.publishMetrics()
}

// Hits returns how many times the probe's programs ran, when the kernel
// counts it (sysctl kernel.bpf_stats_enabled=1).
func (p *Probe) Hits() (uint64, bool) {
	if len(p.progs) == 0 || !StatsEnabled() {
		return 0, false
	}
	var n uint64
	for _, prog := range p.progs {
		st, err := prog.Stats()
		if err != nil {
			return 0, false
		}
		n += st.RunCount
	}
	return n, true
}

// StatsEnabled reports whether the kernel counts program runs.
func StatsEnabled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// MapInfo describes one of the Live's maps.
type MapInfo struct {
	Name  string // "@x"
	Key   string // key type, "" for a scalar map
	Value string
}

// Maps lists the Live's maps by name.
func (l *Live) Maps() []MapInfo {
	var out []MapInfo
	for _, lm := range l.sortedMaps() {
		mi := MapInfo{Name: lm.m.Name, Value: lm.m.Value.String()}
		if lm.m.Key != nil {
			mi.Key = lm.m.Key.String()
		}
		out = append(out, mi)
	}
	return out
}

func (l *Live) sortedMaps() []*liveMap {
	var ms []*liveMap
	for _, lm := range l.maps {
		ms = append(ms, lm)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].m.Name < ms[j].m.Name })
	return ms
}

// HasMap reports whether the Live has map name ("@x").
func (l *Live) HasMap(name string) bool { return l.maps[name] != nil }

func (l *Live) lookupMap(name string) (*liveMap, error) {
	if !strings.HasPrefix(name, "@") {
		name = "@" + name
	}
	lm := l.maps[name]
	if lm == nil {
		return nil, fmt.Errorf("no map %s (:maps lists them)", name)
	}
	return lm, nil
}

// PrintMap prints one map as print(@m) would.
func (l *Live) PrintMap(w io.Writer, name string) error {
	lm, err := l.lookupMap(name)
	if err != nil {
		return err
	}
	if l.opts.JSON {
		return l.dec.jsonMap(w, lm.m, lm.bm, 0, 0)
	}
	return l.dec.printMap(w, lm.m, lm.bm)
}

// ClearMap deletes every element of a map.
func (l *Live) ClearMap(name string) error {
	lm, err := l.lookupMap(name)
	if err != nil {
		return err
	}
	return clearMap(lm.bm)
}

// Reset detaches and frees everything, without END or printing maps: the
// Live starts over.
func (l *Live) Reset() {
	l.free()
	l.reset()
	l.publishMetrics()
}

// Close ends the Live as a script ends: it detaches every probe, runs the
// END probes, prints the maps and frees every kernel object. It returns
// the exit code a probe asked for with exit(), else 0.
func (l *Live) Close() int {
	l.metrics.Close() // before the maps it reads
	// Detach first so no more events arrive, then END, then maps.
	var links []io.Closer
	for _, p := range l.probes {
		links = append(links, p.links...)
		p.links = nil
	}
	closeAll(links)
	for _, u := range l.units {
		u.drain()
		if u.run != nil {
			u.run.mu.Lock()
			u.run.inEnd = true
			u.run.mu.Unlock()
		}
	}
	for _, p := range l.probes {
		if p.Kind != KindEnd || p.Detached {
			continue
		}
		for _, prog := range p.progs {
			if err := runOnce(prog); err != nil {
				fmt.Fprintf(l.opts.Err, "ERROR: run END: %v\n", err)
			}
		}
		p.unit.drain()
	}
	r := l.finalRun()
	r.printMaps()
	r.reportLoss()
	l.free()
	select {
	case <-l.exited:
		return l.exitCode
	default:
		return 0
	}
}

// finalRun is a run over all of the Live's maps, for printing them.
func (l *Live) finalRun() *run {
	obj := &compiler.Object{}
	coll := &ebpf.Collection{Maps: map[string]*ebpf.Map{}}
	for i, lm := range l.sortedMaps() {
		// Object names may repeat across compilations: give each its own.
		m := *lm.m
		spec := *m.Spec
		spec.Name = fmt.Sprintf("m%d", i)
		m.Spec = &spec
		obj.Maps = append(obj.Maps, &m)
		coll.Maps[spec.Name] = lm.bm
	}
	if l.stats != nil {
		obj.Stats = l.stats
		coll.Maps[l.stats.Name] = l.shared[l.stats.Name].bm
	}
	return &run{obj: obj, opts: l.opts, out: bufio.NewWriterSize(l.out, 64<<10), coll: coll, dec: l.dec}
}

// ServeMetrics serves the Live's maps at http://addr/metrics (:metrics),
// instead of where they were served before, and returns the address.
func (l *Live) ServeMetrics(cfg *MetricsConfig) (string, error) {
	s, err := ListenMetrics(cfg, l.opts.Err)
	if err != nil {
		return "", err
	}
	l.metrics.Close()
	l.metrics = s
	s.serve(l.metricsView())
	return s.Addr(), nil
}

// publishMetrics shows scrapes the Live's maps and probes as they are now.
func (l *Live) publishMetrics() {
	if l.metrics != nil {
		l.metrics.publish(l.metricsView())
	}
}

func (l *Live) metricsView() *metricsView {
	v := &metricsView{dec: l.dec}
	for _, lm := range l.sortedMaps() {
		v.maps = append(v.maps, lm.m)
		v.bms = append(v.bms, lm.bm)
	}
	if l.stats != nil {
		v.stats = l.shared[l.stats.Name].bm
	}
	for _, p := range l.probes {
		if p.Kind == KindProbe && !p.Detached {
			v.probes += p.Points
		}
	}
	return v
}

// free releases every kernel object, probes first, maps last. Scrapes
// see no maps from the start: they are about to close.
func (l *Live) free() {
	m := l.metrics
	m.publish(&metricsView{})
	l.metrics = nil // Release publishes nothing while everything goes
	defer func() { l.metrics = m }()
	for i := len(l.probes) - 1; i >= 0; i-- {
		l.Release(l.probes[i])
	}
	for _, u := range l.units {
		u.close()
	}
	for _, lm := range l.maps {
		lm.bm.Close()
	}
	l.dec.syms.closeShared(l.shared)
	l.maps, l.shared = map[string]*liveMap{}, map[string]*sharedMap{}
}

func sameMap(a, b *compiler.Map) bool {
	return typeKey(a.Key) == typeKey(b.Key) && typeKey(a.Value) == typeKey(b.Value) && a.PerCPU == b.PerCPU && sameSpec(a.Spec, b.Spec)
}

func sameSpec(a, b *ebpf.MapSpec) bool {
	return a.Type == b.Type && a.KeySize == b.KeySize && a.ValueSize == b.ValueSize && a.MaxEntries == b.MaxEntries && a.Flags == b.Flags
}

func typeKey(t *compiler.Type) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("%s/%v/%v", t, t.Dur, t.User)
}

func mapType(m *compiler.Map) string {
	if m.Key == nil {
		return m.Value.String()
	}
	return fmt.Sprintf("[%s] %s", m.Key, m.Value)
}
