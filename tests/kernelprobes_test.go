package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelProbesWithoutKernelSupport: on a kernel without kprobes or BPF
// trampolines (this machine kind), the USB scripts and one-liners fail at
// once with one clear line saying what the kernel lacks, not an errno.
// (The VM test, make vmtest, runs them on a kernel that has both.)
func TestKernelProbesWithoutKernelSupport(t *testing.T) {
	bin, _ := binaries(t)
	haveKprobes := exists("/sys/kernel/tracing/kprobe_events") || exists("/sys/bus/event_source/devices/kprobe")
	if haveKprobes {
		t.Log("this kernel has kprobes: checking that the examples compile instead")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(repoRoot(), "examples", "usb-events.bt")}, "kprobes are not available: this kernel was built without CONFIG_KPROBES"},
		{[]string{filepath.Join(repoRoot(), "examples", "usb-traffic.bt")}, "kprobes are not available: this kernel was built without CONFIG_KPROBES"},
		{[]string{"-e", "kretprobe:vfs_read { @ = count(); }"}, "kprobes are not available"},
		{[]string{"-l", "kprobe:vfs_*"}, "kprobes are not available"},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if haveKprobes {
			continue
		}
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("bpfsh %v: err %v, want failure saying %q:\n%s", c.args, err, c.want, out)
		}
		if strings.Contains(string(out), "errno") || strings.Contains(string(out), "operation not permitted") {
			t.Errorf("bpfsh %v: the message should not be an errno:\n%s", c.args, out)
		}
	}
	if readable("/sys/kernel/tracing/available_filter_functions") {
		return // ftrace works: trampolines may too
	}
	out, err := exec.Command(bin, "-e", "fentry:vfs_read { @ = count(); }").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "fentry/fexit are not available: this kernel cannot attach BPF trampolines") {
		t.Errorf("fentry: err %v, want the trampoline message:\n%s", err, out)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readable(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [1]byte
	n, _ := f.Read(b[:])
	return n == 1
}
