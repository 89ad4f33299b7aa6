package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"time"
)

// render shows the parsed fields of a case that a test cares about, tersely.
func render(c *Case) string {
	var f []string
	add := func(k string, v any) { f = append(f, fmt.Sprintf("%s=%v", k, v)) }
	add("name", c.Name)
	if c.Prog != "" {
		add("prog", fmt.Sprintf("%q", c.Prog))
	}
	if c.Run != "" {
		add("run", fmt.Sprintf("%q", c.Run))
	}
	for _, e := range c.Expects {
		add(e.Mode.String(), fmt.Sprintf("%q", e.Value))
	}
	if c.Timeout != DefaultTimeout {
		add("timeout", c.Timeout)
	}
	for _, b := range c.Befores {
		add("before", b)
	}
	if c.After != "" {
		add("after", c.After)
	}
	if c.WillFail {
		add("will_fail", true)
	}
	if c.ReturnCode != 0 {
		add("rc", c.ReturnCode)
	}
	if len(c.Env) > 0 {
		add("env", c.Env)
	}
	if len(c.Arch) > 0 {
		add("arch", c.Arch)
	}
	if len(c.Features)+len(c.NoFeatures) > 0 {
		add("features", fmt.Sprint(c.Features, c.NoFeatures))
	}
	if len(c.Requires) > 0 {
		add("requires", c.Requires)
	}
	if c.HasExact {
		add("exact", true)
	}
	add("line", c.Line)
	return strings.Join(f, " ")
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string // render() of each case
		err  string   // substring of the error
	}{
		{
			in:   "NAME a\nPROG BEGIN { exit(); }\nEXPECT hi\n",
			want: []string{`name=a prog="BEGIN { exit(); }" EXPECT="hi" line=1`},
		},
		{
			// Comments, several blocks, blank runs, no trailing newline.
			in: "# header\n\nNAME a\nRUN {{BPFTRACE}} -e 'x'\nEXPECT_REGEX ^a\\d+$\n\n\n# c\nNAME  b  c \nPROG p\nEXPECT_NONE   x  y  \nTIMEOUT 2",
			want: []string{
				`name=a run="{{BPFTRACE}} -e 'x'" EXPECT_REGEX="^a\\d+$" line=3`,
				`name=b  c prog="p" EXPECT_NONE="x  y" timeout=2s line=9`,
			},
		},
		{
			// Continuation lines of PROG, EXPECT and EXPECT_REGEX keep what
			// follows the indentation.
			in:   "NAME m\nPROG BEGIN {\n       printf(\"x\");\n     }\nEXPECT a\n        b\nEXPECT_REGEX ^x\n             y$\n",
			want: []string{`name=m prog="BEGIN {\n  printf(\"x\");\n}" EXPECT="a\n b" EXPECT_REGEX="^x\ny$" line=1`},
		},
		{
			in:   "NAME all\nRUN true\nEXPECT_REGEX_NONE bad\nBEFORE ./a\nBEFORE ./b x\nAFTER ./c\nWILL_FAIL\nENV A=1 B=2\nARCH x86_64|!s390x\nREQUIRES_FEATURE btf !dwarf\nREQUIRES bpftool\nREQUIRES nft --help\n",
			want: []string{`name=all run="true" EXPECT_REGEX_NONE="bad" before=./a before=./b x after=./c will_fail=true env=[A=1 B=2] arch=[x86_64 !s390x] features=[btf] [dwarf] requires=[bpftool nft --help] line=1`},
		},
		{
			in:   "NAME rc\nRUN exit 3\nRETURN_CODE 3\n",
			want: []string{`name=rc run="exit 3" rc=3 line=1`},
		},
		{
			in:   "NAME f\nPROG x\nEXPECT_FILE runtime/outputs/a.txt\n",
			want: []string{`name=f prog="x" EXPECT_FILE="runtime/outputs/a.txt" exact=true line=1`},
		},
		{in: "PROG x\nEXPECT y\n", err: "NAME is required"},
		{in: "NAME a\nEXPECT y\n", err: "RUN or PROG is required"},
		{in: "NAME a\nPROG x\nRUN y\nEXPECT z\n", err: "both"},
		{in: "NAME a\nPROG x\n", err: "at least one EXPECT"},
		{in: "NAME a\nPROG x\nEXPECT_FILE f\nEXPECT y\n", err: "cannot be combined"},
		{in: "NAME a\nPROG x\nEXPECT y\nBOGUS z\n", err: `t.test:4: unknown directive "BOGUS"`},
		{in: "NAME a\nPROG x\nEXPECT y\nTIMEOUT soon\n", err: "bad TIMEOUT"},
		{in: "NAME a\nPROG x\nWILL_FAIL\nRETURN_CODE 2\n", err: "WILL_FAIL and RETURN_CODE"},
	}
	for i, tt := range tests {
		cases, err := Parse("t.test", []byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("#%d: error %v, want one containing %q", i, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("#%d: %v", i, err)
			continue
		}
		var got []string
		for _, c := range cases {
			got = append(got, render(c))
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("#%d:\ngot  %s\nwant %s", i, strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
		}
	}
}

// TestParseCorpora parses every test file we know of: ours must be valid, and
// bpftrace's (when $BPFSH_BPFTRACE_SUITE names them) must parse as its runner would.
func TestParseCorpora(t *testing.T) {
	files, _ := filepath.Glob("runtime/*.test")
	if len(files) == 0 {
		t.Fatal("no tests/runtime/*.test files")
	}
	if dir := privtest.SuiteDir(t); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*"))
		files = append(files, more...)
	}
	total := 0
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		cases, err := ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
		}
		names := map[string]bool{}
		for _, c := range cases {
			if strings.HasSuffix(f, ".test") && names[c.Name] {
				t.Errorf("%s:%d: duplicate NAME %q", f, c.Line, c.Name)
			}
			names[c.Name] = true
		}
		total += len(cases)
	}
	t.Logf("%d files, %d cases", len(files), total)
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/x/bpfsh":                 "/tmp/x/bpfsh",
		"":                             "''",
		"a b":                          "'a b'",
		`it's`:                         `'it'\''s'`,
		`BEGIN { printf("%d\n", 1); }`: `'BEGIN { printf("%d\n", 1); }'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"6.18.0", "6.12", 1},
		{"6.1.0-13-amd64", "6.1", 0},
		{"5.15.0", "6.1", -1},
		{"6.18.0-rc1+", "6.18", 0},
	} {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestArchMatches(t *testing.T) {
	m := unameMachine()
	for _, tt := range []struct {
		list []string
		want bool
	}{
		{[]string{m}, true},
		{[]string{"!" + m}, false},
		{[]string{"nonesuch"}, false},
		{[]string{"!nonesuch"}, true},
		{[]string{"nonesuch", m}, true},
	} {
		if got := archMatches(tt.list); got != tt.want {
			t.Errorf("archMatches(%v) = %v, want %v", tt.list, got, tt.want)
		}
	}
}

func TestLocalizeTimestamps(t *testing.T) {
	if got := localizeTimestamps("%H:00 100%%", -1); got != "%H:00 100%%" {
		t.Errorf("unset: %q", got)
	}
	want := time.Unix(0, 0).Local().Format("15") + ":00:00.500"
	if got := localizeTimestamps("%H:00:00.500", 0); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRunnerMechanics drives the runner with plain shell lines standing in
// for the tracer, so it needs no privileges.
func TestRunnerMechanics(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: runs shell commands for several seconds")
	}
	dir := t.TempDir()
	// A fake tracer: prints its arguments one per line, then the attach line.
	fake := filepath.Join(dir, "fake tracer")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\necho 'Attaching 1 probe...'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "want.txt"), []byte("\nafter attach\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const attachThenWait = `echo 'Attaching 1 probe...'; i=0; while [ ! -e flag ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; cat flag`
	tests := []struct {
		src    string
		status Status
		reason string // substring of Result.Reason
	}{
		{src: "NAME prog quoting\nPROG BEGIN { printf(\"it's %d\\n\", 1); }\nEXPECT BEGIN { printf(\"it's %d\\n\", 1); }\nEXPECT_NONE -q", status: Pass},
		{src: "NAME json adds flags\nPROG x\nEXPECT_JSON nonexistent.json", status: Fail, reason: "nonexistent.json"},
		{src: "NAME expect text is a whole line\nRUN echo '  abc  '; echo 'xabcx'\nEXPECT abc\nEXPECT_NONE bc", status: Pass},
		{src: "NAME expect regex multiline\nRUN printf 'a 1\\nb 22\\n'\nEXPECT_REGEX ^b \\d{2}$\nEXPECT_REGEX_NONE ^c", status: Pass},
		{src: "NAME missing line\nRUN echo abc\nEXPECT abd", status: Fail, reason: "EXPECT abd"},
		{src: "NAME after runs once attached\nRUN " + attachThenWait + "\nAFTER echo after-ran > f.tmp && mv f.tmp flag\nEXPECT after-ran", status: Pass},
		{src: "NAME vars in after\nRUN " + attachThenWait + "\nAFTER echo {{GREETING}} > f.tmp && mv f.tmp flag\nEXPECT hello", status: Pass},
		{src: "NAME timeout sends SIGINT\nRUN trap 'echo got-int; exit 0' INT; echo 'Attaching 1 probe...'; while :; do sleep 0.05; done\nTIMEOUT 1\nEXPECT got-int", status: Pass},
		{src: "NAME timeout SIGINT reaches a program under a shell\nRUN sh -c 'trap \"sleep 0.5; echo late; exit 0\" INT; echo Attaching 1 probe...; while :; do sleep 0.05; done'; echo outer-done\nTIMEOUT 1\nEXPECT late", status: Pass},
		{src: "NAME timeout fails when expectation unmet\nRUN trap 'exit 0' INT; echo 'Attaching 1 probe...'; while :; do sleep 0.05; done\nTIMEOUT 1\nEXPECT never", status: Timeout},
		{src: "NAME will fail\nRUN echo oops; exit 3\nEXPECT oops\nWILL_FAIL", status: Pass},
		{src: "NAME will fail but succeeds\nRUN echo oops\nEXPECT oops\nWILL_FAIL", status: Fail, reason: "WILL_FAIL"},
		{src: "NAME unclean exit\nRUN echo oops; exit 3\nEXPECT oops", status: Fail, reason: "exit code 3"},
		{src: "NAME return code\nRUN exit 3\nRETURN_CODE 3", status: Pass},
		{src: "NAME stderr is merged\nRUN echo to-stderr >&2\nEXPECT to-stderr", status: Pass},
		{src: "NAME env\nRUN echo \"$FOO/$test\"\nENV FOO=bar\nEXPECT bar/env", status: Pass},
		{src: "NAME binary dir on PATH\nRUN 'fake tracer' --flag\nEXPECT --flag", status: Pass},
		{src: "NAME exact expect drops output before attach\nRUN echo before; echo 'Attaching 1 probe...'; echo after attach\nEXPECT_FILE want.txt", status: Pass},
		{src: "NAME before pid\nBEFORE sleep 30\nRUN cat /proc/{{BEFORE_PID}}/comm\nEXPECT sleep", status: Pass},
		{src: "NAME requires\nRUN echo x\nEXPECT x\nREQUIRES false", status: Skip, reason: "REQUIRES false"},
		{src: "NAME feature\nRUN echo x\nEXPECT x\nREQUIRES_FEATURE dwarf", status: Skip, reason: "dwarf"},
		{src: "NAME arch\nRUN echo x\nEXPECT x\nARCH nonesuch", status: Skip},
		{src: "NAME setup and cleanup\nSETUP echo s > setup.txt\nRUN cat setup.txt\nEXPECT s\nCLEANUP rm setup.txt", status: Pass},
	}
	r := &Runner{Binary: fake, Dir: dir, Vars: map[string]string{"GREETING": "hello"}, KillGrace: 2 * time.Second}
	for _, tt := range tests {
		cases, err := Parse("mechanics", []byte(tt.src))
		if err != nil || len(cases) != 1 {
			t.Fatalf("%q: %v", tt.src, err)
		}
		c := cases[0]
		t.Run(c.Name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, "flag"))
			res := r.Run(context.Background(), c)
			if res.Status != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("status %v (%s), want %v (%q)\n%s", res.Status, res.Reason, tt.status, tt.reason, res.Report(c))
			}
		})
	}
}

// TestFeatureSince: a feature the Runner's Features does not name is decided
// by the release that brought it, and a skip names that release; Features
// overrides the table.
func TestFeatureSince(t *testing.T) {
	FeatureSince["test_future"] = "999.0"
	FeatureSince["test_past"] = "2.6"
	defer delete(FeatureSince, "test_future")
	defer delete(FeatureSince, "test_past")
	run := func(r *Runner, feature string) Result {
		cases, err := Parse("features", []byte("NAME f\nRUN echo x\nEXPECT x\nREQUIRES_FEATURE "+feature))
		if err != nil {
			t.Fatal(err)
		}
		return r.Run(context.Background(), cases[0])
	}
	r := &Runner{}
	if res := run(r, "test_future"); res.Status != Skip || !strings.Contains(res.Reason, "missing feature test_future (Linux 999.0; this kernel is ") {
		t.Errorf("test_future: %v %q, want a skip naming Linux 999.0", res.Status, res.Reason)
	}
	if res := run(r, "test_past"); res.Status != Pass {
		t.Errorf("test_past: %v %q, want it to run and pass", res.Status, res.Reason)
	}
	if res := run(r, "!test_past"); res.Status != Skip || res.Reason != "has feature test_past" {
		t.Errorf("!test_past: %v %q, want a skip", res.Status, res.Reason)
	}
	r.Features = map[string]bool{"test_future": true, "test_past": false}
	if res := run(r, "test_future"); res.Status != Pass {
		t.Errorf("test_future with Features: %v %q, want it to run", res.Status, res.Reason)
	}
	if res := run(r, "test_past"); res.Status != Skip || res.Reason != "missing feature test_past" {
		t.Errorf("test_past with Features false: %v %q", res.Status, res.Reason)
	}
}
