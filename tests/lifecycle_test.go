package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// bpfObjects lists the BPF programs, maps and links bpfsh made that are
// still alive (by bpfsh's naming: programs bpfsh_*, maps m_* and bpfsh_*).
func bpfObjects(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{"prog", "map", "link"} {
		b, err := exec.Command("bpftool", "-j", kind, "show").Output()
		if err != nil {
			t.Fatalf("bpftool %s show: %v", kind, err)
		}
		var objs []map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(b), &objs); err != nil && len(bytes.TrimSpace(b)) > 0 {
			t.Fatalf("bpftool %s show: %v", kind, err)
		}
		for _, o := range objs {
			name, _ := o["name"].(string)
			progID, _ := o["prog_id"].(float64)
			switch {
			case kind == "link":
				// A link is ours if its program is.
				if progName(progID) != "" {
					out = append(out, fmt.Sprintf("link %v (prog %s)", o["id"], progName(progID)))
				}
			case strings.HasPrefix(name, "bpfsh_") || (kind == "map" && strings.HasPrefix(name, "m_")):
				if name == "bpfsh_meta" {
					continue // pinned policies' descriptions, by design
				}
				out = append(out, fmt.Sprintf("%s %v %s", kind, o["id"], name))
			}
		}
	}
	return out
}

func progName(id float64) string {
	b, err := exec.Command("bpftool", "-j", "prog", "show", "id", fmt.Sprint(int(id))).Output()
	if err != nil {
		return ""
	}
	var o map[string]any
	json.Unmarshal(b, &o)
	if name, _ := o["name"].(string); strings.HasPrefix(name, "bpfsh_") {
		return name
	}
	return ""
}

