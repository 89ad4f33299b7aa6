package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// ---------------------------------------------------------------------------
// 1. start to exit

const progBeginExit = "BEGIN { exit(); }"

func (b *bench) startExit() {
	b.doc("1", "start to exit", progBeginExit, nil, "stdout to /dev/null; wall from fork/exec to wait4; CPU and max RSS from wait4's rusage")
	for r := 0; r < b.runs; r++ {
		for _, t := range b.order(r) {
			res, err := runProc(t.argv("-e", progBeginExit), procOpts{env: t.env})
			if !b.check(t, "1", err, res) {
				continue
			}
			b.s.add("1.wall", "`BEGIN { exit(); }` wall time", "ms", t.name, ms(res.wall))
			b.s.add("1.cpu", "`BEGIN { exit(); }` CPU time (user+sys)", "ms", t.name, ms(res.cpu()))
			b.s.add("1.rss", "`BEGIN { exit(); }` max RSS", "MiB", t.name, mb(res.maxRSSKB))
		}
	}
}

// ---------------------------------------------------------------------------
// 2. time to "Attaching N probes..." and total wall time

const progAttach = "t:syscalls:sys_enter_openat { @[comm] = count(); } i:ms:100 { exit(); }"

func (b *bench) attachTime() {
	b.doc("2", "time to attached", progAttach, nil, "stdout is a pty (both tools line-buffer a terminal); time from fork/exec until the line starting \"Attaching \" is read from the pty master")
	for r := 0; r < b.runs; r++ {
		for _, t := range b.order(r) {
			res, err := runProc(t.argv("-e", progAttach), procOpts{env: t.env, pty: true})
			if !b.check(t, "2", err, res) {
				continue
			}
			if res.attach == 0 {
				b.failf("2: %s printed no \"Attaching\" line", t.name)
				continue
			}
			b.s.add("2.attach", "tracepoint one-liner: time to the attach line", "ms", t.name, ms(res.attach))
			b.s.add("2.wall", "tracepoint one-liner: total wall time (includes the 100 ms interval)", "ms", t.name, ms(res.wall))
			b.s.add("2.cpu", "tracepoint one-liner: CPU time (user+sys)", "ms", t.name, ms(res.cpu()))
			b.s.add("2.rss", "tracepoint one-liner: max RSS", "MiB", t.name, mb(res.maxRSSKB))
		}
	}
}

// firstEvent measures when probes are really live: bpftrace prints
// "Attaching" before it loads its programs, bpfsh after, so the time to the
// first event a probe delivers is the fairer "attached" time. The bench
// itself calls getppid() every 100 µs meanwhile.
const progFirst = `t:syscalls:sys_enter_getppid { printf("first\n"); exit(); }`

func (b *bench) firstEvent() {
	b.doc("2", "time to first event", progFirst, nil, "stdout is a pty; the bench calls getppid() every 100 µs while the tool starts; time from fork/exec until the line \"first\" is read")
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Getppid()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	defer close(stop)
	for r := 0; r < b.runs; r++ {
		for _, t := range b.order(r) {
			var firstAt time.Time
			var mu sync.Mutex
			p, err := startProc(t.argv("-e", progFirst), procOpts{env: t.env, pty: true, onLine: func(l []byte) {
				mu.Lock()
				defer mu.Unlock()
				if firstAt.IsZero() && string(l) == "first" {
					firstAt = time.Now()
				}
			}})
			if err != nil {
				b.failf("2: %s: %v", t.name, err)
				continue
			}
			res := p.wait()
			if !b.check(t, "2 first", nil, res) {
				continue
			}
			mu.Lock()
			var f time.Duration
			if !firstAt.IsZero() {
				f = firstAt.Sub(p.start)
			}
			mu.Unlock()
			if f == 0 {
				b.failf("2: %s printed no \"first\" line", t.name)
				continue
			}
			b.s.add("2.first", "time to the first event printed (probes live)", "ms", t.name, ms(f))
		}
	}
}

