package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestInterruptWhileCompiling: a Ctrl-C that comes while bpfsh compiles a
// script ends it at once, as the signal ends a process that does not catch
// it: nothing is loaded or attached first (bpfsh catches signals from the
// start of compiling, to set the handlers up on another CPU).
func TestInterruptWhileCompiling(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
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
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
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
