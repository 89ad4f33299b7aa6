package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
)

// A Session is an incremental run, the REPL's: probes arrive one chunk of
// source at a time and start running at once, while earlier ones keep
// running. Each chunk is compiled together with every chunk before it, so a
// map or a printf sees the same types as in one script, but only the new
// chunk's programs are loaded and attached; they share the session's maps.
//
// Printf ids and map indexes in ring buffer records only mean something
// within one compilation, so every chunk that prints gets its own ring
// buffer, read with the object it was compiled in.
type Session struct {
	opts  Options
	copts compiler.Options
	out   *lockedWriter
	start uint64

	chunks  []*chunk // committed source, in order
	blocks  []*Block
	nprobes int // probes in the committed source
	nextID  int
	maps    map[string]*sessionMap // by script name ("@x")
	shared  map[string]*sharedMap  // stats, stacks, exit flag: by object name
	units   []*unit                // one per committed chunk that loaded programs
	stats   *ebpf.MapSpec          // the stats map's spec, once created

	exitOnce sync.Once
	exited   chan struct{}
	exitCode int
}

// chunk is one piece of the session's source: what the user typed or
// loaded, possibly wrapped (an expression becomes BEGIN { print(...); }).
type chunk struct {
	file  string // name in diagnostics
	text  string // as compiled
	show  string // as written; diagnostics point into it
	shift int    // offset of show within text
	start int    // offset of text in the accumulated source (set per compilation)
}

type sessionMap struct {
	m  *compiler.Map // from the compilation that created the map
	bm *ebpf.Map
}

type sharedMap struct {
	spec *ebpf.MapSpec
	bm   *ebpf.Map
}

// unit is what one chunk loaded: its compilation, ring buffer and reader.
type unit struct {
	obj  *compiler.Object
	ring *ebpf.Map
	run  *run // reads ring; nil without one
	live int  // blocks still holding programs
}

// BlockKind says how a block runs.
type BlockKind int

const (
	KindProbe BlockKind = iota // attached to its points until detached
	KindBegin                  // ran once when added
	KindEnd                    // runs when the session ends
)

// Block is one probe of the session and the kernel objects it owns.
type Block struct {
	ID     int
	Spec   string // attach points as written: "i:ms:100", "BEGIN"
	Text   string // the probe's source
	Kind   BlockKind
	Points int
	// Detached is set once :detach (or the end of a BEGIN) released it.
	Detached bool

	chunk *chunk
	unit  *unit
	progs []*ebpf.Program
	links []io.Closer
}

// Diagnostics are compile errors (and warnings), rendered against what the
// user wrote: line 1 is the first line of the chunk, not of the session.
type Diagnostics struct{ Text string }

func (d *Diagnostics) Error() string { return d.Text }

// NewSession starts an empty session. opts.Out receives probe output and
// printed maps; copts configures every compilation.
func NewSession(copts compiler.Options, opts Options) *Session {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	s := &Session{opts: opts, copts: copts, out: &lockedWriter{w: opts.Out}, start: monotonicNS(), exited: make(chan struct{})}
	s.reset()
	return s
}

func (s *Session) reset() {
	s.chunks, s.blocks, s.units, s.nprobes, s.nextID = nil, nil, nil, 0, 1
	s.maps, s.shared, s.stats = map[string]*sessionMap{}, map[string]*sharedMap{}, nil
}

// Exited is closed when a probe called exit(): the session should end.
func (s *Session) Exited() <-chan struct{} { return s.exited }

func (s *Session) exit(code int) {
	s.exitOnce.Do(func() {
		s.exitCode = code
		close(s.exited)
	})
}

// Add compiles src (one or more probes, or config) with the session and
// starts its probes: BEGIN blocks run at once, END blocks wait for the end.
// On any error nothing changes. Warnings about src are returned as text.
func (s *Session) Add(file, src string) ([]*Block, string, error) {
	return s.add(&chunk{file: file, text: src, show: src}, true)
}

