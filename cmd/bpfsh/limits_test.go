package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestScriptSizeLimit: a script larger than 16 MiB (/dev/zero, an endless
// stdin) is refused with an error instead of being read until memory runs
// out. (-d none: nothing is loaded.)
func TestScriptSizeLimit(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		stdin io.Reader
	}{
		{"file", []string{"-d", "none", "/dev/zero"}, strings.NewReader("")},
		{"stdin", []string{"-d", "none", "-"}, zeros{}},
	} {
		var out, errb bytes.Buffer
		code := mainErr(c.args, c.stdin, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "larger than 16 MiB") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the size limit", c.name, code, errb.String())
		}
	}
	// Right at the limit the script is read (and parsed: a comment).
	big := "//" + strings.Repeat("x", maxScript-2)
	var out, errb bytes.Buffer
	if code := mainErr([]string{"-d", "none", "-"}, strings.NewReader(big), &out, &errb); strings.Contains(errb.String(), "larger than") {
		t.Errorf("a script of exactly 16 MiB: exit %d, %q", code, errb.String())
	}
}

// zeros is an endless stdin.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestEnvChecked: an integer variable that is not a number or is out of
// range is an error naming it, never ignored or overflowed.
func TestEnvChecked(t *testing.T) {
	for _, c := range []struct{ name, val, want string }{
		{"BPFSH_PERF_RB_PAGES", "1048576", "BPFSH_PERF_RB_PAGES=1048576: out of range"},
		{"BPFSH_MAX_MAP_KEYS", "abc", `BPFSH_MAX_MAP_KEYS="abc": not an integer`},
		{"BPFTRACE_MAP_KEYS_MAX", "0", "BPFTRACE_MAP_KEYS_MAX=0: out of range"},
		{"BPFSH_MAX_STRLEN", "-5", "BPFSH_MAX_STRLEN=-5: out of range"},
		{"BPFTRACE_MAX_PROBES", "1e3", `BPFTRACE_MAX_PROBES="1e3": not an integer`},
		{"BPFSH_MAX_CAT_BYTES", "99999999999999999999", "BPFSH_MAX_CAT_BYTES"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.name, c.val)
			var out, errb bytes.Buffer
			code := mainErr([]string{"-d", "none", "-e", "BEGIN { exit(); }"}, strings.NewReader(""), &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), c.want) {
				t.Errorf("%s=%s: exit %d, stderr %q; want 1 and %q", c.name, c.val, code, errb.String(), c.want)
			}
		})
	}
	t.Setenv("BPFSH_PERF_RB_PAGES", "64")
	var out, errb bytes.Buffer
	if code := mainErr([]string{"-d", "none", "-e", "BEGIN { exit(); }"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Errorf("BPFSH_PERF_RB_PAGES=64: exit %d, %q", code, errb.String())
	}
}

// TestReleaseHasNoTestHooks: the binary built as it is released does not
// know BPFSH_INJECT_PANIC (the tests build theirs with -tags
// bpfsh_testhooks).
func TestReleaseHasNoTestHooks(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bpfsh")
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		gotool = p
	}
	if out, err := exec.Command(gotool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("BPFSH_INJECT_PANIC")) {
		t.Error("the released binary contains the test hook BPFSH_INJECT_PANIC")
	}
}