// ---------------------------------------------------------------------------
// 3. per-event overhead (and 4. instruction counts of the same programs)

var overheadProgs = []struct{ label, src string }{
	{"empty", "t:syscalls:sys_enter_getppid { }"},
	{"count", "t:syscalls:sys_enter_getppid { @ = count(); }"},
	{"comm", "t:syscalls:sys_enter_getppid { @[comm] = count(); }"},
	{"hist", "t:syscalls:sys_enter_getppid { @h = hist(nsecs & 0xffff); }"},
	// count's body on a wildcard: bpfsh's one program on raw_syscalls
	// dispatching on the syscall number, against bpftrace's tracepoint
	// per syscall (and bpfsh's own count above).
	{"dispatch", dispatchSrc},
}

// dispatchSrc is the overhead program bpfsh runs on raw_syscalls.
const dispatchSrc = "t:syscalls:sys_enter_getp* { @ = count(); }"

// helperRun is one run of bench/getppid.
type helperRun struct {
	pid               int
	calls             int
	wall, cpu         time.Duration
	bestWall, bestCPU time.Duration // fastest chunk
	chunk             int           // calls per chunk
	res               result
	outputLine        string
}

// best returns the fastest chunk's CPU and wall time per call.
func (h helperRun) best() (cpu, wall float64) {
	return perCall(h.bestCPU, h.chunk), perCall(h.bestWall, h.chunk)
}

func (h helperRun) rate() float64 { return float64(h.calls) / h.wall.Seconds() }

var helperRE = regexp.MustCompile(`calls=(\d+) wall_ns=(\d+) cpu_ns=(\d+) best_wall_ns=(\d+) best_cpu_ns=(\d+) chunk=(\d+)`)

func (b *bench) runHelper(args ...string) (helperRun, error) {
	var line string
	var mu sync.Mutex
	p, err := startProc(append([]string{b.helper}, args...), procOpts{stdout: true, onLine: func(l []byte) {
		mu.Lock()
		line = string(l)
		mu.Unlock()
	}})
	if err != nil {
		return helperRun{}, err
	}
	res := p.wait()
	mu.Lock()
	defer mu.Unlock()
	m := helperRE.FindStringSubmatch(line)
	if !res.ok() || m == nil {
		return helperRun{}, fmt.Errorf("getppid helper: %s: %q %s", res.describe(), line, res.stderr)
	}
	calls, _ := strconv.Atoi(m[1])
	w, _ := strconv.ParseInt(m[2], 10, 64)
	c, _ := strconv.ParseInt(m[3], 10, 64)
	bw, _ := strconv.ParseInt(m[4], 10, 64)
	bc, _ := strconv.ParseInt(m[5], 10, 64)
	chunk, _ := strconv.Atoi(m[6])
	return helperRun{pid: p.pid(), calls: calls, wall: time.Duration(w), cpu: time.Duration(c),
		bestWall: time.Duration(bw), bestCPU: time.Duration(bc), chunk: chunk, res: res, outputLine: line}, nil
}

// attachTool starts a tool on src and returns once its program runs on
// the getppid tracepoint (confirmed with bpftool perf list, but for
// bpfsh's dispatching program).
func (b *bench) attachTool(t tool, src string, onLine func([]byte)) (*proc, error) {
	p, err := startProc(t.argv("-e", src), procOpts{env: t.env, stdout: true, onLine: onLine})
	if err != nil {
		return nil, err
	}
	if err := p.waitAttached(60 * time.Second); err == nil {
		if t.name == "bpfsh" && src == dispatchSrc {
			// A tp_btf program has no perf event to find; bpfsh prints
			// its attach line once the programs are attached.
			return p, nil
		}
		err = waitTracepoint(p.pid(), "sys_enter_getppid", 10*time.Second)
		if err == nil {
			return p, nil
		}
	} else {
		p.interrupt()
		p.wait()
		return nil, err
	}
	p.interrupt()
	p.wait()
	return nil, err
}