// Eval runs src once, as BEGIN would: an expression prints its value (a
// map without keys prints as print(@m) does); statements run, and are kept
// in the session (as a BEGIN block) when they change a map, so :save
// reproduces them.
func (s *Session) Eval(file, src string) error {
	const pre = "BEGIN { "
	stmt := &chunk{file: file, text: pre + src + "\n}", show: src, shift: len(pre)}
	prog, d := lang.Parse(file, []byte(stmt.text))
	if d.HasErrors() {
		stmt.start = 0
		return s.diagnostics(d.List, []*chunk{stmt}, stmt.text)
	}
	var body []lang.Stmt
	if len(prog.Probes) == 1 && prog.Probes[0].Body != nil {
		body = prog.Probes[0].Body.Stmts
	}
	if len(body) == 1 {
		if es, ok := body[0].(*lang.ExprStmt); ok {
			if m, ok := es.X.(*lang.MapRef); ok && m.Keys == nil {
				if s.maps["@"+m.Name] != nil {
					return s.PrintMap(s.opts.Out, "@"+m.Name)
				}
			}
			const pre = "BEGIN { print("
			expr := &chunk{file: file, text: pre + src + "\n); }", show: src, shift: len(pre)}
			_, _, err := s.add(expr, false)
			var diags *Diagnostics
			if _, isCall := es.X.(*lang.Call); !isCall || !errors.As(err, &diags) {
				return err
			}
			// A call that is not an expression (printf, clear...): a statement.
		}
	}
	_, _, err := s.add(stmt, writesMaps(prog))
	return err
}

// writesMaps reports whether prog assigns, increments or deletes map elements.
func writesMaps(prog *lang.Program) bool {
	found := false
	lang.Walk(prog, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Assign:
			if _, ok := n.LHS.(*lang.MapRef); ok {
				found = true
			}
		case *lang.Unary:
			if _, ok := n.X.(*lang.MapRef); ok && (n.Op == "++" || n.Op == "--") {
				found = true
			}
		case *lang.Call:
			switch n.Name {
			case "delete", "clear", "zero":
				found = true
			}
		}
		return !found
	})
	return found
}

