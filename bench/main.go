// Command bench measures bpfsh against bpftrace on the same workloads, the
// two tools alternating run by run, and writes bench/RESULTS.md: medians,
// min/max, bpfsh/bpftrace ratios, the targets marked met or
// missed, the exact commands, the machine and every raw number.
//
//	go run ./bench            # or: make bench
//	go run ./bench -quick     # 3 runs instead of 7
//
// It needs root (BPF, tracefs, bpftool), bpftrace and bpftool on PATH or
// given by flags. It builds its own bpfsh (same flags as `make build`) and
// the getppid helper into bench/out/, so edits made while it runs do not
// change what it measures.
//
// Scheduling: the machine may be busy with other work. Unless -nice=0, the
// bench re-runs itself in a new session (so a new scheduler autogroup),
// gives that autogroup and itself nice -20, and every tool it starts
// inherits that priority. Both tools get the same treatment.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tool is one of the two tracers under test.
type tool struct {
	name string
	path string
	env  []string
}

func (t tool) argv(args ...string) []string { return append([]string{t.path}, args...) }

// workloadDoc records how a workload was run, for RESULTS.md.
type workloadDoc struct {
	num, title, prog string
	helper           []string
	how              string
}

type bench struct {
	root, outDir   string
	runs           int
	calls          int
	printfCalls    int
	compileTimeout time.Duration
	compileRuns    int
	tools          []tool // bpfsh first, then bpftrace
	helper         string
	s              *store
	insns          map[string]map[string][]progInfo // program label → tool → its programs
	insnOrder      []string
	insnSrc        map[string]string
	printf         []printfRun
	bins           []binInfo
	docs           []workloadDoc
	failures       []string
	retried        int // overhead rounds run again: another process traced syscalls
	disturbed      int // overhead rounds kept although still disturbed
	priority       string
	started        time.Time
	loadStart      string
	quick          bool
}

func main() {
	var (
		runs        = flag.Int("runs", 7, "runs of each workload per tool")
		quick       = flag.Bool("quick", false, "3 runs of each workload")
		bpftrace    = flag.String("bpftrace", "/usr/bin/bpftrace", "bpftrace binary")
		bpfsh       = flag.String("bpfsh", "", "bpfsh binary to measure (default: build one into bench/out)")
		out         = flag.String("o", "bench/RESULTS.md", "results file (relative to the repository root)")
		calls       = flag.Int("calls", 2000000, "getppid calls per overhead run")
		printfCalls = flag.Int("printf-calls", 500000, "getppid calls in the unpaced printf step")
		nice        = flag.Int("nice", -20, "run in a new session with this autogroup and nice value (0: leave scheduling alone)")
		only        = flag.String("only", "", "comma-separated workloads to run (1-8; 4 comes with 3 and 5); default all")
		ctimeout    = flag.Duration("compile-timeout", 120*time.Second, "kill a compile run after this long")
		cruns       = flag.Int("bpftrace-compile-runs", 0, "runs of bpftrace on the 1,000- and 5,000-line scripts (0: as many as -runs)")
	)
	flag.Parse()
	if *quick {
		*runs = 3
	}
	if *nice != 0 && os.Getenv("BPFSH_BENCH_CHILD") == "" {
		os.Exit(reexec())
	}
	if os.Geteuid() != 0 {
		fatalf("bench needs root (BPF, tracefs, bpftool)")
	}
	root, err := repoRoot()
	if err != nil {
		fatalf("%v", err)
	}
	b := &bench{root: root, outDir: filepath.Join(root, "bench", "out"), runs: *runs, calls: *calls,
		printfCalls: *printfCalls, compileTimeout: *ctimeout, compileRuns: *cruns, s: newStore(),
		insns: map[string]map[string][]progInfo{}, insnSrc: map[string]string{}, quick: *quick}
	b.priority = setPriority(*nice)
	// On Ctrl-C (forwarded by the parent when re-run in a new session) or
	// SIGTERM, stop every tool the bench started before going.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		live.killAll()
		fatalf("interrupted (%v)", s)
	}()
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		fatalf("%v", err)
	}

	bpfshPath := *bpfsh
	if bpfshPath == "" {
		bpfshPath = filepath.Join(b.outDir, "bpfsh")
		logf("building %s", b.rel(bpfshPath))
		if err := goBuild(root, bpfshPath, "./cmd/bpfsh"); err != nil {
			fatalf("%v", err)
		}
	}
	b.helper = filepath.Join(b.outDir, "getppid")
	logf("building %s", b.rel(b.helper))
	if err := goBuild(root, b.helper, "./bench/getppid"); err != nil {
		fatalf("%v", err)
	}
	btPath, err := exec.LookPath(*bpftrace)
	if err != nil {
		fatalf("bpftrace: %v", err)
	}
	if _, err := exec.LookPath("bpftool"); err != nil {
		fatalf("bpftool: %v", err)
	}
	abs, _ := filepath.Abs(bpfshPath)
	b.tools = []tool{{name: "bpfsh", path: abs}, {name: "bpftrace", path: btPath}}

	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		if w = strings.TrimSpace(w); w != "" {
			want[w] = true
		}
	}
	do := func(n string) bool { return len(want) == 0 || want[n] }

	b.started = time.Now()
	b.loadStart = loadavg()
	steps := []struct {
		n, name string
		f       func()
	}{
		{"7", "binary size and shared libraries", b.binaries},
		{"1", "start to exit", b.startExit},
		{"2", "time to attached", b.attachTime},
		{"2", "time to first event", b.firstEvent},
		{"3", "per-event overhead (+ instruction counts)", b.overhead},
		{"5", "printf rate (+ instruction counts)", b.printfRate},
		{"6", "compile time", b.compileTime},
		{"8", "many tracepoints", b.scale},
	}
	for _, st := range steps {
		if !do(st.n) && !(st.n == "3" && want["4"]) {
			continue
		}
		t0 := time.Now()
		logf("workload %s: %s (%d runs)", st.n, st.name, b.runs)
		st.f()
		logf("workload %s done in %v", st.n, time.Since(t0).Round(100*time.Millisecond))
	}
	outPath := *out
	if !filepath.IsAbs(outPath) {
		outPath = filepath.Join(root, outPath)
	}
	report := b.report()
	if err := os.WriteFile(outPath, []byte(report), 0o644); err != nil {
		fatalf("%v", err)
	}
	logf("wrote %s in %v total", b.rel(outPath), time.Since(b.started).Round(time.Second))
	fmt.Print(b.headline())
	if len(b.failures) > 0 {
		logf("%d problems, listed in %s", len(b.failures), b.rel(outPath))
	}
}