// recordInsns keeps the programs a tool has loaded for src (first run only).
func (b *bench) recordInsns(label, src string, t tool, pid int) {
	if _, ok := b.insns[label][t.name]; ok {
		return
	}
	infos, err := inspectProgs(progIDsOf(pid))
	if err != nil {
		b.failf("4: %s %s: %v", t.name, label, err)
		return
	}
	if b.insns[label] == nil {
		b.insns[label] = map[string][]progInfo{}
		b.insnOrder = append(b.insnOrder, label)
		b.insnSrc[label] = src
	}
	b.insns[label][t.name] = infos
	// Keep the listings for reading side by side (bench/out/xlated/).
	dir := filepath.Join(b.outDir, "xlated")
	os.MkdirAll(dir, 0o755)
	var buf bytes.Buffer
	for _, pi := range infos {
		out, _ := exec.Command("bpftool", "prog", "dump", "xlated", "id", strconv.Itoa(pi.ID)).CombinedOutput()
		fmt.Fprintf(&buf, "# %s id %d (%s)\n%s\n", pi.Name, pi.ID, pi.Type, out)
	}
	os.WriteFile(filepath.Join(dir, label+"-"+t.name+".txt"), buf.Bytes(), 0o644)
}

// overheadChunks: each helper run is timed in this many chunks; the fastest
// chunk is the measurement (see bench/getppid).
const overheadChunks = 20

func (b *bench) overhead() {
	// The helper always runs on the last CPU (see bench/getppid); the tools
	// run wherever the scheduler puts them.
	args := []string{"-n", strconv.Itoa(b.calls), "-chunks", strconv.Itoa(overheadChunks), "-cpu", strconv.Itoa(goruntime.NumCPU() - 1)}
	var progs []string
	for _, p := range overheadProgs {
		progs = append(progs, "`"+p.src+"`")
	}
	b.doc("3", "per-event overhead", "", append([]string{b.rel(b.helper)}, args...),
		"`bpfsh -e PROG` / `bpftrace -e PROG` for each PROG of "+strings.Join(progs, ", ")+
			". Each round and program: the helper alone, then the helper while each tool is attached (bpftool perf list shows the tool's program on sys_enter_getppid before the helper starts; the tool is stopped with SIGINT afterwards). Overhead = fastest chunk's ns/call with the probe − fastest chunk's ns/call of the same round's no-probe run")
	for r := 0; r < b.runs; r++ {
		for _, p := range overheadProgs {
			// Other people's syscall tracers slow every syscall down: a
			// round they disturb is run again (at most twice).
			for try := 0; ; try++ {
				last := try == 2 || b.retried >= maxRetries
				disturbed := b.overheadRound(r, p.label, p.src, args, last)
				if !disturbed {
					break
				}
				if last {
					b.disturbed++
					break
				}
				b.retried++
				logf("3: round %d %s disturbed by another process's syscall tracer: again", r+1, p.label)
			}
		}
	}
}

// maxRetries bounds the re-runs of disturbed rounds, so a busy machine
// cannot push the bench past its time budget.
const maxRetries = 8