// add compiles the committed source plus c. When keep is false the chunk
// is run (its BEGIN) and forgotten, with whatever it created.
func (s *Session) add(c *chunk, keep bool) (blocks []*Block, warnings string, err error) {
	all := append(append([]*chunk(nil), s.chunks...), c)
	var src strings.Builder
	for i, ch := range all {
		if i > 0 {
			src.WriteByte('\n')
		}
		ch.start = src.Len()
		src.WriteString(ch.text)
	}
	full := src.String()
	prog, pd := lang.Parse("stdin", []byte(full))
	if pd.HasErrors() {
		return nil, "", s.diagnostics(pd.List, all, full)
	}
	obj, cd := compiler.Compile(prog, s.copts)
	if cd.HasErrors() {
		return nil, "", s.diagnostics(append(pd.List, cd.List...), all, full)
	}
	// Only the new chunk's warnings: the others were shown when they came.
	var warns []lang.Diag
	for _, g := range append(pd.List, cd.List...) {
		if g.Severity == lang.Warning && owner(g, all) == c {
			warns = append(warns, g)
		}
	}
	if len(warns) > 0 {
		warnings = s.diagnostics(warns, all, full).Text
	}

	// Maps keep their type for the whole session.
	for _, m := range obj.Maps {
		if old := s.maps[m.Name]; old != nil && !sameMap(old.m, m) {
			return nil, warnings, fmt.Errorf("this changes %s from %s to %s; a map keeps its type for the whole session (use another name, or :reset)",
				m.Name, mapType(old.m), mapType(m))
		}
	}
	for _, spec := range []*ebpf.MapSpec{obj.Stats, obj.Stacks, obj.Control} {
		if spec == nil {
			continue
		}
		if old := s.shared[spec.Name]; old != nil && !sameSpec(old.spec, spec) {
			return nil, warnings, fmt.Errorf("this changes the session's %s map (a config change?); :reset to start over", spec.Name)
		}
	}

	l := &loader{s: s, obj: obj, keep: keep}
	defer func() {
		if err != nil || !keep {
			l.rollback()
		}
	}()
	if err := l.maps(); err != nil {
		return nil, warnings, err
	}
	// The new probes are the last ones; programs name their probe by index.
	for i, p := range prog.Probes[s.nprobes:] {
		b := &Block{Spec: probeSpec(p), Text: full[p.Span.Start.Offset:p.Span.End.Offset], chunk: c, unit: l.u}
		if c.shift > 0 {
			b.Spec = strings.Join(strings.Fields(c.show), " ") // a statement, run as BEGIN
		}
		l.u.live++
		l.blocks = append(l.blocks, b)
		idx := s.nprobes + i
		for _, cp := range obj.Programs {
			if cp.Probe != idx {
				continue
			}
			switch cp.Provider.Name {
			case "BEGIN":
				b.Kind = KindBegin
			case "END":
				b.Kind = KindEnd
			}
			pr, err := l.load(cp)
			if err != nil {
				return nil, warnings, err
			}
			b.progs = append(b.progs, pr)
			b.Points++
			if cp.Provider.Attach != nil {
				ln, err := cp.Provider.Attach(pr, cp.Point)
				if err != nil {
					return nil, warnings, fmt.Errorf("attach %s: %w", cp.Point, err)
				}
				b.links = append(b.links, ln)
			}
		}
	}
	if l.scratch != nil {
		l.scratch.Close()
		l.scratch = nil
	}
	blocks = l.blocks
	if keep {
		l.commit(c, len(prog.Probes))
	}
	for _, b := range blocks {
		if b.Kind != KindBegin {
			continue
		}
		for _, p := range b.progs {
			if err := runOnce(p); err != nil {
				fmt.Fprintf(s.opts.Err, "ERROR: run BEGIN: %v\n", err)
			}
		}
		b.unit.drain()
		if keep {
			s.release(b)
		}
	}
	return blocks, warnings, nil
}

// loader loads one chunk, remembering what it created so that a failure
// (or a one-off evaluation) can take it all back.
type loader struct {
	s       *Session
	obj     *compiler.Object
	keep    bool
	u       *unit
	byName  map[string]*ebpf.Map // object name → map, for this compilation
	newMaps map[string]*sessionMap
	newShr  map[string]*sharedMap
	blocks  []*Block
	// scratch is this compilation's scratch memory, held until its
	// programs are loaded (they keep it alive).
	scratch *ebpf.Map
}

