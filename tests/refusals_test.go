package tests

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/probes"
	"golang.org/x/sys/unix"
)

// TestHostileInputBounded runs the hostile scripts through the
// binary (-d none: parse, check and generate code, load nothing): long
// operator chains and many errors end with bounded output and memory,
// never Go's fatal stack overflow or out-of-memory.
func TestHostileInputBounded(t *testing.T) {
	privtest.Require(t) // the compiler reads the kernel's BTF
	bin, _ := binaries(t)
	dir := t.TempDir()
	cases := []struct {
		name, src string
		code      int
		want      string
		maxOut    int
	}{
		{"300000 operators", "BEGIN { $x = 1" + strings.Repeat(" + 1", 300000) + "; exit(); }", 1, "expression nested too deeply", 2000},
		{"9990 operators compile", "BEGIN { $x = 1" + strings.Repeat(" + 1", 9990) + "; exit(); }", 0, "", 0},
		{"15000 indexes", "BEGIN { $x = @a" + strings.Repeat("[1]", 15000) + "; exit(); }", 1, "expression nested too deeply", 2000},
		{"9000 indexes", "BEGIN { $x = @a" + strings.Repeat("[1]", 9000) + "; exit(); }", 1, "too many errors: ", 20 * 600},
	}
	for _, c := range cases {
		file := filepath.Join(dir, "s.bt")
		if err := os.WriteFile(file, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-d", "none", file)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatalf("%s: %v", c.name, err)
		}
		if code != c.code || !strings.Contains(out.String(), c.want) || out.Len() > c.maxOut {
			t.Errorf("%s: exit %d, %d bytes of output, want exit %d, %q and at most %d bytes:\n%.3000s",
				c.name, code, out.Len(), c.code, c.want, c.maxOut, out.String())
		}
		if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss > 400<<10 {
			t.Errorf("%s: %d MiB resident", c.name, rss>>10)
		}
	}
}

// TestTracepointKeepsPerfEvents: while a bpfsh program runs on a
// tracepoint, other perf users of that tracepoint (perf stat, perf record)
// still see its events. A program that returned 0 would drop every event
// for all of them; bpfsh's return 1, as bpftrace's do.
func TestTracepointKeepsPerfEvents(t *testing.T) {
	bin, trig := privBinaries(t)
	idFile := filepath.Join(probes.TracefsRoot(), "events/syscalls/sys_enter_getppid/id")
	data, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// A counting perf event on the tracepoint on every CPU, as perf stat -a opens.
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: id, Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{}))}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	set := onlineSet(t)
	for cpu := 0; cpu < 1024; cpu++ {
		if !set.IsSet(cpu) {
			continue
		}
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			t.Fatalf("perf_event_open on CPU %d: %v", cpu, err)
		}
		fds = append(fds, fd)
	}
	const calls = 1000
	out, err := exec.Command(bin, "-c", trig+" getppid "+strconv.Itoa(calls),
		"-e", `t:syscalls:sys_enter_getppid /pid == cpid/ { @ = count(); }`).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "@: "+strconv.Itoa(calls)) {
		t.Fatalf("bpfsh did not count %d calls:\n%s", calls, out)
	}
	var seen uint64
	for _, fd := range fds {
		buf := make([]byte, 8)
		if _, err := unix.Read(fd, buf); err != nil {
			t.Fatal(err)
		}
		seen += binary.NativeEndian.Uint64(buf)
	}
	if seen < calls {
		t.Errorf("a perf counter on sys_enter_getppid saw %d events while bpfsh traced %d calls: bpfsh's program hid them", seen, calls)
	}
}

