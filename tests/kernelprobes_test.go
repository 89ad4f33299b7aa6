package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestKernelProbesWithoutKernelSupport: on a kernel without kprobes or BPF
// trampolines (this machine kind), the USB scripts and one-liners fail at
// once with one clear line saying what the kernel lacks, not an errno.
// (The VM test, make vmtest, runs them on a kernel that has both.)
func TestKernelProbesWithoutKernelSupport(t *testing.T) {
	bin, _ := binaries(t)
	if exists("/sys/kernel/tracing/kprobe_events") || exists("/sys/bus/event_source/devices/kprobe") {
		privtest.Inapplicable(t, "it has kprobes (make vmtest runs them)")
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

// TestKernelProbesOverrideWithoutKernelSupport: the scripts that act on the kernel
// (override(), fmod_ret, lsm) fail before loading anything with one line per
// probe saying what this kernel lacks. (tests/vm runs them where they work:
// cases 30-usb-firewall, 31-syscall-firewall, 32-override.)
func TestKernelProbesOverrideWithoutKernelSupport(t *testing.T) {
	bin, _ := binaries(t)
	if readable("/sys/kernel/tracing/available_filter_functions") {
		privtest.Inapplicable(t, "it has ftrace, so BPF trampolines may work (make vmtest runs them)")
	}
	noTrampolines := "are not available: this kernel cannot attach BPF trampolines (ftrace is unavailable)"
	for _, c := range []struct {
		args []string
		want []string // every line of the diagnostics that is an error says one of these
	}{
		{[]string{"--unsafe", filepath.Join(repoRoot(), "examples", "usb-firewall.bt"), "0x46f4", "0x0001"},
			[]string{"fentry/fexit " + noTrampolines, "lsm probes " + noTrampolines}},
		{[]string{"--unsafe", filepath.Join(repoRoot(), "examples", "syscall-firewall.bt"), "nc"},
			[]string{"lsm probes " + noTrampolines}},
		{[]string{"--unsafe", "-e", "fmod_ret:security_file_open { override(EPERM); }"}, []string{"fmod_ret probes " + noTrampolines}},
		{[]string{"--unsafe", "-e", "lsm:file_open { override(EPERM); }"}, []string{"lsm probes " + noTrampolines}},
		{[]string{"--unsafe", "-e", "fentry:security_file_open { override(EPERM); }"}, []string{"fentry/fexit " + noTrampolines}},
		{[]string{"-l", "fmod_ret:*"}, []string{"fmod_ret probes " + noTrampolines}},
		{[]string{"-l", "lsm:*"}, []string{"lsm probes " + noTrampolines}},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if err == nil {
			t.Errorf("bpfsh %v succeeded:\n%s", c.args, out)
			continue
		}
		errors := 0
		for _, line := range strings.Split(string(out), "\n") {
			if !strings.Contains(line, "error:") && !strings.HasPrefix(line, "ERROR:") {
				continue
			}
			errors++
			ok := false
			for _, w := range c.want {
				ok = ok || strings.Contains(line, w)
			}
			if !ok {
				t.Errorf("bpfsh %v: unexpected error line %q", c.args, line)
			}
		}
		if errors == 0 || strings.Contains(string(out), "errno") || strings.Contains(string(out), "operation not permitted") {
			t.Errorf("bpfsh %v: want only lines saying what the kernel lacks:\n%s", c.args, out)
		}
	}
	// override() needs either bpf_override_return (kprobes) or trampolines.
	want := "override() is not possible on this kernel: it has neither bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE) nor BPF trampolines for fmod_ret"
	if exists("/sys/kernel/tracing/kprobe_events") || exists("/sys/bus/event_source/devices/kprobe") {
		t.Log("this kernel has kprobes: skipping the kprobe override checks")
		return
	}
	out, err := exec.Command(bin, "-l", "override:*").CombinedOutput()
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("-l override:*: err %v, want %q:\n%s", err, want, out)
	}
	out, err = exec.Command(bin, "--unsafe", "-e", "kprobe:security_file_open { override(EPERM); }").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "kprobes are not available: this kernel was built without CONFIG_KPROBES") {
		t.Errorf("kprobe override: err %v:\n%s", err, out)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readable reports whether p has at least one byte to read (ftrace's
// function list is empty while ftrace is disabled).
func readable(p string) bool {
	f, err := os.Open(p)
	if err == nil {
		defer f.Close()
		_, err = f.Read(make([]byte, 1)) // io.EOF when empty
	}
	return err == nil
}