// maps finds or creates every map the compilation names.
func (l *loader) maps() error {
	s, obj := l.s, l.obj
	l.byName, l.newMaps, l.newShr = map[string]*ebpf.Map{}, map[string]*sessionMap{}, map[string]*sharedMap{}
	l.u = &unit{obj: obj}
	for _, m := range obj.Maps {
		if old := s.maps[m.Name]; old != nil {
			l.byName[m.Spec.Name] = old.bm
			continue
		}
		bm, err := ebpf.NewMap(m.Spec)
		if err != nil {
			return fmt.Errorf("create map %s: %w", m.Name, err)
		}
		l.newMaps[m.Name] = &sessionMap{m: m, bm: bm}
		l.byName[m.Spec.Name] = bm
	}
	for _, spec := range []*ebpf.MapSpec{obj.Stats, obj.Stacks, obj.Control} {
		if spec == nil {
			continue
		}
		if old := s.shared[spec.Name]; old != nil {
			l.byName[spec.Name] = old.bm
			continue
		}
		bm, err := ebpf.NewMap(spec)
		if err != nil {
			return fmt.Errorf("create map %s: %w", spec.Name, err)
		}
		l.newShr[spec.Name] = &sharedMap{spec: spec, bm: bm}
		l.byName[spec.Name] = bm
		if spec == obj.Stacks {
			syms.stacks = bm // printing a stack reads it, from any reader
		}
	}
	if obj.Scratch != nil {
		bm, err := ebpf.NewMap(obj.Scratch)
		if err != nil {
			return fmt.Errorf("create scratch memory: %w", err)
		}
		l.scratch = bm
		l.byName[obj.Scratch.Name] = bm
	}
	if obj.Ring == nil {
		return nil
	}
	// A ring buffer only if one of the new programs writes to it.
	uses := false
	for _, p := range obj.Programs {
		if p.Probe < s.nprobes {
			continue
		}
		for _, ins := range p.Spec.Instructions {
			if ins.IsLoadFromMap() && ins.Reference() == obj.Ring.Name {
				uses = true
			}
		}
	}
	if !uses {
		return nil
	}
	ring, err := ebpf.NewMap(obj.Ring)
	if err != nil {
		return fmt.Errorf("create ring buffer: %w", err)
	}
	l.u.ring = ring
	l.byName[obj.Ring.Name] = ring
	rd, err := ringbuf.NewReader(ring)
	if err != nil {
		return fmt.Errorf("open ring buffer: %w", err)
	}
	coll := &ebpf.Collection{Maps: map[string]*ebpf.Map{}}
	for _, m := range obj.Maps {
		coll.Maps[m.Spec.Name] = l.byName[m.Spec.Name]
	}
	r := &run{obj: obj, opts: s.opts, out: bufio.NewWriterSize(s.out, 64<<10), coll: coll, ring: rd, exited: make(chan struct{})}
	l.u.run = r
	r.startReader()
	go func() {
		select {
		case <-r.exited:
			s.exit(r.exitCode)
		case <-r.done:
			select {
			case <-r.exited:
				s.exit(r.exitCode)
			default:
			}
		}
	}()
	return nil
}

// load loads one program with its map references bound to the session's maps.
func (l *loader) load(p *compiler.Program) (*ebpf.Program, error) {
	ps := p.Spec.Copy()
	refs := map[string]bool{}
	for i, ins := range ps.Instructions {
		if ins.IsLoadFromMap() && ins.Reference() != "" {
			refs[ins.Reference()] = true
		}
		k, ok := l.obj.Patches[ins.Symbol()]
		if !ok {
			continue
		}
		switch k {
		case compiler.PatchStartTime:
			ps.Instructions[i].Constant = int64(l.s.start)
		case compiler.PatchNCPUs:
			n, _ := ebpf.PossibleCPU()
			ps.Instructions[i].Constant = int64(n)
		case compiler.PatchChildPID:
			ps.Instructions[i].Constant = 0
		case compiler.PatchTAIOffset:
			ps.Instructions[i].Constant = taiOffset()
		}
	}
	for name := range refs {
		m := l.byName[name]
		if m == nil {
			return nil, fmt.Errorf("load %s: no map %s (a bpfsh bug; please report it)", p.Point, name)
		}
		if err := ps.Instructions.AssociateMap(name, m); err != nil {
			return nil, fmt.Errorf("load %s: %w", p.Point, err)
		}
	}
	opts := ebpf.ProgramOptions{}
	if l.s.opts.Verbose {
		opts.LogLevel = ebpf.LogLevelInstruction | ebpf.LogLevelStats
	}
	prog, err := ebpf.NewProgramWithOptions(ps, opts)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			if why := refusedHelper(ve); why != "" {
				return nil, errors.New(why)
			}
			return nil, fmt.Errorf("the kernel's verifier rejected the program (a bpfsh bug; please report it):\n%+v", ve)
		}
		return nil, fmt.Errorf("load %s: %w", p.Point, err)
	}
	if l.s.opts.Verbose {
		fmt.Fprintf(l.s.opts.Err, "%s (%s):\n%s\n", ps.Name, p.Point, prog.VerifierLog)
	}
	return prog, nil
}

