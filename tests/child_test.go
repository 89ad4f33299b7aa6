package tests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

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
	privtest.Require(t)
	bin, _ := binaries(t)
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
	privtest.Require(t)
	bin, _ := binaries(t)
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
