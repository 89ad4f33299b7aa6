// Package runtime loads a compiled bpfsh object into the kernel, attaches
// its programs, runs BEGIN, streams events, and on exit runs END, prints
// maps and releases every kernel object it created, in reverse order.
package runtime

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// Options control a run.
type Options struct {
	Out     io.Writer // program output (printf, maps); default stdout
	Err     io.Writer // diagnostics; default stderr
	DryRun  bool      // load and attach, then stop without running anything
	Verbose bool      // print verifier logs
	Quiet   bool      // no "Attached N probes" line
	JSON    bool      // -f json: one JSON object per line
	// Command (-c) runs once the probes are attached; the run ends when it exits.
	Command string
	// WatchPID (-p): the run ends when this process exits.
	WatchPID int
	// NoWarnings drops warnf() output (--no-warnings).
	NoWarnings bool
	// Env is the machine the probes attach on (required).
	Env *probes.Env
	// Metrics (--metrics) serves the maps to Prometheus while the run runs.
	Metrics *MetricsConfig
	// USB configures the usb probes' firewall (usb.go).
	USB USBOptions
}

// Run executes obj until exit(), a signal, or (for BEGIN/END-only
// programs) right after BEGIN. It returns the exit code the script asked for.
func Run(obj *compiler.Object, opts Options) (code int, err error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	guard := newOutputGuard(opts.Out)
	out := bufio.NewWriterSize(guard, 64<<10)
	r := &run{obj: obj, opts: opts, out: out, guard: guard, dec: newDecoder(opts.Env)}
	defer func() {
		if !r.stuck.Load() {
			out.Flush()
		}
	}()

	// Signals are caught from the start so that an early Ctrl-C still cleans
	// up. SIGUSR1 runs the self:signal:SIGUSR1 probes (none: it is ignored,
	// as by bpftrace); one that comes early waits for the probes to be ready.
	// (Prepare sets the handlers up while the script is compiled.)
	sigs, usr1 := runSignals()
	stopQuitQuietly() // the run catches SIGQUIT now
	defer signal.Stop(sigs)
	defer signal.Stop(usr1)
	if err := endIfSignalled(sigs); err != nil {
		return 1, err
	}

	defer r.close()
	if err := r.listenMetrics(); err != nil {
		return 1, err
	}
	var child *childProc
	if opts.Command != "" && !opts.DryRun {
		var err error
		// The child exists (held before exec) before loading, so cpid is known.
		if child, err = startChild(opts.Command); err != nil {
			return 1, err
		}
		defer child.kill()
		r.childPID = child.pid()
	}
	if err := r.load(); err != nil {
		return 1, err
	}
	g := groupPrograms(obj, r.progs)
	// BEGIN runs before the other probes are attached, as bpftrace's
	// begin: nothing else has fired when it starts, and an interval's first
	// tick comes a whole period after it. (Its output waits in the ring
	// buffer until the attach line is out.)
	if !opts.DryRun {
		for _, p := range g.begin {
			if err := runOnce(p); err != nil {
				return 1, fmt.Errorf("run BEGIN: %w", err)
			}
		}
	}
	if child != nil {
		child.waitReady()
	}
	if err := r.attach(g.attachable); err != nil {
		return 1, err
	}
	usb, err := r.takeUSB(g)
	if err != nil {
		return 1, err
	}
	if usb != nil {
		defer usb.close()
	}
	injectPanic()
	r.announce()
	if opts.DryRun {
		return 0, nil
	}
	r.metrics.serve(viewOf(obj, r.coll.Maps, len(g.attachable), r.dec))
	if r.obj.Ring != nil {
		// Opened now: records wait in the ring buffer until it is read,
		// and the probes went live a little sooner.
		rd, err := ringbuf.NewReader(r.coll.Maps[r.obj.Ring.Name])
		if err != nil {
			return 1, fmt.Errorf("open ring buffer: %w", err)
		}
		r.ring = rd
		r.startReader()
	}
	var childDone, pidDone <-chan struct{}
	if child != nil {
		childDone = child.release()
	}
	if opts.WatchPID > 0 {
		pidDone = waitPID(opts.WatchPID)
	}
	if err := r.runIters(g.iters); err != nil {
		return 1, err
	}
	if usb != nil {
		usb.run(opts.USB.KeepPresent)
	}
	signalled := r.waitEnd(g, sigs, usr1, childDone, pidDone)
	if usb != nil {
		usb.close() // no decision while END runs and the maps print
	}
	if err := r.finishUnblocked(g.end, signalled); err != nil {
		return 1, err
	}
	if err := guard.lost(); err != nil {
		return 1, err
	}
	return r.exitCode, nil
}