// TestTeardown runs 100 bpfsh lifetimes ending every way one can end —
// exit(), END, Ctrl-C, SIGTERM, SIGHUP, a compile error, an attach failing
// halfway through — and checks that no program, map or link survives.
func TestTeardown(t *testing.T) {
	bin, _ := privBinaries(t)
	privtest.Tool(t, "bpftool", "bpftool") // inspects kernel objects
	if left := bpfObjects(t); len(left) > 0 {
		t.Logf("objects alive before the test (not ours to judge): %v", left)
	}
	before := len(bpfObjects(t))
	const prog = `t:syscalls:sys_enter_getppid { @c[comm] = count(); @h = hist(pid); } i:ms:50 { @i = count(); printf("x\n"); }`
	type ending struct {
		name string
		args []string
		sig  syscall.Signal // sent once attached; 0: ends by itself
		fail bool
		env  string
	}
	endings := []ending{
		{name: "exit", args: []string{"-e", `i:ms:10 { @x = count(); exit(); } END { printf("end\n"); }`}},
		{name: "SIGINT", args: []string{"-e", prog}, sig: syscall.SIGINT},
		{name: "SIGTERM", args: []string{"-e", prog}, sig: syscall.SIGTERM},
		{name: "SIGHUP", args: []string{"-e", prog}, sig: syscall.SIGHUP},
		{name: "compile error", args: []string{"-e", `BEGIN { @x = nosuch; }`}, fail: true},
		// The interval attaches, then the uprobe fails (no such process).
		{name: "attach fails halfway", args: []string{"-p", "999999999", "-e", `i:ms:10 { @x = count(); } u:libc:getpid { @y = count(); }`}, fail: true},
		{name: "BEGIN only", args: []string{"-e", `BEGIN { @a[1] = 1; printf("hi\n"); }`}},
		// One program on raw_syscalls with its table of syscalls.
		{name: "syscall wildcard", args: []string{"-e", `t:syscalls:sys_enter_* { @[probe] = count(); } i:ms:10 { exit(); }`}},
		{name: "panic in the runtime", args: []string{"-e", prog}, env: "BPFSH_INJECT_PANIC=attached", fail: true},
	}
	for i := 0; i < 100; i++ {
		e := endings[i%len(endings)]
		cmd := exec.Command(bin, e.args...)
		if e.env != "" {
			cmd.Env = append(os.Environ(), e.env)
		}
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if e.sig != 0 {
			// Wait until the interval has fired (its printf arrived), so its
			// map has something to print, however loaded the machine is.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "x\n") && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cmd.Process.Signal(e.sig)
		}
		err := waitKill(cmd, 15*time.Second)
		if err == errStillRunning {
			t.Fatalf("cycle %d (%s): bpfsh did not end:\n%s", i, e.name, out.String())
		}
		if (err != nil) != e.fail {
			t.Fatalf("cycle %d (%s): exit error %v, want failure %v:\n%s", i, e.name, err, e.fail, out.String())
		}
		if e.sig != 0 && !strings.Contains(out.String(), "@i: ") {
			t.Fatalf("cycle %d (%s): maps were not printed on %v:\n%s", i, e.name, e.sig, out.String())
		}
	}
	// Releasing is asynchronous in the kernel (RCU): give it a moment.
	var left []string
	for try := 0; try < 50; try++ {
		left = bpfObjects(t)
		if len(left) <= before {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > before {
		t.Errorf("kernel objects left behind after 100 runs:\n%s", strings.Join(left, "\n"))
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestInterruptWhileCompiling: a Ctrl-C that comes while bpfsh compiles a
// script ends it at once, as the signal ends a process that does not catch
// it: nothing is loaded or attached first (bpfsh catches signals from the
// start of compiling, to set the handlers up on another CPU).
func TestInterruptWhileCompiling(t *testing.T) {
	bin, _ := privBinaries(t)
	var src strings.Builder
	for k := 1; k <= 20000; k++ {
		fmt.Fprintf(&src, "t:syscalls:sys_enter_openat /pid == %d/ { @[comm] = count(); }\n", k)
	}
	script := filepath.Join(t.TempDir(), "long.bt")
	if err := os.WriteFile(script, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, script)
	cmd.Env = append(os.Environ(), "BPFTRACE_MAX_PROBES=100000")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Compiling 20,000 probes takes half a second here: the signal comes
	// while bpfsh compiles, even on a much faster machine.
	time.Sleep(30 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := waitKill(cmd, 30*time.Second)
	if err == errStillRunning {
		t.Fatalf("bpfsh still runs 30 s after SIGINT:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("bpfsh ended with %v after SIGINT, want death by SIGINT:\n%s", err, out.String())
	}
	if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("bpfsh ended with %v after SIGINT, want death by SIGINT:\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "Attached") {
		t.Errorf("bpfsh attached probes after a SIGINT sent while it compiled:\n%s", out.String())
	}
}

// TestSignalWhileReadingScript: while bpfsh waits for its script (a FIFO
// nobody writes, a stdin that sends nothing), SIGINT, SIGTERM and SIGHUP
// end it as they end any process, and SIGQUIT ends it without Go's
// goroutine dump. (On main the first three were caught and ignored until
// the script came.)
func TestSignalWhileReadingScript(t *testing.T) {
	bin, _ := privBinaries(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		for _, src := range []string{"fifo", "stdin"} {
			cmd := exec.Command(bin, fifo)
			if src == "stdin" {
				cmd = exec.Command(bin, "-")
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close() // held open: the script never ends
				cmd.Stdin = r
				defer r.Close()
			}
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // waiting for the script
			cmd.Process.Signal(sig)
			err := waitKill(cmd, 5*time.Second)
			if err == errStillRunning {
				t.Errorf("%v while reading the script from a %s: bpfsh still runs 5 s later", sig, src)
				continue
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Errorf("%v while reading the script from a %s: bpfsh ended with %v", sig, src, err)
			}
			if strings.Contains(out.String(), "goroutine ") || strings.Contains(out.String(), "SIGQUIT") {
				t.Errorf("%v while reading the script from a %s: a Go trace:\n%.1000s", sig, src, out.String())
			}
		}
	}
}

// TestQuitOnTerminal: Ctrl-\ typed on bpfsh's terminal ends it without a Go
// register dump: while it reads a script there (bpfsh -), and while it
// runs one, which then ends as after Ctrl-C, with its maps printed.
func TestQuitOnTerminal(t *testing.T) {
	bin, _ := privBinaries(t)
	tm := startTerm(t, bin, nil, "-")
	time.Sleep(300 * time.Millisecond)
	tm.send("\x1c")
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Ctrl-\\ while reading the script: bpfsh still runs:\n%s", tm.screen())
	}
	if s := tm.screen(); strings.Contains(s, "goroutine ") || strings.Contains(s, "SIGQUIT") {
		t.Errorf("Ctrl-\\ while reading the script dumped a trace:\n%.1000s", s)
	}

	tm = startTerm(t, bin, nil, "-e", `i:ms:10 { @ticks = count(); }`)
	tm.expect(`Attached 1 probe`)
	time.Sleep(200 * time.Millisecond) // ticks to count
	tm.send("\x1c")
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Ctrl-\\ while running: bpfsh still runs:\n%s", tm.screen())
	}
	time.Sleep(100 * time.Millisecond) // the last output
	if s := tm.screen(); strings.Contains(s, "goroutine ") || !strings.Contains(s, "@ticks: ") {
		t.Errorf("Ctrl-\\ while running: exit %v; want the maps and no trace:\n%.1000s", tm.err, s)
	}
}

// TestTermWhileOutputBlocked: SIGTERM while stdout is blocked (a reader
// that stopped reading) ends bpfsh within a second, the probes detached,
// with a message on stderr that the rest of the output is dropped; on main
// it waited until the reader drained the pipe.
func TestTermWhileOutputBlocked(t *testing.T) {
	bin, _ := privBinaries(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read
	cmd := exec.Command(bin, "-e", `i:us:100 { printf("%s\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); @n = count(); }`)
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Attached (the first line read), then the reader stops: 64 KiB of
	// pipe fill in well under a second.
	if line, err := bufio.NewReader(r).ReadString('\n'); err != nil || !strings.HasPrefix(line, "Attached") {
		t.Fatalf("first line %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	time.Sleep(time.Second)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err = waitKill(cmd, 10*time.Second)
	took := time.Since(start)
	if err == errStillRunning {
		t.Fatalf("bpfsh still runs 10 s after SIGTERM with its output blocked:\n%s", stderr.String())
	}
	t.Logf("ended %v after SIGTERM", took)
	if took > time.Second {
		t.Errorf("bpfsh took %v to end after SIGTERM with its output blocked", took)
	}
	if err == nil || !strings.Contains(stderr.String(), "output is blocked") {
		t.Errorf("exit %v, stderr %q: want a failure saying the output was dropped", err, stderr.String())
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// gone waits (up to d) until process pid no longer exists or is a zombie.
func gone(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// waitChild waits (up to 20 s) for bpfsh's -c child to exist and returns its pid.
func waitChild(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if kids := childrenOf(cmd.Process.Pid); len(kids) > 0 {
			return kids[0]
		}
	}
	cmd.Process.Kill()
	t.Fatal("bpfsh started no -c child in 20 s")
	return 0
}

// TestChildNeverRunsUntraced: bpfsh killed while it loads (its -c child
// exists, held before exec) never lets the command run: on main, the
// command ran, untraced, 5 times of 5.
func TestChildNeverRunsUntraced(t *testing.T) {
	bin, _ := privBinaries(t)
	dir := t.TempDir()
	var src strings.Builder
	for k := 1; k <= 300; k++ {
		fmt.Fprintf(&src, "t:syscalls:sys_enter_openat /pid == %d/ { @[comm] = count(); }\n", k)
	}
	script := filepath.Join(dir, "many.bt")
	if err := os.WriteFile(script, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	early := 0
	for try := 0; try < 5; try++ {
		cmd := exec.Command(bin, "-c", "touch "+marker, script)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kid := waitChild(t, cmd)
		cmd.Process.Kill()
		cmd.Wait()
		if !gone(kid, 5*time.Second) {
			t.Errorf("the -c child %d outlives bpfsh killed while loading", kid)
			syscall.Kill(kid, syscall.SIGKILL)
		}
		if strings.Contains(out.String(), "Attached") {
			continue // killed too late to tell
		}
		early++
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("the -c command ran although bpfsh was killed before attaching:\n%s", out.String())
		}
	}
	if early == 0 {
		t.Fatal("bpfsh attached 300 probes before it could be killed, 5 times: load a longer script")
	}
}

// TestChildEndsWithBpfsh: the -c command ends when bpfsh ends, however it
// ends: killed (SIGKILL, nothing of bpfsh runs) or because its reader went
// away (| head -1: on main, Go's SIGPIPE killed bpfsh and left the command
// orphaned).
func TestChildEndsWithBpfsh(t *testing.T) {
	bin, _ := privBinaries(t)
	prog := `i:ms:10 { printf("tick\n"); }`
	t.Run("SIGKILL", func(t *testing.T) {
		cmd, stdout := startWithChild(t, bin, prog)
		bufio.NewReader(stdout).ReadString('\n') // attached
		kid := waitChild(t, cmd)
		cmd.Process.Kill()
		cmd.Wait()
		if !gone(kid, 5*time.Second) {
			syscall.Kill(kid, syscall.SIGKILL)
			t.Fatalf("the -c command %d outlives bpfsh killed by SIGKILL", kid)
		}
	})
	t.Run("head -1", func(t *testing.T) {
		cmd, stdout := startWithChild(t, bin, prog)
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		kid := waitChild(t, cmd)
		stdout.Close() // head -1 exits
		err := waitKill(cmd, 10*time.Second)
		if err == errStillRunning {
			t.Fatalf("bpfsh still runs 10 s after its reader went away (read %q)", line)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Errorf("bpfsh died of %v when its reader went away: nothing was cleaned up", ee.Sys().(syscall.WaitStatus).Signal())
		}
		if !gone(kid, 5*time.Second) {
			syscall.Kill(kid, syscall.SIGKILL)
			t.Fatalf("the -c command %d is left orphaned after | head -1", kid)
		}
	})
}

// startWithChild starts bpfsh running prog with `-c "sleep 1000"`; its
// output is read through the pipe returned.
func startWithChild(t *testing.T, bin, prog string) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(bin, "-c", "sleep 1000", "-e", prog)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout
}
