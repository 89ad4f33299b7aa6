package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// A toolCase runs one of bpftrace's own tools, unchanged (Debian's bpftrace
// package installs them as /usr/sbin/NAME.bt), under bpftrace and under
// bpfsh, each while the same trigger makes known events; the lines about
// those events must be the same.
type toolCase struct {
	tool  string
	after string // trigger, run once the tool is attached
	// keep selects the lines to compare (before rewriting); section keeps
	// whole map blocks ("@[trig]:" up to a blank line) instead.
	keep    *regexp.Regexp
	section *regexp.Regexp
	rewrite []rewrite
	dedupe  bool
	// want must match the normalised output, so that two empty outputs
	// never agree.
	want *regexp.Regexp
}

var (
	clock = rw(`\b\d\d:\d\d:\d\d\b`, "HH:MM:SS")
	// pids and their padding (their width varies); the events' own values
	// are one digit
	bigNums = rw(`\b\d{2,}\b *`, "N ")
)

var toolCases = []toolCase{
	{
		tool:    "execsnoop",
		after:   `{{TRIG}} exec /bin/true bpfsh-tools-marker a b ";"`,
		keep:    regexp.MustCompile(`^TIME|^\d+ +\d+ +/bin/true bpfsh-tools-marker`),
		rewrite: []rewrite{rw(`^\d+ +\d+ +`, "MS PID ")},
		want:    regexp.MustCompile(`(?m)^MS PID /bin/true bpfsh-tools-marker a b$`),
	},
	{
		tool:    "opensnoop",
		after:   `{{TRIG}} open /etc/hostname 2 open /nonexistent-bpfsh-tools 1`,
		keep:    regexp.MustCompile(`^PID|^Tracing| trig .*(/etc/hostname|/nonexistent-bpfsh-tools)$`),
		rewrite: []rewrite{rw(`^\d+ +`, "PID ")},
		want:    regexp.MustCompile(`(?m)^PID trig +-1 +2 /nonexistent-bpfsh-tools$`),
	},
	{
		tool:    "statsnoop",
		after:   `{{TRIG}} stat /etc/hostname 2 stat /nonexistent-bpfsh-tools 1`,
		keep:    regexp.MustCompile(`^PID|^Tracing| trig .*(/etc/hostname|/nonexistent-bpfsh-tools)$`),
		rewrite: []rewrite{rw(`^\d+ +`, "PID ")},
		want:    regexp.MustCompile(`(?m)^PID trig +2 /nonexistent-bpfsh-tools$`),
	},
	{
		tool:    "killsnoop",
		after:   `{{TRIG}} kill 2`,
		keep:    regexp.MustCompile(`^TIME|^Tracing| trig `),
		rewrite: []rewrite{clock, bigNums},
		want:    regexp.MustCompile(`(?m)^HH:MM:SS +N trig +0 +N 0$`),
	},
	{
		tool:    "setuids",
		after:   `{{TRIG}} setuid 0`,
		keep:    regexp.MustCompile(`^TIME|^Tracing| trig `),
		rewrite: []rewrite{clock, bigNums},
		want:    regexp.MustCompile(`(?m)^HH:MM:SS N +trig +0 +setresuid ruid=0 euid=0 suid=0 \(0\)$`),
	},
	{
		tool:    "pidpersec",
		after:   `{{TRIG}} exec /bin/true ";" exec /bin/true ";" sleep 1500`,
		keep:    regexp.MustCompile(`^Tracing|PIDs/sec`),
		rewrite: []rewrite{clock, rw(`@: \d+`, "@: N")},
		dedupe:  true,
		want:    regexp.MustCompile(`(?m)^HH:MM:SS PIDs/sec: @: N$`),
	},
	{
		tool:    "syscount",
		after:   `{{TRIG}} getppid 200000`,
		keep:    regexp.MustCompile(`^Counting|^Top 10|@syscall\[110\]|@process\[trig\]`),
		rewrite: []rewrite{rw(`: \d+$`, ": N")},
		want:    regexp.MustCompile(`(?m)^@process\[trig\]: N$`),
	},
	{
		tool: "bashreadline",
		// An interactive bash on a pty reads its lines with readline.
		after:   `printf 'echo bpfsh-tools-marker\nexit\n' | TERM=dumb script -qfec 'bash --norc --noprofile -i' /dev/null >/dev/null`,
		keep:    regexp.MustCompile(`^TIME|^Tracing|bpfsh-tools-marker|exit$`),
		rewrite: []rewrite{clock, bigNums},
		want:    regexp.MustCompile(`(?m)^HH:MM:SS +N +echo bpfsh-tools-marker$`),
	},
	{
		tool:    "bitesize",
		after:   `{{TRIG}} write /var/tmp/bpfsh-bitesize.dat 8`,
		keep:    regexp.MustCompile(`^Tracing|^I/O size`),
		section: regexp.MustCompile(`^@\[trigw\]:`),
		want:    regexp.MustCompile(`(?m)^\[4K, 8K\) +8 \|@+\|$`),
	},
	{
		tool:    "cpuwalk",
		after:   `for c in $(seq 0 $(($(nproc) - 1))); do taskset -c $c {{TRIG}} spin 700 & done; wait`,
		keep:    regexp.MustCompile(`^Sampling|^\[\d+, \d+\)`),
		section: regexp.MustCompile(`^@cpu:`),
		rewrite: []rewrite{rw(`^(\[\d+, \d+\)) +\d+ \|@*\s*\|$`, "$1 N")},
		want:    regexp.MustCompile(`(?m)^\[0, 1\) N$`),
	},
}