// endIfSignalled ends the run on a signal sent while the script was
// compiled, when nothing is loaded: as the signal ends a process that does
// not catch it (but SIGQUIT without Go's goroutine dump).
func endIfSignalled(sigs <-chan os.Signal) error {
	select {
	case s := <-sigs:
		if s != syscall.SIGQUIT {
			signal.Reset(s)
			syscall.Kill(os.Getpid(), s.(syscall.Signal))
		}
		return fmt.Errorf("interrupted by %v", s)
	default:
		return nil
	}
}

// takeUSB starts the usb probes' guard before the attach line, so that
// whatever is plugged in after it is judged; a dry run only checks that
// what a run would take over is there (nil guard: no usb probes, or a dry
// run).
func (r *run) takeUSB(g programGroups) (*usbGuard, error) {
	switch {
	case !g.usb:
		return nil, nil
	case r.opts.DryRun:
		_, err := usbHubs(newUSBGuard(r.obj, r.progs, r.opts.USB).sys)
		return nil, err
	}
	return r.startUSB()
}

// programGroups sorts a script's programs by when they run.
type programGroups struct {
	begin, end, self  []*ebpf.Program
	attachable, iters []*compiler.Program
	usb               bool // usb probes: usb.go runs them
}

func groupPrograms(obj *compiler.Object, progs map[*compiler.Program]*ebpf.Program) programGroups {
	var g programGroups
	for _, p := range obj.Programs {
		switch p.Provider.Runs {
		case probes.AtBegin:
			g.begin = append(g.begin, progs[p])
		case probes.AtEnd:
			g.end = append(g.end, progs[p])
		case probes.OnWalk:
			g.iters = append(g.iters, p)
		case probes.OnSignal:
			g.self = append(g.self, progs[p])
		case probes.OnDevice:
			g.usb = true
		default:
			g.attachable = append(g.attachable, p)
		}
	}
	return g
}

// announce says that every probe is attached, so whoever waits for it can act.
func (r *run) announce() {
	n := r.obj.AttachPoints()
	if r.opts.JSON {
		jsonCountLine(r.out, "attached_probes", "probes", uint64(n))
	} else if !r.opts.Quiet {
		fmt.Fprintf(r.out, "Attached %d probe%s\n", n, plural(n))
	}
	r.out.Flush()
}

// waitEnd returns when the script ends: exit(), a signal, the end of the
// -c command or of the -p process; or at once when only BEGIN and END run.
// SIGUSR1 meanwhile runs the self:signal:SIGUSR1 probes. It reports
// whether a signal ended the run.
func (r *run) waitEnd(g programGroups, sigs, usr1 chan os.Signal, childDone, pidDone <-chan struct{}) bool {
	if len(g.attachable) == 0 && len(g.self) == 0 && !g.usb && childDone == nil && pidDone == nil {
		r.drain() // nothing more will happen
		return false
	}
	for {
		select {
		case <-r.exited:
		case <-r.guard.done():
		case <-sigs:
			return true
		case <-childDone:
			selfProbes(usr1, g.self, r.opts.Err, false) // a signal the child sent before it ended
		case <-pidDone:
		case <-usr1:
			selfProbes(usr1, g.self, r.opts.Err, true)
			continue
		}
		return false
	}
}

// blockedLimit is how long, once a signal has asked bpfsh to end, a write
// to a reader that does not read may hold up the end.
const blockedLimit = 500 * time.Millisecond

// finishUnblocked is finish, except that after a signal (signalled) a
// reader that has stopped reading cannot hold bpfsh up: the probes are
// detached first, and if a write then waits blockedLimit the rest of the
// output (END's, the maps, the loss report) is dropped and Run returns an
// error saying so. A reader that is merely slow, or maps that take long
// to print, are waited for as ever.
func (r *run) finishUnblocked(end []*ebpf.Program, signalled bool) error {
	if !signalled {
		return r.finish(end)
	}
	r.detach()
	done := make(chan error, 1)
	go func() { done <- r.finish(end) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if r.guard.blocked(blockedLimit) {
				r.stuck.Store(true)
				return errors.New("output is blocked (its reader does not read): the probes are detached, the rest of the output (END's, the maps, lost events) is dropped")
			}
		}
	}
}

