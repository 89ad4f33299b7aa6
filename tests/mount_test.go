package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bareNamespace runs script with sh in a private mount namespace where
// neither tracefs nor bpffs is mounted (unmounted there, not here; debugfs
// too, whose tracing directory would mount tracefs again when looked at), and
// returns its output.
func bareNamespace(t *testing.T, script string) (string, error) {
	t.Helper()
	const unmount = `for d in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing /sys/fs/bpf; do
		while mountpoint -q $d; do umount -l $d || exit 9; done
	done
	if [ -e /sys/kernel/tracing/events ] || [ -e /sys/kernel/debug/tracing/events ]; then echo "tracefs still there"; exit 9; fi
	set -e
	`
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", unmount+script).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 9 {
		t.Fatalf("cannot prepare a mount namespace without tracefs and bpffs:\n%s", out)
	}
	return string(out), err
}

// TestMountsWhatItNeeds: run as root on a machine where tracefs and bpffs
// are not mounted, bpfsh mounts the one a script needs and says so in one
// line (none with -q); as another user it says which mount is missing.
func TestMountsWhatItNeeds(t *testing.T) {
	bin, _ := privBinaries(t)
	const tracefsLine = "bpfsh: mounted tracefs at /sys/kernel/tracing"
	const bpffsLine = "bpfsh: mounted bpffs at /sys/fs/bpf"
	nonce := strconv.FormatInt(time.Now().UnixNano()%1e9, 10) // the trace buffer outlives the test
	for _, c := range []struct {
		name, script string
		want, not    []string
	}{
		{"tracepoint", `B --dry-run -e 't:syscalls:sys_enter_openat { @ = count(); }'; mountpoint /sys/kernel/tracing`,
			[]string{tracefsLine, "Attached 1 probe", "/sys/kernel/tracing is a mountpoint"}, nil},
		{"quiet", `B -q --dry-run -e 't:syscalls:sys_enter_openat { @ = count(); }'; mountpoint /sys/kernel/tracing`,
			[]string{"/sys/kernel/tracing is a mountpoint"}, []string{"mounted"}},
		{"not needed", `B -e 'BEGIN { printf("hi\n"); exit(); }'; ! mountpoint -q /sys/kernel/tracing`,
			[]string{"hi"}, []string{"mounted"}},
		{"debugf", `B -e 'BEGIN { debugf("bpfsh-debugf-%d", ` + nonce + `); exit(); }'; grep -o 'bpfsh-debugf-[0-9]*' /sys/kernel/tracing/trace`,
			[]string{tracefsLine, "bpfsh-debugf-" + nonce}, nil},
		{"pin", `B --pin mnt-test -e 't:syscalls:sys_enter_getppid { @ = count(); }'; B pins; B unpin mnt-test`,
			[]string{bpffsLine, "mnt-test", "unpinned mnt-test"}, nil},
		{"pins", `B pins; mountpoint /sys/fs/bpf`, []string{bpffsLine, "/sys/fs/bpf is a mountpoint"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := bareNamespace(t, strings.ReplaceAll(c.script, "B ", bin+" "))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
			for _, l := range []string{tracefsLine, bpffsLine} {
				if strings.Count(out, l) > 1 {
					t.Errorf("%q more than once:\n%s", l, out)
				}
			}
		})
	}

	// Not root: nothing is mounted, and the error says how to.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	nb := filepath.Join(dir, "bpfsh")
	if err := os.WriteFile(nb, data, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := "setpriv --reuid=65534 --regid=65534 --clear-groups " + nb
	for _, c := range []struct{ args, want string }{
		{`-e 't:syscalls:sys_enter_openat { @ = count(); }'`, "mount -t tracefs nodev /sys/kernel/tracing"},
		{`pins`, "mount -t bpf bpf /sys/fs/bpf"},
	} {
		// Exit 0 only when bpfsh failed and nothing was mounted.
		out, err := bareNamespace(t, "if "+asNobody+" "+c.args+"; then exit 1; fi; ! mountpoint -q /sys/kernel/tracing; ! mountpoint -q /sys/fs/bpf")
		if err != nil || !strings.Contains(out, c.want) || strings.Contains(out, "bpfsh: mounted") {
			t.Errorf("as nobody, bpfsh %s: %v; want a failure naming %q and no mount:\n%s", c.args, err, c.want, out)
		}
	}
}