// commit makes the chunk, its maps and its blocks part of the session.
func (l *loader) commit(c *chunk, nprobes int) {
	s := l.s
	s.chunks = append(s.chunks, c)
	s.nprobes = nprobes
	for name, m := range l.newMaps {
		s.maps[name] = m
	}
	for name, m := range l.newShr {
		s.shared[name] = m
		if m.spec == l.obj.Stats {
			s.stats = m.spec
		}
	}
	for _, b := range l.blocks {
		b.ID = s.nextID
		s.nextID++
		s.blocks = append(s.blocks, b)
	}
	if l.u.live > 0 || l.u.run != nil {
		s.units = append(s.units, l.u)
	}
	l.newMaps, l.newShr, l.blocks, l.u = nil, nil, nil, nil
}

// rollback releases whatever the loader created and did not commit.
func (l *loader) rollback() {
	for i := len(l.blocks) - 1; i >= 0; i-- {
		l.blocks[i].close()
	}
	// Programs not yet in a block.
	if l.u != nil {
		l.u.close()
	}
	for _, m := range l.newMaps {
		m.bm.Close()
	}
	if l.scratch != nil {
		l.scratch.Close()
		l.scratch = nil
	}
	for _, m := range l.newShr {
		if m.bm == syms.stacks {
			syms.stacks = nil
		}
		m.bm.Close()
	}
}

// close detaches the block and closes its programs.
func (b *Block) close() {
	closeAll(b.links)
	b.links = nil
	for _, p := range b.progs {
		p.Close()
	}
	b.progs = nil
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

// release detaches a committed block and, with its unit's last block, the unit.
func (s *Session) release(b *Block) {
	if b.Detached {
		return
	}
	b.Detached = true
	b.close()
	if b.unit != nil {
		b.unit.live--
		if b.unit.live == 0 {
			b.unit.close()
		}
	}
}

// Blocks lists the session's blocks, detached ones included.
func (s *Session) Blocks() []*Block { return append([]*Block(nil), s.blocks...) }

// Detach stops block id: its probes are detached (an END block will not run).
func (s *Session) Detach(id int) error {
	for _, b := range s.blocks {
		if b.ID != id {
			continue
		}
		if b.Detached {
			if b.Kind == KindBegin {
				return fmt.Errorf("probe %d (BEGIN) has already run", id)
			}
			return fmt.Errorf("probe %d is already detached", id)
		}
		s.release(b)
		return nil
	}
	return fmt.Errorf("no probe %d (:probes lists them)", id)
}

// DetachAll detaches every block.
func (s *Session) DetachAll() {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		s.release(s.blocks[i])
	}
}

// Hits returns how many times the block's programs ran, when the kernel
// counts it (sysctl kernel.bpf_stats_enabled=1).
func (b *Block) Hits() (uint64, bool) {
	if len(b.progs) == 0 || !StatsEnabled() {
		return 0, false
	}
	var n uint64
	for _, p := range b.progs {
		st, err := p.Stats()
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

// MapInfo describes one of the session's maps.
type MapInfo struct {
	Name  string // "@x"
	Key   string // key type, "" for a scalar map
	Value string
}

// Maps lists the session's maps by name.
func (s *Session) Maps() []MapInfo {
	var out []MapInfo
	for _, sm := range s.sortedMaps() {
		mi := MapInfo{Name: sm.m.Name, Value: sm.m.Value.String()}
		if sm.m.Key != nil {
			mi.Key = sm.m.Key.String()
		}
		out = append(out, mi)
	}
	return out
}

func (s *Session) sortedMaps() []*sessionMap {
	var ms []*sessionMap
	for _, sm := range s.maps {
		ms = append(ms, sm)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].m.Name < ms[j].m.Name })
	return ms
}