// finish detaches first, so that no more events arrive, then runs END and
// prints the maps and what was lost.
func (r *run) finish(end []*ebpf.Program) error {
	r.detach()
	r.metrics.publish(viewOf(r.obj, r.coll.Maps, 0, r.dec))
	r.drain()
	r.mu.Lock()
	r.inEnd = true
	r.out = r.guard.fallback(r.out, r.opts.Err)
	r.mu.Unlock()
	if !r.stopped() {
		for _, p := range end {
			if err := runOnce(p); err != nil {
				return fmt.Errorf("run END: %w", err)
			}
		}
		r.drain()
	}
	r.printMaps()
	r.reportLoss()
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// selfProbes runs the self:signal:SIGUSR1 probes for a SIGUSR1 received
// (got) or, when got is false, for one still pending.
func selfProbes(usr1 <-chan os.Signal, self []*ebpf.Program, errw io.Writer, got bool) {
	if len(self) == 0 {
		return
	}
	if !got {
		// Go hands signals over asynchronously: give one sent just before
		// the child ended a moment to arrive.
		select {
		case <-usr1:
		case <-time.After(20 * time.Millisecond):
			return
		}
	}
	for _, p := range self {
		if err := runOnce(p); err != nil {
			fmt.Fprintf(errw, "ERROR: run self:signal:SIGUSR1: %v\n", err)
		}
	}
}

// runOnce runs a BEGIN/END program once through BPF_PROG_TEST_RUN.
func runOnce(p *ebpf.Program) error {
	_, err := p.Run(&ebpf.RunOptions{})
	return err
}

type run struct {
	obj     *compiler.Object
	opts    Options
	out     *bufio.Writer
	guard   *outputGuard // what out writes through (nil in the REPL's runs)
	coll    *ebpf.Collection
	dec     *decoder // shared with a Live's other runs
	progs   map[*compiler.Program]*ebpf.Program
	links   []io.Closer
	ring    *ringbuf.Reader
	metrics *MetricsServer // --metrics; nil without
	mu      sync.Mutex     // guards out and exitCode from the reader goroutine
	exited  chan struct{}
	once    sync.Once
	flushed chan struct{}
	done    chan struct{}

	// stuck: the output blocked after a signal and Run gave up on it
	// (finishUnblocked); the reader goroutine may never return.
	stuck atomic.Bool

	exitCode int
	exitSeen bool
	childPID int
	inEnd    bool // END is running: its output is shown even after exit()
}

// load creates the object's maps and loads its programs.
func (r *run) load() error {
	memlockFirst(r.opts.Env)
	byName, err := createMaps(r.obj.MapSpecs())
	if err != nil {
		return lackingOr(r.obj.Programs, r.opts.Env, fmt.Errorf("load: %w", err))
	}
	r.coll = &ebpf.Collection{Maps: byName, Programs: map[string]*ebpf.Program{}}
	r.progs, err = loadPrograms(r.obj, r.obj.Programs, byName, patchValues{start: monotonicNS(), childPID: r.childPID}, r.opts)
	if err != nil {
		return lackingOr(r.obj.Programs, r.opts.Env, err)
	}
	waitPrintkEvent(r.obj.Programs, r.opts.Env)
	for p, prog := range r.progs {
		r.coll.Programs[p.Spec.Name] = prog // closed with the collection
	}
	if r.obj.Stacks != nil {
		r.dec.syms.setStacks(byName[r.obj.Stacks.Name])
	}
	r.exited = make(chan struct{})
	return nil
}

// listenMetrics binds --metrics' address, before anything is loaded, and
// says where the maps are served (not with -q).
func (r *run) listenMetrics() error {
	if r.opts.Metrics == nil || r.opts.DryRun {
		return nil
	}
	s, err := ListenMetrics(r.opts.Metrics, r.opts.Err)
	if err != nil {
		return err
	}
	r.metrics = s
	if !r.opts.Quiet {
		fmt.Fprintf(r.opts.Err, "bpfsh: serving metrics at http://%s/metrics\n", s.Addr())
	}
	return nil
}

func (r *run) attach(ps []*compiler.Program) error {
	for _, p := range attachOrder(ps) {
		l, err := p.Provider.Attach(r.opts.Env, r.progs[p], p.Point)
		if err != nil {
			return fdExhausted(fmt.Errorf("attach %s: %w", p.Point, err))
		}
		r.links = append(r.links, l)
	}
	return nil
}

func (r *run) detach() {
	closeAll(r.links)
	r.links = nil
}

func (r *run) startReader() {
	r.flushed = make(chan struct{}, 1)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		var rec ringbuf.Record
		for {
			err := r.ring.ReadInto(&rec)
			if errors.Is(err, ringbuf.ErrFlushed) {
				r.out.Flush()
				r.flushed <- struct{}{}
				continue
			}
			if err != nil {
				return
			}
			r.handle(rec.RawSample)
			if rec.Remaining == 0 {
				r.mu.Lock()
				r.out.Flush()
				r.mu.Unlock()
			}
		}
	}()
}

