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
	privtest.Need(t, err == nil, "no /dev/full")
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

// TestOutputSymlinkRefused: -o does not follow a symlink planted in a
// directory others can write (root would overwrite the planter's choice of
// file); in a directory only root writes, a symlink is followed as usual.
func TestOutputSymlinkRefused(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
	shared, private := t.TempDir(), t.TempDir()
	os.Chmod(shared, os.ModeSticky|0o777)
	victim := filepath.Join(private, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	os.Symlink(victim, filepath.Join(shared, "out"))
	out, err := exec.Command(bin, "-o", filepath.Join(shared, "out"), "-e", `BEGIN { printf("x\n"); exit(); }`).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to follow a symlink in "+shared) {
		t.Errorf("-o through a planted symlink: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	os.Symlink(victim, filepath.Join(private, "out"))
	if out, err := exec.Command(bin, "-o", filepath.Join(private, "out"), "-e", `BEGIN { printf("x\n"); exit(); }`).CombinedOutput(); err != nil {
		t.Errorf("-o through root's own symlink: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(victim); !strings.Contains(string(b), "x\n") {
		t.Errorf("-o through root's own symlink wrote %q", b)
	}
}