func (s *Session) lookupMap(name string) (*sessionMap, error) {
	if !strings.HasPrefix(name, "@") {
		name = "@" + name
	}
	sm := s.maps[name]
	if sm == nil {
		return nil, fmt.Errorf("no map %s (:maps lists them)", name)
	}
	return sm, nil
}

// PrintMap prints one map as print(@m) would.
func (s *Session) PrintMap(w io.Writer, name string) error {
	sm, err := s.lookupMap(name)
	if err != nil {
		return err
	}
	if s.opts.JSON {
		return jsonMap(w, sm.m, sm.bm, 0, 0)
	}
	return printMap(w, sm.m, sm.bm)
}

// ClearMap deletes every element of a map.
func (s *Session) ClearMap(name string) error {
	sm, err := s.lookupMap(name)
	if err != nil {
		return err
	}
	return clearMap(sm.bm)
}

// Source renders the session as a script: every chunk in order, detached
// probes commented out.
func (s *Session) Source() string {
	var b strings.Builder
	for _, c := range s.chunks {
		var bs []*Block
		for _, bl := range s.blocks {
			if bl.chunk == c {
				bs = append(bs, bl)
			}
		}
		if len(bs) == 0 {
			b.WriteString(strings.TrimRight(c.text, "\n") + "\n")
			continue
		}
		for _, bl := range bs {
			if bl.Detached && bl.Kind != KindBegin {
				b.WriteString("// detached:\n// " + strings.ReplaceAll(bl.Text, "\n", "\n// ") + "\n")
				continue
			}
			b.WriteString(bl.Text + "\n")
		}
	}
	return b.String()
}

// Reset detaches and frees everything, without END or printing maps: the
// session starts over.
func (s *Session) Reset() {
	s.free()
	s.reset()
}

// Close ends the session as a script ends: it detaches every probe, runs
// the END blocks, prints the maps and frees every kernel object. It returns
// the exit code a probe asked for with exit(), else 0.
func (s *Session) Close() int {
	// Detach first so no more events arrive, then END, then maps.
	var links []io.Closer
	for _, b := range s.blocks {
		links = append(links, b.links...)
		b.links = nil
	}
	closeAll(links)
	for _, u := range s.units {
		u.drain()
		if u.run != nil {
			u.run.mu.Lock()
			u.run.inEnd = true
			u.run.mu.Unlock()
		}
	}
	for _, b := range s.blocks {
		if b.Kind != KindEnd || b.Detached {
			continue
		}
		for _, p := range b.progs {
			if err := runOnce(p); err != nil {
				fmt.Fprintf(s.opts.Err, "ERROR: run END: %v\n", err)
			}
		}
		b.unit.drain()
	}
	r := s.finalRun()
	r.printMaps()
	r.reportLoss()
	s.free()
	select {
	case <-s.exited:
		return s.exitCode
	default:
		return 0
	}
}

// finalRun is a run over all of the session's maps, for printing them.
func (s *Session) finalRun() *run {
	obj := &compiler.Object{}
	coll := &ebpf.Collection{Maps: map[string]*ebpf.Map{}}
	for i, sm := range s.sortedMaps() {
		// Object names may repeat across compilations: give each its own.
		m := *sm.m
		spec := *m.Spec
		spec.Name = fmt.Sprintf("m%d", i)
		m.Spec = &spec
		obj.Maps = append(obj.Maps, &m)
		coll.Maps[spec.Name] = sm.bm
	}
	if s.stats != nil {
		obj.Stats = s.stats
		coll.Maps[s.stats.Name] = s.shared[s.stats.Name].bm
	}
	return &run{obj: obj, opts: s.opts, out: bufio.NewWriterSize(s.out, 64<<10), coll: coll}
}