// drain waits until every record written so far has been handled.
func (r *run) drain() {
	if r.ring == nil || r.done == nil {
		return
	}
	if err := r.ring.Flush(); err != nil {
		return
	}
	select {
	case <-r.flushed:
	case <-r.done:
	case <-time.After(5 * time.Second):
	}
}

func (r *run) stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return false
}

func (r *run) handle(raw []byte) {
	if len(raw) < 8 {
		return
	}
	id := binary.LittleEndian.Uint64(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case id < uint64(len(r.obj.Printfs)):
		if r.exitSeen && !r.inEnd {
			// Records made before exit() took effect, as bpftrace: not shown.
			return
		}
		r.record(r.obj.Printfs[id], raw)
	case id == compiler.EventPrint || id == compiler.EventClear || id == compiler.EventZero:
		r.mapEvent(id, raw)
	case id == compiler.EventExit:
		if !r.exitSeen {
			r.exitSeen = true
			r.exitCode = int(int64(binary.LittleEndian.Uint64(raw[8:])))
			r.once.Do(func() { close(r.exited) })
		}
	}
}

// record prints one output record: a value, time(), join(), printf(),
// system(), cat(), errorf() or warnf().
func (r *run) record(pf *compiler.Printf, raw []byte) {
	if pf.Value {
		v := r.dec.decode(pf.Args[0], raw[8:8+pf.Args[0].MemSize()])
		if r.opts.JSON {
			jsonLine(r.out, "value", v)
		} else {
			io.WriteString(r.out, textValue(v)+"\n")
		}
		return
	}
	if pf.Kind == compiler.EventTime {
		if r.opts.JSON {
			jsonLine(r.out, "time", Str(strftime(pf.Format, time.Now())))
		} else {
			io.WriteString(r.out, strftime(pf.Format, time.Now()))
		}
		return
	}
	if pf.Kind == compiler.EventJoin {
		text := formatJoin(pf, raw)
		if r.opts.JSON {
			jsonLine(r.out, "join", Str(text))
		} else {
			io.WriteString(r.out, text+"\n")
		}
		return
	}
	text := r.dec.formatPrintf(pf, raw)
	if r.opts.JSON {
		switch pf.Kind {
		case 0:
			jsonLine(r.out, "printf", Str(text))
			return
		case compiler.EventSystem:
			// system() and cat() output become one record each.
			var b strings.Builder
			runSystem(&b, text)
			jsonLine(r.out, "syscall", Str(b.String()))
			return
		case compiler.EventCat:
			var b strings.Builder
			catFile(&b, r.opts.Err, text)
			jsonLine(r.out, "cat", Str(b.String()))
			return
		}
	}
	switch pf.Kind {
	case compiler.EventSystem:
		r.out.Flush()
		runSystem(r.out, text)
	case compiler.EventCat:
		catFile(r.out, r.opts.Err, text)
	case compiler.EventErrorf, compiler.EventWarnf:
		sev := "ERROR"
		if pf.Kind == compiler.EventWarnf {
			if r.opts.NoWarnings {
				return
			}
			sev = "WARNING"
		}
		r.out.Flush()
		fmt.Fprintf(r.opts.Err, "%s: %s: %s\n", pf.Loc, sev, text)
		for _, e := range pf.Expanded {
			// The macro calls that the errorf came from, as bpftrace shows them.
			fmt.Fprintf(r.opts.Err, "%s: %s: expanded from\n%s\n", e.Loc, sev, e.Context)
		}
	default:
		io.WriteString(r.out, text)
	}
}