func onlineSet(t *testing.T) unix.CPUSet {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestTooManyProgramsOnOneEvent: the kernel runs at most 64 BPF programs on
// one tracepoint; the 65th probe on it fails with that said, not E2BIG.
func TestTooManyProgramsOnOneEvent(t *testing.T) {
	bin, _ := privBinaries(t)
	var src strings.Builder
	for k := 1; k <= 65; k++ {
		src.WriteString("t:syscalls:sys_enter_getppid /pid == " + strconv.Itoa(k) + "/ { @ = count(); }\n")
	}
	script := filepath.Join(t.TempDir(), "many.bt")
	if err := os.WriteFile(script, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, script).CombinedOutput()
	if err == nil {
		t.Fatalf("65 probes on one tracepoint attached:\n%s", out)
	}
	if !strings.Contains(string(out), "at most 64 BPF programs on one event") {
		t.Errorf("want the kernel's limit named:\n%s", out)
	}
}

// TestLostEventsReported overloads a tiny ring buffer with printf records
// from a hot tracepoint: every event is either printed or counted as lost,
// and the loss is reported (text and JSON), never silent.
func TestLostEventsReported(t *testing.T) {
	bin, trig := privBinaries(t)
	const calls = 200000
	prog := `t:syscalls:sys_enter_getppid /pid == cpid/ { printf("ev %s %d\n", "padding-padding-padding-padding-padding-padding", nsecs); }`
	for _, format := range []string{"text", "json"} {
		cmd := exec.Command(bin, "-f", format, "-c", trig+" getppid "+strconv.Itoa(calls), "-e", prog)
		cmd.Env = append(os.Environ(), "BPFSH_PERF_RB_PAGES=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, tail(string(out)))
		}
		printed := strings.Count(string(out), "ev padding-")
		var lost int
		re := regexp.MustCompile(`Lost (\d+) events`)
		if format == "json" {
			re = regexp.MustCompile(`\{"type": "lost_events", "count": \d+, "data": \{"events": (\d+)\}\}`)
		}
		if m := re.FindStringSubmatch(string(out)); m != nil {
			lost, _ = strconv.Atoi(m[1])
		}
		if lost == 0 {
			t.Errorf("%s: no loss reported with a 4 KiB ring buffer (%d of %d printed):\n%s", format, printed, calls, tail(string(out)))
		}
		if printed+lost != calls {
			t.Errorf("%s: printed %d + lost %d = %d, want %d events accounted for", format, printed, lost, printed+lost, calls)
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// TestVerifierRefusalsExplained: what the verifier refuses because of the
// script (a loop that never ends, one that runs too long, too many maps in
// one probe) or of the machine (out of file descriptors) is said with a
// position in the script and what to do, never as "a bpfsh bug" with the
// verifier's log.
func TestVerifierRefusalsExplained(t *testing.T) {
	bin, _ := privBinaries(t)
	dir := t.TempDir()
	var maps5000, fds strings.Builder
	maps5000.WriteString("i:s:1 {")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&maps5000, " @m%d = 1;", i)
	}
	maps5000.WriteString(" }")
	for k := 0; k < 10; k++ {
		fmt.Fprintf(&fds, "i:s:%d {", k+1)
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&fds, " @m%d_%d = 1;", k, i)
		}
		fds.WriteString(" }\n")
	}
	cases := []struct {
		name, src, ulimit string
		want              string // a regexp
	}{
		{"infinite loop", `BEGIN { $i = 0; while ($i < 3) { } }`, "",
			`(?m)^s\.bt:1:\d+: error: .*loop.*\n.*while.*\n *\^\nhint: `},
		{"5000 maps in one probe", maps5000.String(), "",
			`(?m)^s\.bt:1:\d+: error: this probe uses more than 64 maps.*\n.*\n *\^\nhint: `},
		{"out of file descriptors", fds.String(), "200",
			`out of file descriptors: .*\(ulimit -n\)\nHINT: raise the limit`},
	}
	for _, c := range cases {
		file := filepath.Join(dir, "s.bt")
		if err := os.WriteFile(file, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "s.bt")
		if c.ulimit != "" {
			cmd = exec.Command("/bin/sh", "-c", "ulimit -n "+c.ulimit+" && exec \"$0\" s.bt", bin)
		}
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err == nil || strings.Contains(string(out), "bpfsh bug") || !regexp.MustCompile(c.want).Match(out) {
			t.Errorf("%s: exit %v; want a failure matching %q, not a bpfsh bug:\n%.3000s", c.name, err, c.want, out)
		}
	}
}

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

// TestOutputErrorsReported: output that cannot be written (a full file
// system, /dev/full) ends the run with a message on stderr and exit status
// 1; what was left to say (the maps) is said on stderr instead.
func TestOutputErrorsReported(t *testing.T) {
	bin, _ := privBinaries(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	privtest.Need(t, err == nil, "no /dev/full")
	defer full.Close()

	cmd := exec.Command(bin, "-e", `BEGIN { printf("x\n"); @a = 42; exit(); }`)
	cmd.Stdout = full
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("stdout on /dev/full: %v, want exit status 1", err)
	}
	for _, w := range []string{"ERROR: output lost: write /dev/stdout: no space left on device", "@a: 42\n"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stdout on /dev/full: stderr lacks %q:\n%s", w, stderr.String())
		}
	}

	// A file system that fills up mid-run: a private 64 KiB tmpfs.
	dir := t.TempDir()
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=64k tmpfs `+dir+` || exit 9
		`+bin+` -o `+filepath.Join(dir, "out")+` -e 'i:us:200 { @n = count(); printf("%s\n", "0123456789012345678901234567890123456789012345678901234567890123456789"); }'
		echo rc=$?`).CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, w := range []string{"ERROR: output lost: write " + filepath.Join(dir, "out") + ": no space left on device", "@n: ", "rc=1\n"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("-o on a full tmpfs: output lacks %q:\n%s", w, out)
		}
	}
}

// TestOutputSymlinkRefused: -o does not follow a symlink planted in a
// directory others can write (root would overwrite the planter's choice of
// file); in a directory only root writes, a symlink is followed as usual.
func TestOutputSymlinkRefused(t *testing.T) {
	bin, _ := privBinaries(t)
	shared, private := t.TempDir(), t.TempDir()
	os.Chmod(shared, os.ModeSticky|0o777)
	victim := filepath.Join(private, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	os.Symlink(victim, filepath.Join(shared, "out"))
	out, err := exec.Command(bin, "-o", filepath.Join(shared, "out"), "-e", `BEGIN { printf("x\n"); exit(); }`).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to follow a symlink in "+shared) {
		t.Errorf("-o through a planted symlink: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	os.Symlink(victim, filepath.Join(private, "out"))
	if out, err := exec.Command(bin, "-o", filepath.Join(private, "out"), "-e", `BEGIN { printf("x\n"); exit(); }`).CombinedOutput(); err != nil {
		t.Errorf("-o through root's own symlink: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(victim); !strings.Contains(string(b), "x\n") {
		t.Errorf("-o through root's own symlink wrote %q", b)
	}
}
