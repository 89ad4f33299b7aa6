package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestOutputErrorsReported: output that cannot be written (a full file
// system, /dev/full) ends the run with a message on stderr and exit status
// 1; what was left to say (the maps) is said on stderr instead.
func TestOutputErrorsReported(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()

	cmd := exec.Command(bin, "-e", `BEGIN { printf("x\n"); @a = 42; exit(); }`)
	cmd.Stdout = full
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("stdout on /dev/full: %v, want exit status 1", err)
	}
	for _, w := range []string{"ERROR: output lost: write /dev/stdout: no space left on device", "@a: 42\n"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stdout on /dev/full: stderr lacks %q:\n%s", w, stderr.String())
		}
	}

	// A file system that fills up mid-run: a private 64 KiB tmpfs.
	dir := t.TempDir()
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=64k tmpfs `+dir+` || exit 9
		`+bin+` -o `+filepath.Join(dir, "out")+` -e 'i:us:200 { @n = count(); printf("%s\n", "0123456789012345678901234567890123456789012345678901234567890123456789"); }'
		echo rc=$?`).CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, w := range []string{"ERROR: output lost: write " + filepath.Join(dir, "out") + ": no space left on device", "@n: ", "rc=1\n"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("-o on a full tmpfs: output lacks %q:\n%s", w, out)
		}
	}
}