// free releases every kernel object, blocks first, maps last.
func (s *Session) free() {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		s.release(s.blocks[i])
	}
	for _, u := range s.units {
		u.close()
	}
	for _, sm := range s.maps {
		sm.bm.Close()
	}
	for _, sm := range s.shared {
		if sm.bm == syms.stacks {
			syms.stacks = nil
		}
		sm.bm.Close()
	}
	s.maps, s.shared = map[string]*sessionMap{}, map[string]*sharedMap{}
}

// diagnostics renders diags against the chunks they fall in.
func (s *Session) diagnostics(list []lang.Diag, chunks []*chunk, full string) *Diagnostics {
	var b strings.Builder
	for _, c := range chunks {
		d := &lang.Diags{File: c.file, Src: []byte(c.show)}
		for _, g := range list {
			g = g.AtRoot() // chunks show only their own text
			if owner(g, chunks) != c {
				continue
			}
			if g.Span.Start.Line > 0 {
				if c.shift > 0 && g.Span.Start.Offset >= c.start+c.shift+len(c.show) {
					// The wrapper's closing tokens: the user's text just ended.
					for _, tok := range []string{"unexpected '}'", "unexpected ')'"} {
						if strings.HasPrefix(g.Msg, tok) {
							g.Msg = "unexpected end of input" + g.Msg[len(tok):]
						}
					}
				}
				g.Hints = relocateHints(g.Hints, c, full)
				g.Span.Start = c.relocate(g.Span.Start)
				g.Span.End = c.relocate(g.Span.End)
				if g.Span.End.Offset < g.Span.Start.Offset {
					g.Span.End = g.Span.Start
				}
			}
			d.List = append(d.List, g)
		}
		b.WriteString(d.Format())
	}
	return &Diagnostics{Text: b.String()}
}

// owner is the chunk a diagnostic points into; unpositioned ones belong to the last.
func owner(g lang.Diag, chunks []*chunk) *chunk {
	if g.Span.Start.Line == 0 {
		return chunks[len(chunks)-1]
	}
	own := chunks[0]
	for _, c := range chunks {
		if c.start <= g.Span.Start.Offset {
			own = c
		}
	}
	return own
}

// Compiled on first use: nothing at start-up.
var hintPos = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+), column (\d+)`) })

// relocateHints rewrites "line L, column C" in hints from the accumulated
// source to the chunk's own text.
func relocateHints(hints []string, c *chunk, full string) []string {
	out := make([]string, len(hints))
	for i, h := range hints {
		out[i] = hintPos().ReplaceAllStringFunc(h, func(m string) string {
			sm := hintPos().FindStringSubmatch(m)
			line, _ := strconv.Atoi(sm[1])
			col, _ := strconv.Atoi(sm[2])
			off, ok := offsetAt(full, line, col)
			if !ok || off < c.start+c.shift || off > c.start+c.shift+len(c.show) {
				return m
			}
			p := c.relocate(lang.Pos{Offset: off})
			return fmt.Sprintf("line %d, column %d", p.Line, p.Col)
		})
	}
	return out
}

// offsetAt is the byte offset of a line and column (as lang.PosAt counts them).
func offsetAt(src string, line, col int) (int, bool) {
	l, c := 1, 1
	for i, r := range src {
		if l == line && c >= col {
			return i, c == col
		}
		switch r {
		case '\n':
			if l == line {
				return 0, false
			}
			l++
			c = 1
		case '\t':
			c += 8 - (c-1)%8
		default:
			c++
		}
	}
	return len(src), l == line && c == col
}

func (c *chunk) relocate(p lang.Pos) lang.Pos {
	off := p.Offset - c.start - c.shift
	off = max(0, min(off, len(c.show)))
	return lang.PosAt([]byte(c.show), off)
}

func probeSpec(p *lang.Probe) string {
	var parts []string
	for _, sp := range p.Specs {
		parts = append(parts, sp.Raw)
	}
	return strings.Join(parts, ", ")
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

// lockedWriter serializes writes from the session's readers and its user.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
