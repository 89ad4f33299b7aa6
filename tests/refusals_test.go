package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestHostileInputBounded runs the hostile scripts through the
// binary (-d none: parse, check and generate code, load nothing): long
// operator chains and many errors end with bounded output and memory,
// never Go's fatal stack overflow or out-of-memory.
func TestHostileInputBounded(t *testing.T) {
	privtest.Require(t) // the compiler reads the kernel's BTF
	bin, _ := binaries(t)
	dir := t.TempDir()
	cases := []struct {
		name, src string
		code      int
		want      string
		maxOut    int
	}{
		{"300000 operators", "BEGIN { $x = 1" + strings.Repeat(" + 1", 300000) + "; exit(); }", 1, "expression nested too deeply", 2000},
		{"9990 operators compile", "BEGIN { $x = 1" + strings.Repeat(" + 1", 9990) + "; exit(); }", 0, "", 0},
		{"15000 indexes", "BEGIN { $x = @a" + strings.Repeat("[1]", 15000) + "; exit(); }", 1, "expression nested too deeply", 2000},
		{"9000 indexes", "BEGIN { $x = @a" + strings.Repeat("[1]", 9000) + "; exit(); }", 1, "too many errors: ", 20 * 600},
	}
	for _, c := range cases {
		file := filepath.Join(dir, "s.bt")
		if err := os.WriteFile(file, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-d", "none", file)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatalf("%s: %v", c.name, err)
		}
		if code != c.code || !strings.Contains(out.String(), c.want) || out.Len() > c.maxOut {
			t.Errorf("%s: exit %d, %d bytes of output, want exit %d, %q and at most %d bytes:\n%.3000s",
				c.name, code, out.Len(), c.code, c.want, c.maxOut, out.String())
		}
		if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss > 400<<10 {
			t.Errorf("%s: %d MiB resident", c.name, rss>>10)
		}
	}
}
