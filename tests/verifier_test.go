package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestVerifierRefusalsExplained: what the verifier refuses because of the
// script (a loop that never ends, one that runs too long, too many maps in
// one probe) or of the machine (out of file descriptors) is said with a
// position in the script and what to do, never as "a bpfsh bug" with the
// verifier's log.
func TestVerifierRefusalsExplained(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
	dir := t.TempDir()
	var maps5000, fds strings.Builder
	maps5000.WriteString("i:s:1 {")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&maps5000, " @m%d = 1;", i)
	}
	maps5000.WriteString(" }")
	for k := 0; k < 10; k++ {
		fmt.Fprintf(&fds, "i:s:%d {", k+1)
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&fds, " @m%d_%d = 1;", k, i)
		}
		fds.WriteString(" }\n")
	}
	cases := []struct {
		name, src, ulimit string
		want              string // a regexp
	}{
		{"infinite loop", `BEGIN { $i = 0; while ($i < 3) { } }`, "",
			`(?m)^s\.bt:1:\d+: error: .*loop.*\n.*while.*\n *\^\nhint: `},
		{"5000 maps in one probe", maps5000.String(), "",
			`(?m)^s\.bt:1:\d+: error: this probe uses more than 64 maps.*\n.*\n *\^\nhint: `},
		{"out of file descriptors", fds.String(), "200",
			`out of file descriptors: .*\(ulimit -n\)\nHINT: raise the limit`},
	}
	for _, c := range cases {
		file := filepath.Join(dir, "s.bt")
		if err := os.WriteFile(file, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "s.bt")
		if c.ulimit != "" {
			cmd = exec.Command("/bin/sh", "-c", "ulimit -n "+c.ulimit+" && exec \"$0\" s.bt", bin)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil || strings.Contains(string(out), "bpfsh bug") || !regexp.MustCompile(c.want).Match(out) {
			t.Errorf("%s: exit %v; want a failure matching %q, not a bpfsh bug:\n%.3000s", c.name, err, c.want, out)
		}
	}
}
