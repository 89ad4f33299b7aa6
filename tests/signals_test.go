package tests

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestSignalWhileReadingScript: while bpfsh waits for its script (a FIFO
// nobody writes, a stdin that sends nothing), SIGINT, SIGTERM and SIGHUP
// end it as they end any process, and SIGQUIT ends it without Go's
// goroutine dump. (On main the first three were caught and ignored until
// the script came.)
func TestSignalWhileReadingScript(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
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
	privtest.Require(t)
	bin, _ := binaries(t)
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
	privtest.Require(t)
	bin, _ := binaries(t)
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