// reexec runs this program again in a new session: a new session is a new
// scheduler autogroup, whose nice value the child sets. Signals are passed on.
func reexec() int {
	exe, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "BPFSH_BENCH_CHILD=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fatalf("%v", err)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// setPriority applies -nice to this process (children inherit it) and to
// its autogroup, and says what it did.
func setPriority(nice int) string {
	if nice == 0 {
		return "left alone (-nice=0)"
	}
	var done []string
	if err := os.WriteFile("/proc/self/autogroup", []byte(strconv.Itoa(nice)), 0); err == nil {
		done = append(done, fmt.Sprintf("own session with autogroup nice %d", nice))
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice); err == nil {
		done = append(done, fmt.Sprintf("nice %d", nice))
	}
	if len(done) == 0 {
		return "could not be raised"
	}
	return strings.Join(done, ", ") + ", inherited by every process the bench starts"
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/bpfsh/bpfsh\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the bench inside the bpfsh repository")
		}
		dir = parent
	}
}

// goBuild builds a static binary the way `make build` does. Other people
// may be editing the tree: a failed build is retried a few times.
func goBuild(root, out, pkg string) error {
	var err error
	for try := 0; try < 3; try++ {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var msg []byte
		if msg, err = cmd.CombinedOutput(); err == nil {
			return nil
		}
		err = fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		time.Sleep(3 * time.Second)
	}
	return err
}

// order alternates which tool goes first, so neither always runs on a
// cache the other warmed.
func (b *bench) order(r int) []tool {
	if r%2 == 0 {
		return b.tools
	}
	return []tool{b.tools[1], b.tools[0]}
}

func (b *bench) rel(p string) string {
	if r, err := filepath.Rel(b.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func (b *bench) doc(num, title, prog string, helper []string, how string) {
	b.docs = append(b.docs, workloadDoc{num: num, title: title, prog: prog, helper: helper, how: how})
}

// check records a failed run; bpftrace's RLIMIT_MEMLOCK complaint on
// stderr is expected here and not a failure.
func (b *bench) check(t tool, what string, err error, res result) bool {
	if err != nil {
		b.failf("%s: %s: %v", what, t.name, err)
		return false
	}
	if !res.ok() {
		b.failf("%s: %s: %s: %s", what, t.name, res.describe(), firstLines(res.stderr, 3))
		return false
	}
	return true
}

func (b *bench) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.failures = append(b.failures, msg)
	logf("problem: %s", msg)
}

func firstLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.Contains(l, "RLIMIT_MEMLOCK") {
			continue
		}
		keep = append(keep, l)
		if len(keep) == n {
			break
		}
	}
	return strings.Join(keep, " | ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// ---------------------------------------------------------------------------
// The machine

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func machine() [][2]string {
	var uts unix.Utsname
	unix.Uname(&uts)
	cpu := "?"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	return [][2]string{
		{"kernel (uname -r)", unix.ByteSliceToString(uts.Release[:])},
		{"CPUs (nproc)", strconv.Itoa(runtime.NumCPU())},
		{"CPU model", cpu},
		{"memory", mem},
	}
}

func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "?"
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(l, "RLIMIT_MEMLOCK") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "; ")
}

func shellQuote(argv []string) string {
	var s []string
	for _, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' ||
				r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) < 0 {
			s = append(s, a)
			continue
		}
		s = append(s, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(s, " ")
}
