package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// binDir holds the binaries built for this run (see TestMain).
var binDir string

var (
	buildOnce sync.Once
	buildErr  error
)

// TestMain makes the temporary directory the binaries are built into; they
// are built on first use (binaries), so runs that skip every privileged test
// don't pay for the build.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bpfsh-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by everyone: one case runs bpfsh as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// privBinaries is binaries for a test that needs root (privtest.Require).
func privBinaries(t *testing.T) (bpfsh, trig string) {
	t.Helper()
	privtest.Require(t)
	return binaries(t)
}

// binaries builds ./cmd/bpfsh and ./tests/trig (static, CGO_ENABLED=0) once
// and returns their paths. The trigger binary is named exactly "trig" so
// scripts can filter on comm == "trig".
func binaries(t testing.TB) (bpfsh, trig string) {
	t.Helper()
	buildOnce.Do(func() {
		for _, b := range []struct{ pkg, out string }{
			{"./cmd/bpfsh", "bpfsh"},
			{"./tests/trig", "trig"},
		} {
			// The test hooks (BPFSH_INJECT_PANIC) are in the tests' build only.
			cmd := exec.Command(goTool(), "build", "-tags", "bpfsh_testhooks", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Dir = repoRoot()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "bpfsh"), filepath.Join(binDir, "trig")
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// repoRoot is the module root: tests/ is one level down.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}

// newRunner is the runner for bpfsh's own corpus: commands run in tests/.
func newRunner(t testing.TB) *Runner {
	bpfsh, trig := binaries(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{
		Binary: bpfsh,
		Dir:    wd,
		Vars:   map[string]string{"TRIG": trig},
	}
}

// TestRuntime runs every case of tests/runtime/*.test against the built
// bpfsh. Run one file or case with -run 'TestRuntime/foundation/hello'.
func TestRuntime(t *testing.T) {
	privtest.Require(t)
	files, err := filepath.Glob("runtime/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no runtime/*.test files (%v)", err)
	}
	r := newRunner(t)
	var pass, fail, skip int
	for _, f := range files {
		cases, err := ParseFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		suite := strings.TrimSuffix(filepath.Base(f), ".test")
		t.Run(suite, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					res := r.Run(context.Background(), c)
					switch res.Status {
					case Pass:
						pass++
					case Skip:
						skip++
						skipCase(t, res.Reason)
					default:
						fail++
						t.Error(res.Report(c))
					}
				})
			}
		})
	}
	summary := fmt.Sprintf("bpfsh runtime corpus: %d passed, %d failed, %d skipped", pass, fail, skip)
	t.Log(summary)
	fmt.Println(summary)
}

var (
	helpersMu sync.Mutex
	helpers   = map[string]string{}
)

// helperBinary builds the helper program tests/NAME once (static) and
// returns its path.
func helperBinary(t *testing.T, name string) string {
	t.Helper()
	helpersMu.Lock()
	defer helpersMu.Unlock()
	if p, ok := helpers[name]; ok {
		return p
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command(goTool(), "build", "-o", out, "./tests/"+name)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	helpers[name] = out
	return out
}

// skipCase skips a case the runner cannot run here: a missing prerequisite
// (REQUIRES) is a failure where privileged tests are required; another
// kernel or architecture only makes the case inapplicable.
func skipCase(t *testing.T, reason string) {
	t.Helper()
	if strings.HasPrefix(reason, "REQUIRES ") {
		privtest.Need(t, false, reason)
	}
	privtest.Inapplicable(t, reason)
}

// errStillRunning is waitKill's answer when the command outlived its time.
var errStillRunning = errors.New("still running")

// waitKill waits for a started command; when it still runs after d, it is
// killed and the answer is errStillRunning.
func waitKill(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		return errStillRunning
	}
}
