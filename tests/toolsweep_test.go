package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

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