// overheadRound measures one program in one round: the helper alone, then
// with each tool attached. With keep false nothing is recorded if another
// process traced syscalls meanwhile (it reports true instead).
func (b *bench) overheadRound(r int, label, src string, args []string, keep bool) (disturbed bool) {
	if !waitQuiet(3 * time.Second) {
		disturbed = true
	}
	base, err := b.runHelper(args...)
	if err != nil {
		b.failf("3: baseline: %v", err)
		return false
	}
	if foreignSyscallTracers(-1) > 0 {
		disturbed = true
	}
	type sample struct {
		tool           string
		cpu, wall, avg float64
	}
	var got []sample
	for _, t := range b.order(r) {
		pr, err := b.attachTool(t, src, nil)
		if err != nil {
			b.failf("3: %s %s: %v", t.name, label, err)
			continue
		}
		b.recordInsns(label, src, t, pr.pid())
		if foreignSyscallTracers(pr.pid()) > 0 {
			disturbed = true
		}
		h, herr := b.runHelper(args...)
		if foreignSyscallTracers(pr.pid()) > 0 {
			disturbed = true
		}
		pr.interrupt()
		res := pr.wait()
		if herr != nil {
			b.failf("3: %s %s: %v", t.name, label, herr)
			continue
		}
		if !b.check(t, "3 "+label, nil, res) {
			continue
		}
		cpu, wall := h.best()
		baseCPU, baseWall := base.best()
		got = append(got, sample{t.name, cpu - baseCPU, wall - baseWall, perCall(h.cpu, h.calls) - perCall(base.cpu, base.calls)})
	}
	if disturbed && !keep {
		return true
	}
	baseCPU, baseWall := base.best()
	b.s.add("3.base.cpu", "getppid() with no probe, fastest chunk (helper thread CPU)", "ns/call", "none", baseCPU)
	b.s.add("3.base.wall", "getppid() with no probe, fastest chunk (wall)", "ns/call", "none", baseWall)
	for _, g := range got {
		b.s.add("3."+label+".cpu", "`"+src+"` overhead (CPU, fastest chunk)", "ns/event", g.tool, g.cpu)
		b.s.add("3."+label+".wall", "`"+src+"` overhead (wall, fastest chunk)", "ns/event", g.tool, g.wall)
		b.s.add("3."+label+".avg", "`"+src+"` overhead (CPU, whole run average)", "ns/event", g.tool, g.avg)
	}
	return disturbed
}

// ---------------------------------------------------------------------------
// 5. printf event rate before loss

const progPrintf = `t:syscalls:sys_enter_getppid { printf("pid %d\n", pid); }`

// printfRates are the paced steps (calls per second); each lasts printfStep.
var printfRates = []float64{25e3, 50e3, 100e3, 200e3, 400e3, 800e3, 1.2e6}

const printfStep = 250 * time.Millisecond

type printfStepResult struct {
	target   float64 // calls/s asked for; 0 = as fast as possible
	calls    int
	achieved float64 // calls/s the helper made
	received int64
	cpu      float64 // the helper thread's CPU ns per call (the probe's cost lands here)
}

type printfRun struct {
	tool     string
	steps    []printfStepResult
	missing  int64 // calls made minus lines received, over all steps
	reported int64 // what the tool said it lost
	foreign  int64 // lines from other processes' getppid calls
}

var (
	lostBpftraceRE = regexp.MustCompile(`Lost (\d+) events`)
	lostBpfshRE    = regexp.MustCompile(`(\d+) events lost`)
)

func (b *bench) printfRate() {
	b.doc("5", "printf rate", progPrintf, []string{b.rel(b.helper), "-rate", "R", "-n", "R/4"},
		fmt.Sprintf("one tool run per round: paced steps of %v at %s calls/s, then %d calls unpaced; each step is a new helper process, its lines counted by pid", printfStep, rateList(), b.printfCalls))
	for r := 0; r < b.runs; r++ {
		for _, t := range b.order(r) {
			run, err := b.printfOnce(t)
			if err != nil {
				b.failf("5: %s: %v", t.name, err)
				continue
			}
			b.printf = append(b.printf, run)
			maxOK := 0.0
			for _, st := range run.steps {
				if st.target == 0 {
					continue
				}
				if st.received < int64(st.calls) {
					break
				}
				maxOK = st.achieved
			}
			un := run.steps[len(run.steps)-1]
			b.s.add("5.maxrate", "printf: highest paced rate with no loss", "events/s", t.name, maxOK)
			b.s.add("5.delivered", "printf: lines delivered per second, unpaced", "lines/s", t.name, float64(un.received)/(float64(un.calls)/un.achieved))
			b.s.add("5.loss", "printf: share of events lost, unpaced", "%", t.name, 100*float64(int64(un.calls)-un.received)/float64(un.calls))
			b.s.add("5.cost", "printf: traced thread's CPU per getppid() with the probe, unpaced", "ns/call", t.name, un.cpu)
			b.s.add("5.missing", "printf: lines missing (all steps)", "lines", t.name, float64(run.missing))
			b.s.add("5.reported", "printf: loss the tool reported", "events", t.name, float64(run.reported))
		}
	}
}