// mapEvent carries out print(), clear() or zero() of the map the record names.
func (r *run) mapEvent(id uint64, raw []byte) {
	if len(raw) < 16 {
		return
	}
	idx := binary.LittleEndian.Uint64(raw[8:])
	if idx >= uint64(len(r.obj.Maps)) {
		return
	}
	m := r.obj.Maps[idx]
	bm := r.coll.Maps[m.Spec.Name]
	var err error
	switch id {
	case compiler.EventPrint:
		var top, div uint64
		if len(raw) >= 32 {
			top, div = binary.LittleEndian.Uint64(raw[16:]), binary.LittleEndian.Uint64(raw[24:])
		}
		if bm.Type() == ebpf.PerCPUArray && !m.Value.IsHist() && !r.dec.zeroed.has(m) {
			// print() of a keyless count shows 0 before the first
			// count or after clear(), as bpftrace does; the
			// listing at exit leaves it out.
			r.dec.zeroed.set(m, true)
			defer r.dec.zeroed.set(m, false)
		}
		if m.Key == nil && m.Value.Kind == compiler.KInt && !r.opts.JSON {
			// Likewise an integer scalar never assigned.
			if es, _ := r.dec.readMap(m, bm); len(es) == 0 {
				fmt.Fprintf(r.out, "%s: 0\n", m.Name)
				break
			}
		}
		if r.opts.JSON {
			err = r.dec.jsonMap(r.out, m, bm, int(top), int64(div))
		} else {
			err = r.dec.printMapZero(r.out, m, bm, int(top), int64(div), true)
		}
	case compiler.EventClear:
		r.dec.zeroed.set(m, false)
		err = clearMap(bm)
	case compiler.EventZero:
		err = r.dec.zeroMap(m, bm)
	}
	if err != nil {
		fmt.Fprintf(r.opts.Err, "ERROR: %v\n", err)
	}
}

func (r *run) printMaps() {
	r.mu.Lock()
	defer r.mu.Unlock()
	maps := append([]*compiler.Map(nil), r.obj.Maps...)
	if r.obj.NoPrintMaps {
		maps = nil // config = { print_maps_on_exit = 0 }
	}
	sort.SliceStable(maps, func(i, j int) bool { return maps[i].Name < maps[j].Name })
	// bpftrace 0.17 ends the run's output with two newlines, then the maps.
	if !r.opts.JSON {
		r.out.WriteString("\n\n")
	}
	for _, m := range maps {
		print := r.dec.printMap
		if r.opts.JSON {
			print = func(w io.Writer, m *compiler.Map, bm *ebpf.Map) error { return r.dec.jsonMap(w, m, bm, 0, 0) }
		}
		if err := print(r.out, m, r.coll.Maps[m.Spec.Name]); err != nil {
			fmt.Fprintf(r.opts.Err, "%v\n", err)
		}
	}
	r.out.Flush()
}

func (r *run) reportLoss() {
	if r.obj.Stats == nil {
		return
	}
	m := r.coll.Maps[r.obj.Stats.Name]
	raw := make([]byte, m.ValueSize())
	m.Lookup(uint32(0), &raw)
	c := compiler.DecodeStats(raw)
	if lost := c.Lost; lost > 0 {
		// As bpftrace reports lost events: never silently.
		if r.opts.JSON {
			jsonCountLine(r.out, "lost_events", "events", lost)
		} else {
			fmt.Fprintf(r.out, "Lost %d events\n", lost)
		}
		r.out.Flush()
	}
	if full := c.MapFull; full > 0 {
		fmt.Fprintf(r.opts.Err, "WARNING: %s\n", mapFullMessage(full, r.obj.Maps, r.coll.Maps))
	}
	if faults := c.ReadFaults; faults > 0 {
		fmt.Fprintf(r.opts.Err, "WARNING: %d memory reads failed (bad or paged-out addresses); those values read as zero\n", faults)
	}
	if c.DivZero > 0 {
		fmt.Fprintf(r.opts.Err, "WARNING: Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as the result.\n")
	}
}

// close releases every kernel object: links, the reader, programs and maps.
func (r *run) close() {
	r.metrics.Close() // first: no scrape reads a closed map
	r.detach()
	if r.ring != nil {
		r.ring.Close()
		if r.done != nil && !r.stuck.Load() {
			<-r.done
		}
	}
	if r.coll != nil {
		r.coll.Close()
	}
}

func monotonicNS() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}
