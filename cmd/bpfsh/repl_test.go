package main

import (
	"github.com/bpfsh/bpfsh/internal/privtest"

	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/probes"
)

func TestClassify(t *testing.T) {
	names := map[inputKind]string{inputEmpty: "empty", inputProbes: "probes", inputMore: "more", inputEval: "eval", inputBad: "bad"}
	for _, tt := range []struct {
		src  string
		want inputKind
	}{
		{"", inputEmpty},
		{"  \n", inputEmpty},
		{"i:ms:100 { @a = count(); }", inputProbes},
		{"i:s:1 { @x = 1 } i:s:2 { @y = 1 }", inputProbes},
		{"config = { max_map_keys = 10 }", inputProbes},
		{"// just a comment", inputProbes},
		{"i:ms:100 {", inputMore},
		{"t:syscalls:sys_enter_getppid /comm == \"trig\"/ {\n@b = count();", inputMore},
		{"pid", inputEval},
		{"@count", inputEval},
		{"@x[1, \"a\"]", inputEval},
		{"@x = 5", inputEval},
		{"printf(\"hi\\n\")", inputEval},
		{"prnt(1)", inputEval}, // the compiler names the unknown function
		{"1 + (2", inputMore},
		{"if (pid > 1) {", inputMore},
		{"/* a\n", inputMore},
		{"pid +", inputMore},
		{"printf(\"a", inputEval}, // a string cannot span lines: an error now
		{"i:s:1 { @y = (1 + ; }", inputBad},
		{"BEGIN { @x = ; }", inputBad},
		{"t:sysc", inputBad},
	} {
		if got := classify(tt.src); got != tt.want {
			t.Errorf("classify(%q) = %s, want %s", tt.src, names[got], names[tt.want])
		}
	}
}

func TestComplete(t *testing.T) {
	c := &completer{env: &probes.Env{TracefsRoot: "../../compiler/testdata/tracefs"}}
	for _, tt := range []struct {
		line string
		want string // candidates, sorted, joined by |
		n    int    // how many typed runes they replace
	}{
		{":pr", "int |obes ", 3},
		{":de", "tach ", 3},
		{":detach ", "all ", 0},
		{"t:sysc", "alls:", 4},
		{"t:syscalls:sys_enter_o", "penat", 11},
		{"tracepoint:sch", "ed:", 3},
		{"i:m", "s:", 1},
		{"BEG", "IN", 3},
		{"BEGIN { @x = nse", "cs|cs(", 3}, // nsecs, and nsecs(CLOCK)
		{"BEGIN { printf(\"%d\\n\", cou", "nt(", 3},
		{"BEGIN { @x = 1; @y = @", "x|y", 1},
		{"t:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args.fil", "ename", 3},
	} {
		cands, n := c.Do([]rune(tt.line), len([]rune(tt.line)))
		var got []string
		for _, r := range cands {
			got = append(got, string(r))
		}
		sort.Strings(got)
		if strings.Join(got, "|") != tt.want || n != tt.n {
			t.Errorf("complete %q = %q, %d; want %q, %d", tt.line, strings.Join(got, "|"), n, tt.want, tt.n)
		}
	}
}

// TestCompleteUSDT completes usdt probes of tests/testprogs/usdt.c.
func TestCompleteUSDT(t *testing.T) {
	cc, err := exec.LookPath("cc")
	privtest.Need(t, err == nil, "no C compiler")
	bin := filepath.Join(t.TempDir(), "usdt")
	if out, err := exec.Command(cc, "-o", bin, "../../tests/testprogs/usdt.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	c := &completer{env: &probes.Env{}}
	for _, tt := range []struct{ line, want string }{
		{"usdt:" + bin + ":bpfsh_t", "est:"},
		{"usdt:" + bin + ":bpfsh_test:con", "sts"},
		{"U:" + bin + ":bpfsh_test:t", "wice"},
	} {
		cands, _ := c.Do([]rune(tt.line), len([]rune(tt.line)))
		var got []string
		for _, r := range cands {
			got = append(got, string(r))
		}
		if strings.Join(got, "|") != tt.want {
			t.Errorf("complete %q = %q, want %q", tt.line, strings.Join(got, "|"), tt.want)
		}
	}
}

func TestUnterminated(t *testing.T) {
	for src, want := range map[string]bool{
		"pid":                false,
		"/* open":            true,
		"/* closed */ pid":   false,
		`"/* in a string"`:   false,
		"// /* in a comment": false,
	} {
		if got := unterminated(src); got != want {
			t.Errorf("unterminated(%q) = %v, want %v", src, got, want)
		}
	}
}