func rateList() string {
	var s []string
	for _, r := range printfRates {
		s = append(s, fmt.Sprintf("%.0fk", r/1e3))
	}
	return strings.Join(s, ", ")
}

func (b *bench) printfOnce(t tool) (printfRun, error) {
	var mu sync.Mutex
	counts := map[int]int64{}
	var reported int64
	onLine := func(l []byte) {
		if v, ok := bytes.CutPrefix(l, []byte("pid ")); ok {
			pid, err := strconv.Atoi(string(v))
			if err == nil {
				mu.Lock()
				counts[pid]++
				mu.Unlock()
			}
			return
		}
		if m := lostBpftraceRE.FindSubmatch(l); m != nil {
			n, _ := strconv.ParseInt(string(m[1]), 10, 64)
			mu.Lock()
			reported += n
			mu.Unlock()
		}
	}
	pr, err := b.attachTool(t, progPrintf, onLine)
	if err != nil {
		return printfRun{}, err
	}
	b.recordInsns("printf", progPrintf, t, pr.pid())
	run := printfRun{tool: t.name}
	type stepPID struct {
		st  printfStepResult
		pid int
	}
	var steps []stepPID
	plan := append(append([]float64(nil), printfRates...), 0)
	for _, rt := range plan {
		n := b.printfCalls
		args := []string{"-n", ""}
		if rt > 0 {
			n = int(rt * printfStep.Seconds())
			args = append(args, "-rate", strconv.FormatFloat(rt, 'f', 0, 64))
		}
		args[1] = strconv.Itoa(n)
		h, err := b.runHelper(args...)
		if err != nil {
			pr.interrupt()
			pr.wait()
			return run, err
		}
		steps = append(steps, stepPID{printfStepResult{target: rt, calls: n, achieved: h.rate(), cpu: perCall(h.cpu, h.calls)}, h.pid})
		// Let the tool catch up before the next step, so one step's backlog
		// is not counted as the next one's loss: wait until every line has
		// arrived or none has for 300 ms.
		last, still := int64(-1), time.Now()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			mu.Lock()
			c := counts[h.pid]
			mu.Unlock()
			if c >= int64(n) {
				break
			}
			if c != last {
				last, still = c, time.Now()
			} else if time.Since(still) > 300*time.Millisecond {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	pr.interrupt()
	res := pr.wait()
	if !b.check(t, "5", nil, res) {
		return run, fmt.Errorf("%s", res.describe())
	}
	mu.Lock()
	defer mu.Unlock()
	mine := map[int]bool{}
	for _, s := range steps {
		s.st.received = counts[s.pid]
		mine[s.pid] = true
		run.steps = append(run.steps, s.st)
		if d := int64(s.st.calls) - s.st.received; d > 0 {
			run.missing += d
		}
	}
	for pid, c := range counts {
		if !mine[pid] {
			run.foreign += c
		}
	}
	run.reported = reported
	for _, m := range lostBpftraceRE.FindAllStringSubmatch(res.stderr, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		run.reported += n
	}
	if t.name == "bpfsh" {
		for _, m := range lostBpfshRE.FindAllStringSubmatch(res.stderr, -1) {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			run.reported += n
		}
	}
	return run, nil
}

// ---------------------------------------------------------------------------
// 6. compile time

var compileSizes = []int{100, 1000, 5000}

// genScript writes n probes, one per line, each with its own predicate.
func genScript(path string, n int) error {
	var buf bytes.Buffer
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&buf, "t:syscalls:sys_enter_openat /pid == %d/ { @[comm] = count(); }\n", k)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func (b *bench) compileTime() {
	elfOut := filepath.Join(b.outDir, "gen.elf")
	for _, n := range compileSizes {
		path := filepath.Join(b.outDir, fmt.Sprintf("gen-%d.bt", n))
		if err := genScript(path, n); err != nil {
			b.failf("6: %v", err)
			return
		}
	}
	b.doc("6", "compile", "t:syscalls:sys_enter_openat /pid == K/ { @[comm] = count(); }   (K = 1..N, one probe per line)", nil,
		fmt.Sprintf("both with BPFTRACE_MAX_PROBES=100000 in the environment (both tools cap probes otherwise). bpfsh: `%s -d none FILE` (parse, check, codegen; no kernel, no listing). bpftrace: `BPFTRACE_MAX_BPF_PROGS=100000 %s --emit-elf %s FILE` (parse, semantic analysis, LLVM codegen and ELF output; marked \"(dry run)\" in its help: nothing is loaded or attached). bpftrace runs %d times at ≥1,000 lines, with a %v timeout per run. Also timed in-process: lang.Parse + compiler.Compile of the same file inside the bench, no process start, no listing",
			b.rel(b.tools[0].path), b.tools[1].path, b.rel(elfOut), b.slowRuns(), b.compileTimeout))
	for _, n := range compileSizes {
		path := filepath.Join(b.outDir, fmt.Sprintf("gen-%d.bt", n))
		for r := 0; r < b.runs; r++ {
			for _, t := range b.order(r) {
				var argv []string
				// Both tools cap the number of probes (bpftrace at 512,
				// bpfsh at 1024) and both read BPFTRACE_MAX_PROBES.
				env := append(append([]string(nil), t.env...), "BPFTRACE_MAX_PROBES=100000")
				if t.name == "bpftrace" {
					if n >= 1000 && r >= b.slowRuns() {
						continue
					}
					os.Remove(elfOut)
					argv = []string{t.path, "--emit-elf", elfOut, path}
					env = append(env, "BPFTRACE_MAX_BPF_PROGS=100000")
				} else {
					argv = []string{t.path, "-d", "none", path}
				}
				res, err := runProc(argv, procOpts{env: env, timeout: b.compileTimeout})
				id := fmt.Sprintf("6.%d", n)
				if res.timedOut {
					m := b.s.get(id+".wall", fmt.Sprintf("compile %d lines: wall", n), "s")
					m.notes = append(m.notes, fmt.Sprintf("%s run %d timed out after %v (counted as %v)", t.name, r+1, b.compileTimeout, b.compileTimeout))
					b.s.add(id+".wall", "", "", t.name, b.compileTimeout.Seconds())
					continue
				}
				if !b.check(t, "6 "+strconv.Itoa(n), err, res) {
					continue
				}
				if t.name == "bpftrace" {
					if st, err := os.Stat(elfOut); err != nil || st.Size() == 0 {
						b.failf("6: bpftrace wrote no ELF for %d lines", n)
						continue
					}
				}
				b.s.add(id+".wall", fmt.Sprintf("compile %d lines: wall", n), "s", t.name, res.wall.Seconds())
				b.s.add(id+".cpu", fmt.Sprintf("compile %d lines: CPU (user+sys)", n), "s", t.name, res.cpu().Seconds())
				b.s.add(id+".rss", fmt.Sprintf("compile %d lines: max RSS", n), "MiB", t.name, mb(res.maxRSSKB))
			}
		}
		b.compileInProcess(n, path)
	}
}

// compileInProcess times lang.Parse + compiler.Compile of a script inside
// the bench: bpfsh's compiler without process start-up or the -d asm listing.
func (b *bench) compileInProcess(n int, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		b.failf("6: %v", err)
		return
	}
	env := probes.SystemEnv()
	for r := 0; r < b.runs; r++ {
		goruntime.GC()
		t0 := time.Now()
		prog, diags := lang.Parse(path, src)
		if diags.HasErrors() {
			b.failf("6: in-process parse of %d lines: %s", n, firstLines(diags.Format(), 3))
			return
		}
		if _, cd := compiler.Compile(prog, compiler.Options{Env: env, MaxProbes: 100000}); cd.HasErrors() {
			b.failf("6: in-process compile of %d lines: %s", n, firstLines(cd.Format(), 3))
			return
		}
		b.s.add(fmt.Sprintf("6.%d.inproc", n), fmt.Sprintf("compile %d lines in-process (lang.Parse + compiler.Compile, no listing)", n), "s", "bpfsh", time.Since(t0).Seconds())
	}
}

// slowRuns is how many times bpftrace compiles the 1,000- and 5,000-line
// scripts (seconds each): -bpftrace-compile-runs, or every run.
func (b *bench) slowRuns() int {
	if b.compileRuns > 0 {
		return min(b.runs, b.compileRuns)
	}
	return b.runs
}

// linearity compares the cost per line from 1,000 to 5,000 lines with the
// cost per line from 100 to 1,000: 1.0 is linear, 5 would be quadratic.
func (b *bench) linearity(tool, kind string) (float64, bool) {
	t100, ok1 := b.s.med("6.100."+kind, tool)
	t1k, ok2 := b.s.med("6.1000."+kind, tool)
	t5k, ok3 := b.s.med("6.5000."+kind, tool)
	if !ok1 || !ok2 || !ok3 || t1k <= t100 {
		return 0, false
	}
	return ((t5k - t1k) / 4000) / ((t1k - t100) / 900), true
}

// ---------------------------------------------------------------------------
// 7. binary size and shared libraries

type libInfo struct {
	name string
	path string
	size int64
}

type binInfo struct {
	path    string
	size    int64
	static  bool
	ldd     string
	libs    []libInfo
	libsSum int64
}

func inspectBinary(path string) binInfo {
	bi := binInfo{path: path}
	if st, err := os.Stat(path); err == nil {
		bi.size = st.Size()
	}
	if f, err := elf.Open(path); err == nil {
		interp := false
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				interp = true
			}
		}
		libs, _ := f.ImportedLibraries()
		bi.static = !interp && len(libs) == 0
		f.Close()
	}
	out, _ := exec.Command("ldd", path).CombinedOutput()
	bi.ldd = strings.TrimSpace(string(out))
	seen := map[string]bool{}
	for _, l := range strings.Split(bi.ldd, "\n") {
		// "libLLVM-14.so.1 => /lib/x86_64-linux-gnu/libLLVM-14.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
		f := strings.Fields(l)
		var name, p string
		switch {
		case len(f) >= 3 && f[1] == "=>":
			name, p = f[0], f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			name, p = filepath.Base(f[0]), f[0]
		default:
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		st, err := os.Stat(real)
		if err != nil {
			continue
		}
		bi.libs = append(bi.libs, libInfo{name: name, path: real, size: st.Size()})
		bi.libsSum += st.Size()
	}
	sort.Slice(bi.libs, func(i, j int) bool { return bi.libs[i].size > bi.libs[j].size })
	return bi
}

func (b *bench) binaries() {
	for _, t := range b.tools {
		b.bins = append(b.bins, inspectBinary(t.path))
	}
}

// ---------------------------------------------------------------------------

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func mb(kb int64) float64 { return float64(kb) / 1024 }

func perCall(d time.Duration, n int) float64 { return float64(d) / float64(n) }
