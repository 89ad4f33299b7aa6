package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
)

// TestBpftraceCompat measures how much of bpftrace's own runtime-test suite
// bpfsh passes. It never fails on a case; it reports counts per file and in
// total. Opt in, it takes a while:
//
//	BPFSH_COMPAT=1 BPFSH_BPFTRACE_SUITE=path/to/bpftrace/tests/runtime \
//		go test ./tests -run TestBpftraceCompat -v -timeout 2h
//
// BPFSH_COMPAT_FILTER (a regexp on "file.NAME") narrows the run;
// BPFSH_COMPAT_OUT names a file that receives one line per case
// ("STATUS<TAB>file.NAME<TAB>reason"), handy for diffing two runs.
func TestBpftraceCompat(t *testing.T) {
	privtest.OptIn(t, "BPFSH_COMPAT", "measure compatibility with bpftrace's runtime tests")
	privtest.Require(t)
	suiteDir := privtest.RequireSuite(t)
	dir := filepath.Dir(suiteDir) // the cases run where bpftrace's runner runs them
	var filter *regexp.Regexp
	if f := os.Getenv("BPFSH_COMPAT_FILTER"); f != "" {
		filter = regexp.MustCompile(f)
	}
	bpfsh, trig := binaries(t)
	// The suite reads the tool's own comm in BEGIN ("bpftrace"): run bpfsh
	// under that name, as {{BPFTRACE}} stands for the tool under test.
	alias := filepath.Join(t.TempDir(), "bpftrace")
	if err := os.Symlink(bpfsh, alias); err != nil {
		t.Fatal(err)
	}
	r := &Runner{
		Binary:   alias,
		Dir:      dir,
		Vars:     map[string]string{"TRIG": trig},
		Features: hostFeatures(),
	}

	files, _ := filepath.Glob(filepath.Join(suiteDir, "*"))
	sort.Strings(files)
	type tally struct{ pass, fail, timeout, skip, parse int }
	var total tally
	var lines []string
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		suite := filepath.Base(f)
		cases, err := ParseFile(f)
		var n tally
		if err != nil {
			// Keep what parsed; count the rest as failures.
			n.parse++
			t.Logf("%v", err)
		}
		for _, c := range cases {
			id := suite + "." + c.Name
			if filter != nil && !filter.MatchString(id) {
				continue
			}
			var res Result
			if why := missingTestProgs(dir, c); why != "" {
				res = Result{Status: Skip, Reason: why}
			} else if why := missingProbeTypes(c); why != "" {
				res = Result{Status: Skip, Reason: why}
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), c.Timeout+time.Minute)
				res = r.Run(ctx, c)
				cancel()
			}
			switch res.Status {
			case Pass:
				n.pass++
			case Fail:
				n.fail++
			case Timeout:
				n.timeout++
			case Skip:
				n.skip++
			}
			if res.Status == Fail || res.Status == Timeout {
				t.Logf("%s %s: %s", res.Status, id, firstLine(res.Reason))
			}
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s", res.Status, id, firstLine(res.Reason)))
		}
		if n.pass+n.fail+n.timeout+n.skip+n.parse > 0 {
			t.Logf("%-16s pass %4d  fail %4d  timeout %4d  skip %4d  parse errors %d", suite, n.pass, n.fail, n.timeout, n.skip, n.parse)
		}
		total.pass += n.pass
		total.fail += n.fail
		total.timeout += n.timeout
		total.skip += n.skip
		total.parse += n.parse
	}
	ran := total.pass + total.fail + total.timeout
	pct := 0.0
	if ran > 0 {
		pct = 100 * float64(total.pass) / float64(ran)
	}
	summary := fmt.Sprintf("bpftrace runtime tests: pass %d, fail %d, timeout %d, skip %d, parse errors %d: %.1f%% of %d run",
		total.pass, total.fail, total.timeout, total.skip, total.parse, pct, ran)
	t.Log(summary)
	fmt.Println(summary)
	if out := os.Getenv("BPFSH_COMPAT_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// missingTestProgs skips cases that need bpftrace's compiled test programs
// when the copy of the suite doesn't have them.
func missingTestProgs(dir string, c *Case) string {
	all := strings.Join(append([]string{c.Run, c.Prog, c.After}, c.Befores...), " ")
	// A script the case runs may name them too.
	for _, sc := range regexp.MustCompile(`runtime/scripts/[\w.-]+`).FindAllString(all, -1) {
		if b, err := os.ReadFile(filepath.Join(dir, sc)); err == nil {
			all += " " + string(b)
		}
	}
	for _, m := range regexp.MustCompile(`\./(testprogs|testlibs)/[\w.-]+`).FindAllString(all, -1) {
		if _, err := os.Stat(filepath.Join(dir, m)); err != nil {
			return "needs bpftrace's " + m
		}
	}
	return ""
}

// kernelOnly are the probe types this machine's kernel cannot attach
// (KERNEL.md): no kprobes, no BPF trampolines, no hardware PMU or
// watchpoints here. bpfsh runs them in the QEMU VM instead (tests/vm).
var kernelOnly = map[string]bool{
	"kprobe": true, "k": true, "kretprobe": true, "kr": true,
	"fentry": true, "f": true, "fexit": true, "fr": true, "kfunc": true, "kretfunc": true,
	"watchpoint": true, "w": true, "asyncwatchpoint": true, "aw": true,
	"hardware": true, "h": true,
}

// kernelOnlyRun matches a command line that lists or attaches those types.
var kernelOnlyRun = regexp.MustCompile(`\b(kprobe|kretprobe|fentry|fexit|kfunc|kretfunc|watchpoint|hardware)[:*]`)

// missingProbeTypes skips cases whose program needs a probe type that this
// kernel lacks, so that they count as skipped, not failed.
func missingProbeTypes(c *Case) string {
	if c.Prog != "" {
		prog, _ := lang.Parse("prog", []byte(c.Prog))
		if prog != nil {
			for _, p := range prog.Probes {
				for _, s := range p.Specs {
					if kernelOnly[s.Provider] {
						return "needs " + s.Provider + " probes, which this kernel lacks"
					}
				}
			}
		}
	}
	if m := kernelOnlyRun.FindString(c.Run); m != "" {
		return "needs " + strings.TrimRight(m, ":*") + " probes, which this kernel lacks"
	}
	return ""
}

// hostFeatures answers REQUIRES_FEATURE for this kernel. Features that need
// bpftrace-only machinery (DWARF, AOT, blazesym) are absent.
func hostFeatures() map[string]bool {
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	kprobes := exists("/sys/kernel/tracing/kprobe_events")
	_, ferr := os.ReadFile("/sys/kernel/tracing/available_filter_functions")
	fentry := ferr == nil && exists("/sys/kernel/btf/vmlinux")
	return map[string]bool{
		"loop":               true,
		"probe_read_kernel":  true,
		"btf":                exists("/sys/kernel/btf/vmlinux"),
		"signal":             true,
		"get_tai_ns":         true,
		"get_func_ip":        true,
		"jiffies64":          true,
		"lookup_percpu_elem": true,
		"iter":               true,
		"uprobe_multi":       true,
		"kprobe_multi":       kprobes,
		"kprobe_session":     kprobes,
		"fentry":             fentry,
		"kfunc":              fentry,
		"dpath":              fentry,
		"skboutput":          fentry,
		"dwarf":              false,
		"dwunwind":           false,
		"libpath_resolv":     false,
		"aot":                false,
		"blazesym":           false,
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
