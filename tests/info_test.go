package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// infoProbes is a one-line program for each probe type, which --dry-run
// loads, attaches and detaches: what --info says of the type must be what
// happens to it. {USDT} is a binary with USDT notes.
var infoProbes = map[string]string{
	"BEGIN":         `BEGIN { }`,
	"END":           `END { }`,
	"self":          `self:signal:SIGUSR1 { }`,
	"interval":      `interval:s:1 { }`,
	"profile":       `profile:hz:99 { }`,
	"software":      `software:cpu-clock:1000000 { }`,
	"hardware":      `hardware:cycles:1000000 { }`,
	"tracepoint":    `tracepoint:sched:sched_switch { }`,
	"rawtracepoint": `rawtracepoint:sched_switch { }`,
	"iter":          `iter:task { }`,
	"kprobe":        `kprobe:vfs_read { }`,
	"kretprobe":     `kretprobe:vfs_read { }`,
	"fentry":        `fentry:vfs_read { }`,
	"fexit":         `fexit:vfs_read { }`,
	"fmod_ret":      `fmod_ret:security_file_open { }`,
	"lsm":           `lsm:file_open { }`,
	"uprobe":        `uprobe:libc:getpid { }`,
	"uretprobe":     `uretprobe:libc:getpid { }`,
	"usdt":          `usdt:{USDT}:bpfsh_test:args { }`,
	"sockops":       `sockops { }`,
	"xdp":           `xdp:lo { pass; }`,
	"tc":            `tc:lo:ingress { }`,
	"usb":           `usb:device { allow; }`,
}

// TestInfoMatchesWhatLoads: for every probe type --info lists, a program of
// that type attaches exactly when --info says it works here.
func TestInfoMatchesWhatLoads(t *testing.T) {
	bin, _ := privBinaries(t)
	out, err := exec.Command(bin, "--info").CombinedOutput()
	if err != nil {
		t.Fatalf("bpfsh --info: %v\n%s", err, out)
	}
	types := infoSection(string(out), "Probe types")
	if len(types) < len(infoProbes)-2 {
		t.Fatalf("--info lists %d probe types:\n%s", len(types), out)
	}
	usdtBin := buildUSDT(t)
	for name, works := range types {
		prog, ok := infoProbes[name]
		if !ok {
			t.Errorf("no test program for probe type %s: add one to infoProbes", name)
			continue
		}
		prog = strings.ReplaceAll(prog, "{USDT}", usdtBin)
		got, err := exec.Command(bin, "--unsafe", "--dry-run", "-e", prog).CombinedOutput()
		if works && err != nil {
			t.Errorf("--info says %s works, but %q failed: %v\n%s", name, prog, err, got)
		}
		if !works && err == nil {
			t.Errorf("--info says %s does not work, but %q attached:\n%s", name, prog, got)
		}
	}
	// The other sections answer too, and tracefs was not mounted for it.
	for _, title := range []string{"System", "Kernel helpers", "Map types", "Override mechanisms", "Attach modes", "Mounts"} {
		if len(infoSection(string(out), title)) == 0 {
			t.Errorf("--info has no %q section:\n%s", title, out)
		}
	}
}

// infoSection reads one section of --info: item name → whether it works.
func infoSection(out, title string) map[string]bool {
	items := map[string]bool{}
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == title:
			in = true
		case !strings.HasPrefix(line, "  "):
			in = false
		case in:
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok {
				items[name] = strings.HasPrefix(strings.TrimSpace(rest), "yes")
			}
		}
	}
	return items
}

// buildUSDT compiles tests/testprogs/usdt.c, a program with USDT notes.
func buildUSDT(t *testing.T) string {
	t.Helper()
	cc := privtest.Tool(t, "cc", "gcc")
	bin := filepath.Join(t.TempDir(), "usdt")
	if out, err := exec.Command(cc, "-O1", "-o", bin, filepath.Join(repoRoot(), "tests", "testprogs", "usdt.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}