// TestBpftraceTools: ten of bpftrace's tools that need only tracepoints,
// uprobes and profile run unchanged under bpfsh and print what bpftrace 0.17
// prints for the same events (issue 10).
func TestBpftraceTools(t *testing.T) {
	sh, bt := oracleRunners(t)
	for _, tc := range toolCases {
		t.Run(tc.tool, func(t *testing.T) {
			script := "/usr/sbin/" + tc.tool + ".bt"
			if _, err := os.Stat(script); err != nil {
				t.Fatalf("%v (Debian's bpftrace package installs the tools there)", err)
			}
			want := toolRun(t, bt, tc, script)
			got := toolRun(t, sh, tc, script)
			if !tc.want.MatchString(want) {
				t.Errorf("bpftrace's output lacks %q; normalised:\n%s", tc.want, want)
			}
			if got != want {
				t.Errorf("bpfsh and bpftrace differ (normalised):\n--- bpftrace\n%s--- bpfsh\n%s", want, got)
			}
		})
	}
}

// toolRun runs the tool under one runner until 3 s after attaching (the
// trigger is done by then), stops it with SIGINT and normalises its output.
func toolRun(t *testing.T, r *Runner, tc toolCase, script string) string {
	c := &Case{File: "tools", Name: tc.tool, Run: "{{BPFTRACE}} " + script, After: tc.after, Timeout: 3 * time.Second, LocalizeTS: -1}
	res := r.Run(context.Background(), c)
	if !res.Attached {
		t.Fatalf("%s did not attach:\n%s", r.Binary, res.Output)
	}
	t.Logf("%s:\n%s", r.Binary, res.Output)
	var b strings.Builder
	in := false
	prev := "\x00"
	for _, line := range strings.Split(res.Output, "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch {
		case tc.section != nil && tc.section.MatchString(line):
			in = true
		case in && line == "":
			in = false
			continue
		case !in && !tc.keep.MatchString(line):
			continue
		}
		for _, rw := range tc.rewrite {
			line = rw.re.ReplaceAllString(line, rw.with)
		}
		if tc.dedupe && line == prev {
			continue
		}
		prev = line
		fmt.Fprintln(&b, line)
	}
	return b.String()
}

// toolExceptions are why one of bpftrace's tools may fail --dry-run here:
// what this kernel or machine lacks, or what the tool's bpftrace version
// did differently (docs/tools.md). Anything else is a bpfsh gap.
var toolExceptions = []struct {
	tool string // "" for any
	err  *regexp.Regexp
	why  string
}{
	{"", regexp.MustCompile(`kprobes are not available`), "the kernel has no kprobes"},
	{"loads", regexp.MustCompile(`kaddr\(\): no kernel symbol "avenrun"`), "kallsyms lists no variables (CONFIG_KALLSYMS_ALL)"},
	{"swapin", regexp.MustCompile(`undefined map @$`), "both kprobes missing (no kprobes): @ is never set, as in bpftrace"},
	{"runqlat", regexp.MustCompile(`unknown identifier "TASK_RUNNING"`), "TASK_RUNNING is in the kernel's headers, not installed"},
	{"runqlen", regexp.MustCompile(`struct cfs_rq has no field "nr_running"`), "Linux 6.14 renamed cfs_rq.nr_running"},
	{"tcpdrop", regexp.MustCompile(`undefined variable \$saddr`), "bpftrace 0.17's probe-wide variables; current bpftrace scopes them by block"},
	{"ssllatency", regexp.MustCompile(`function "rsa_ossl_public_encrypt" not found`), "OpenSSL 3's libcrypto lacks the function"},
	{"sslsnoop", regexp.MustCompile(`function "rsa_ossl_public_encrypt" not found`), "OpenSSL 3's libcrypto lacks the function"},
	{"threadsnoop", regexp.MustCompile(`function "pthread_create" not found in .*libpthread`), "glibc 2.34 moved pthread_create into libc"},
}

// TestToolsDryRun compiles, loads and attaches (--dry-run) every tool
// Debian's bpftrace package installs (/usr/sbin/*.bt): each passes, or
// fails for a reason toolExceptions lists.
func TestToolsDryRun(t *testing.T) {
	privtest.Require(t)
	privtest.Tool(t, "bpftrace", "bpftrace")
	bpfsh, _ := binaries(t)
	tools, _ := filepath.Glob("/usr/sbin/*.bt")
	privtest.Need(t, len(tools) >= 30, "bpftrace's tools are not in /usr/sbin (Debian's bpftrace package installs them there)")
	passed := 0
	for _, script := range tools {
		name := strings.TrimSuffix(filepath.Base(script), ".bt")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, bpfsh, "--unsafe", "--dry-run", script).CombinedOutput()
		cancel()
		if err == nil {
			passed++
			continue
		}
		first := firstError(string(out))
		why := ""
		for _, x := range toolExceptions {
			if (x.tool == "" || x.tool == name) && x.err.MatchString(first) {
				why = x.why
			}
		}
		if why == "" {
			t.Errorf("%s: %v\n%s", name, err, out)
			continue
		}
		t.Logf("%s: %s (%s)", name, first, why)
	}
	t.Logf("%d of %d tools pass --dry-run", passed, len(tools))
}

// firstError is the first "error:" line of bpfsh's output.
func firstError(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "error:") || strings.HasPrefix(line, "ERROR:") {
			return line
		}
	}
	return strings.TrimSpace(out)
}
