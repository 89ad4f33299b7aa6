package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// freshBPFFS runs script with sh in a private mount namespace on a bpffs of
// its own (B is the bpfsh binary, NOBODY runs a command as uid 65534), so a
// test can plant directories in /sys/fs/bpf/bpfsh without touching the
// machine's pins; the namespace's pins go with it.
func freshBPFFS(t *testing.T, script string) (string, error) {
	t.Helper()
	bin, _ := binaries(t)
	script = strings.NewReplacer("B ", bin+" ", "NOBODY ", "setpriv --reuid=65534 --regid=65534 --clear-groups ").Replace(script)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		"mount -t bpf bpf /sys/fs/bpf || exit 9\n"+script)
	cmd.Dir = t.TempDir() // for the files a script writes
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 9 {
		t.Fatalf("cannot mount a private bpffs:\n%s", out)
	}
	return string(out), err
}

const pinProbe = `t:syscalls:sys_enter_getppid { @ = count(); }`

// TestPinUntrustedDirectory: bpffs is 1777, so another user can make
// /sys/fs/bpf/bpfsh (or a policy's directory) before root pins; bpfsh
// refuses to pin, list or unpin through a directory root does not own
// alone, and makes its own 0700.
func TestPinUntrustedDirectory(t *testing.T) {
	privtest.Require(t)
	for _, c := range []struct {
		name, script string
		want         []string
	}{
		{"planted by nobody", `NOBODY mkdir -m777 /sys/fs/bpf/bpfsh /sys/fs/bpf/bpfsh/p
			! B --pin p -e '` + pinProbe + `' && ! B pins && ! B unpin p && ! [ -e /sys/fs/bpf/bpfsh/p/link0 ]`,
			[]string{"refusing to use /sys/fs/bpf/bpfsh: it is owned by uid 65534, not root"}},
		{"group-writable root", `mkdir -m775 /sys/fs/bpf/bpfsh; chmod 775 /sys/fs/bpf/bpfsh; ! B --pin p -e '` + pinProbe + `'`,
			[]string{"refusing to use /sys/fs/bpf/bpfsh: it is writable by group or others (mode 0775)"}},
		{"symlink", `mkdir /sys/fs/bpf/elsewhere; ln -s elsewhere /sys/fs/bpf/bpfsh; ! B --pin p -e '` + pinProbe + `'`,
			[]string{"refusing to use /sys/fs/bpf/bpfsh: it is not a directory"}},
		{"policy directory", `mkdir -m700 /sys/fs/bpf/bpfsh; mkdir -m777 /sys/fs/bpf/bpfsh/p; chmod 777 /sys/fs/bpf/bpfsh/p
			! B --pin p -e '` + pinProbe + `' && ! B unpin p && B pins`,
			[]string{"refusing to use /sys/fs/bpf/bpfsh/p: it is writable by group or others (mode 0777)",
				"INCOMPLETE: refusing to use /sys/fs/bpf/bpfsh/p"}},
		{"made 0700", `B --pin p -e '` + pinProbe + `' && stat -c '%a %u %n' /sys/fs/bpf/bpfsh /sys/fs/bpf/bpfsh/p
			NOBODY ls /sys/fs/bpf/bpfsh || echo nobody cannot list`,
			[]string{"700 0 /sys/fs/bpf/bpfsh\n", "700 0 /sys/fs/bpf/bpfsh/p\n", "nobody cannot list"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := freshBPFFS(t, "set -e\n"+c.script)
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestPinAllOrNothing: a --pin whose later probe fails to attach leaves no
// policy behind (new) or the old one exactly as it was (replacement).
func TestPinAllOrNothing(t *testing.T) {
	privtest.Require(t)
	out, err := freshBPFFS(t, `set -e
		! B --pin half -e 't:syscalls:sys_enter_openat { @ = count(); } xdp:nonexist0 { pass; }'
		echo rc=$?; [ ! -e /sys/fs/bpf/bpfsh/half ] && echo no half
		B --pin keep -e '`+pinProbe+`'
		ls /sys/fs/bpf/bpfsh/keep > before
		! B --pin keep -e 't:syscalls:sys_enter_getppid { @ = sum(2); } t:syscalls:sys_enter_getpid { } xdp:nonexist0 { pass; }'
		ls /sys/fs/bpf/bpfsh/keep | diff before - && echo same files
		B pins`)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, w := range []string{"attach xdp:nonexist0", "no half", "same files", "keep\ttracepoint:syscalls:sys_enter_getppid\t", pinProbe} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, bad := range []string{"INCOMPLETE", "half\t", "getpid"} {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%s", bad, out)
		}
	}
}

// TestPinFlags: --dry-run --pin checks without pinning or mounting; --pin
// refuses what it cannot do, saying why.
func TestPinFlags(t *testing.T) {
	privtest.Require(t)
	out, err := freshBPFFS(t, `
		B --dry-run --pin dry -e '`+pinProbe+`'; echo rc=$?
		[ ! -e /sys/fs/bpf/bpfsh ] && echo nothing made
		while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf; done
		B --dry-run --pin dry -e '`+pinProbe+`' >/dev/null; echo rc=$?
		mountpoint -q /sys/fs/bpf || echo nothing mounted`)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, w := range []string{"dry run: dry would be pinned: tracepoint:syscalls:sys_enter_getppid\nrc=0\n", "nothing made", "rc=0\nnothing mounted"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run: output lacks %q:\n%s", w, out)
		}
	}
	bin, _ := binaries(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pin", ""}, "--pin needs a policy name"},
		{[]string{"--pin", ".hidden"}, "bpffs reserves names with a '.'"},
		{[]string{"--pin", "a/b"}, `invalid pin name "a/b"`},
		{[]string{"--pin", "x", "-c", "true"}, "--pin cannot be used with -c"},
		{[]string{"-c", "true", "--pin", "x"}, "--pin cannot be used with -c"},
	} {
		out, err := exec.Command(bin, append(c.args, "-e", pinProbe)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "Attached") {
			t.Errorf("bpfsh %q: %v\n%s\nwant an error saying %q", c.args, err, out, c.want)
		}
	}
}

// TestPinConcurrent: pins of one name at once wait for each other; every
// one succeeds and the result is one complete policy.
func TestPinConcurrent(t *testing.T) {
	privtest.Require(t)
	out, err := freshBPFFS(t, `
		for i in 1 2 3 4 5 6; do (B --pin same -e 't:syscalls:sys_enter_getppid { @ = count(); } t:syscalls:sys_enter_getpid { }' > out$i 2>&1 || echo FAILED) & done
		wait; cat out*
		B pins; ls /sys/fs/bpf/bpfsh/same`)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if strings.Contains(out, "FAILED") || strings.Count(out, "same: tracepoint:syscalls") != 6 || strings.Contains(out, "INCOMPLETE") ||
		!regexp.MustCompile(`\nlink\d+\nlink\d+\nmeta\n$`).MatchString(out) {
		t.Errorf("6 concurrent pins of one name:\n%s", out)
	}
}

// TestPinKilled: a --pin killed at any moment leaves either nothing, the
// complete policy, or one that bpfsh pins calls incomplete; unpin removes
// it whatever state it is in, links included.
func TestPinKilled(t *testing.T) {
	bin, _ := privBinaries(t)
	name := testPolicy(t, bin, "bpfsh-killed")
	dir := filepath.Join("/sys/fs/bpf/bpfsh", name)
	seen := map[string]int{}
	for round := 0; round < 8; round++ {
		cmd := exec.Command(bin, "--pin", name, "-e", `t:syscalls:sys_enter_get* { }`)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill as soon as the policy's directory appears (mid-switch),
		// or after a delay that lands while links are being attached.
		var once sync.Once
		kill := func() { once.Do(func() { cmd.Process.Signal(syscall.SIGKILL) }) }
		time.AfterFunc(time.Duration(round%4)*20*time.Millisecond+5*time.Millisecond, func() {
			if round%2 == 1 {
				kill()
			}
		})
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
			if _, err := os.Stat(dir); err == nil {
				if ents, _ := os.ReadDir(dir); len(ents) > 1+round%3 {
					kill()
					break
				}
			}
			if cmd.ProcessState != nil {
				break
			}
		}
		kill()
		cmd.Wait()
		pins := run(t, bin, "pins")
		_, err := os.Stat(dir)
		_, pending := os.Stat(filepath.Join(dir, "pending"))
		switch {
		case err != nil:
			seen["nothing"]++
			if strings.Contains(pins, name) {
				t.Errorf("round %d: no directory, yet pins lists %s:\n%s", round, name, pins)
			}
			continue
		case strings.Contains(pins, "INCOMPLETE: ") && strings.Contains(pins, "unpin "+name):
			seen["incomplete"]++
		case pending == nil:
			t.Errorf("round %d: a pending description, yet pins does not call %s incomplete:\n%s", round, name, pins)
		default:
			seen["complete"]++
		}
		run(t, bin, "unpin", name)
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("round %d: unpin left %s", round, dir)
		}
	}
	t.Logf("states after SIGKILL: %v", seen)
	if seen["incomplete"] == 0 {
		t.Logf("no kill landed mid-switch this time")
	}
}

// testPolicy names a policy for this test (prefix and the test's pid), and
// unpins it when the test ends.
func testPolicy(t *testing.T, bin, prefix string) string {
	name := fmt.Sprintf("%s-%d", prefix, os.Getpid())
	t.Cleanup(func() { exec.Command(bin, "unpin", name).Run() })
	return name
}

// pinnedProgID is the program behind a pinned policy's link.
func pinnedProgID(t *testing.T, name, file string) uint32 {
	return uint32(pinnedLink(t, name, file).Program)
}

// pinnedLink describes one of a pinned policy's links.
func pinnedLink(t *testing.T, name, file string) *link.Info {
	t.Helper()
	l, err := link.LoadPinnedLink(filepath.Join("/sys/fs/bpf/bpfsh", name, file), nil)
	if err != nil {
		t.Fatalf("load pinned link: %v", err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestSockopsRepinFailureKeepsPolicy: re-pinning a sockops policy with a
// script that fails leaves the old program behind the same link, whether
// the failure comes before the switch (a probe that cannot attach) or in
// it (the sockops link already updated, then the XDP link's interface is
// gone): the update is reverted.
func TestSockopsRepinFailureKeepsPolicy(t *testing.T) {
	bin, _ := privBinaries(t)
	name := testPolicy(t, bin, "bpfsh-repin")
	ns := netns(t, 12371)
	p := newVethPair(t)
	pin := func(script string) (string, error) {
		out, err := exec.Command("nsenter", "--net=/run/netns/"+p.b, bin, "--unsafe", "--pin", name, "-e", script).CombinedOutput()
		return string(out), err
	}
	const rto3 = `sockops /op == TIMEOUT_INIT && rport == 12371/ { reply = 3s; } xdp:pb { pass; }`
	if out, err := pin(rto3); err != nil {
		t.Fatalf("--pin: %v\n%s", err, out)
	}
	sockopsProg, xdpProg := pinnedProgID(t, name, "link0"), pinnedProgID(t, name, "link1")
	check := func(when string) {
		t.Helper()
		if got := pinnedProgID(t, name, "link0"); got != sockopsProg {
			t.Errorf("%s: the sockops link runs program %d, want the old %d", when, got, sockopsProg)
		}
		if rto := firstRTO(t, ns, 12371); rto != 3000000 {
			t.Errorf("%s: tcpi_rto = %d µs, want the old policy's 3000000", when, rto)
		}
		pins := run(t, bin, "pins")
		if !strings.Contains(pins, "reply = 3s") || strings.Contains(pins, "INCOMPLETE") {
			t.Errorf("%s: bpfsh pins does not show the old policy, complete:\n%s", when, pins)
		}
	}
	const rto2 = `sockops /op == TIMEOUT_INIT && rport == 12371/ { reply = 2s; } xdp:pb { pass; }`
	out, err := pin(rto2 + ` xdp:nonexist0 { pass; }`)
	if err == nil || !strings.Contains(out, "attach xdp:nonexist0") {
		t.Errorf("re-pin with a probe that cannot attach: %v\n%s", err, out)
	}
	check("after a failed attach")
	if got := pinnedProgID(t, name, "link1"); got != xdpProg {
		t.Errorf("the XDP link runs program %d, want the old %d", got, xdpProg)
	}
	// With pb gone the XDP link is severed: updating it fails after the
	// sockops link has been updated.
	run(t, "ip", "-n", p.b, "link", "del", "pb")
	out, err = pin(rto2)
	if err == nil || !strings.Contains(out, "replace the program of xdp:pb") {
		t.Errorf("re-pin with a severed XDP link: %v\n%s", err, out)
	}
	check("after a failed update")
}

// TestUnsafeGatesPolicies: without --unsafe a script that drops packets or
// writes sock_ops fields is refused before anything is loaded, pinned or
// not, with the statement's position.
func TestUnsafeGatesPolicies(t *testing.T) {
	privtest.Require(t)
	out, err := freshBPFFS(t, `
		B --pin cut -e 'xdp:lo { drop; }'; echo rc=$?
		[ ! -e /sys/fs/bpf/bpfsh/cut ] && echo nothing pinned
		B `+filepath.Join(repoRoot(), "examples", "syn-rto.bt")+`; echo rc=$?`)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, w := range []string{
		"stdin:1:10: error: drop discards packets: run bpfsh with --unsafe to allow it\nxdp:lo { drop; }\n         ^~~~\nrc=1\nnothing pinned",
		"syn-rto.bt:3:50: error: reply changes the kernel's TCP behaviour: run bpfsh with --unsafe to allow it",
		"rc=1\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Attached") {
		t.Errorf("a refused script was attached:\n%s", out)
	}
}

// TestScriptTrust: run as root, a script someone else could have changed
// (its owner, group or world write on it or on a directory above it without
// the sticky bit) gets a warning naming who; --pin refuses it unless
// --trust-script; a root-owned script in sticky /tmp gets no warning.
func TestScriptTrust(t *testing.T) {
	bin, _ := privBinaries(t)
	base := t.TempDir() // under sticky /tmp, root's, 0700
	os.Chmod(base, 0o755)
	script := func(dir string, mode os.FileMode, uid, gid int) string {
		os.MkdirAll(dir, 0o755)
		p := filepath.Join(dir, "policy.bt")
		os.WriteFile(p, []byte(pinProbe+"\n"), 0o644)
		os.Chmod(p, mode)
		os.Chown(p, uid, gid)
		return p
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"owner", script(filepath.Join(base, "a"), 0o644, 65534, 0), "file " + base + "/a/policy.bt is owned by nobody (uid 65534)"},
		{"group", script(filepath.Join(base, "b"), 0o664, 0, 65534), "file " + base + "/b/policy.bt is writable by group nogroup"},
		{"directory", script(filepath.Join(base, "c", "d"), 0o644, 0, 0), "directory " + base + "/c is writable by everyone"},
		{"sticky", script(filepath.Join(base, "e"), 0o644, 0, 0), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "directory" {
				os.Chmod(filepath.Join(base, "c"), 0o777)
			}
			if c.name == "sticky" {
				os.Chmod(filepath.Join(base, "e"), os.ModeSticky|0o777)
			}
			out, err := exec.Command(bin, "-d", "none", c.file).CombinedOutput()
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if c.want == "" && len(out) != 0 || !strings.Contains(string(out), c.want) {
				t.Errorf("output %q, want a warning with %q", out, c.want)
			}
			if c.want == "" {
				return
			}
			pinOut, err := freshBPFFS(t, "B --pin p "+c.file+"; echo rc=$?; [ ! -e /sys/fs/bpf/bpfsh/p ] && echo nothing pinned\n"+
				"B --trust-script --pin p "+c.file)
			if err != nil {
				t.Fatalf("%v:\n%s", err, pinOut)
			}
			for _, w := range []string{"ERROR: refusing to pin " + c.file, c.want, "--trust-script\nrc=1\nnothing pinned\n", "WARNING: ", "pinned p: "} {
				if !strings.Contains(pinOut, w) {
					t.Errorf("--pin: output lacks %q:\n%s", w, pinOut)
				}
			}
		})
	}
}

// These tests check TCP policy set by sockops scripts against what the
// kernel does, observed without bpfsh: packet captures and TCP_INFO.

// tcpprobe is the TCP_INFO helper program (tests/tcpprobe).
func tcpprobe(t *testing.T) string { return helperBinary(t, "tcpprobe") }

// netns makes a network namespace with lo up; dropSYN ports get their SYNs
// dropped by nftables so that connects retransmit.
func netns(t *testing.T, dropSYN ...int) string {
	t.Helper()
	privtest.Tool(t, "ip", "iproute2")
	if len(dropSYN) > 0 {
		privtest.Tool(t, "nft", "nftables")
	}
	name := fmt.Sprintf("bpfsh-%s-%d", strings.ToLower(t.Name()), os.Getpid())
	name = regexp.MustCompile(`[^a-z0-9-]`).ReplaceAllString(name, "-")
	if len(name) > 40 {
		name = name[:40]
	}
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	if len(dropSYN) > 0 {
		var ports []string
		for _, p := range dropSYN {
			ports = append(ports, strconv.Itoa(p))
		}
		run(t, "ip", "netns", "exec", name, "nft", "add table inet bpfsh_t")
		run(t, "ip", "netns", "exec", name, "nft", "add chain inet bpfsh_t in { type filter hook input priority 0 ; }")
		run(t, "ip", "netns", "exec", name, "nft", "add rule inet bpfsh_t in tcp dport { "+strings.Join(ports, ", ")+" } tcp flags syn drop")
	}
	return name
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startBpfsh runs bpfsh with args and waits for its attach line.
func startBpfsh(t *testing.T, args ...string) (stop func() string) {
	t.Helper()
	bin, _ := binaries(t)
	return startAttached(t, exec.Command(bin, args...))
}

// startAttached starts cmd (a bpfsh) and waits for its attach line.
func startAttached(t *testing.T, cmd *exec.Cmd) (stop func() string) {
	t.Helper()
	args := cmd.Args
	var out bytes.Buffer
	pr, pw, _ := os.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	attached := make(chan bool, 1)
	var stdout bytes.Buffer
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			stdout.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Attached ") {
				attached <- true
			}
		}
		attached <- false
	}()
	select {
	case ok := <-attached:
		if !ok {
			cmd.Wait()
			t.Fatalf("bpfsh %v exited before attaching:\n%s", args, out.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("bpfsh %v did not attach in 10 s:\n%s", args, out.String())
	}
	done := false
	stop = func() string {
		if done {
			return ""
		}
		done = true
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		mu.Lock()
		defer mu.Unlock()
		return stdout.String() + out.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// synTimes captures the SYNs sent to each port on lo in ns for d and returns
// their timestamps (seconds) by destination port.
func synTimes(t *testing.T, ns string, d time.Duration, ports ...int) map[int][]float64 {
	t.Helper()
	probe := tcpprobe(t)
	privtest.Tool(t, "tcpdump", "tcpdump")
	cap := exec.Command("ip", "netns", "exec", ns, "tcpdump", "-i", "lo", "-n", "-tt", "-l", "-U",
		"tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0")
	var capOut, capErr bytes.Buffer
	cap.Stdout, cap.Stderr = &capOut, &capErr
	if err := cap.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	// Wait until tcpdump listens.
	for i := 0; i < 100 && !strings.Contains(capErr.String(), "listening"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	var wg sync.WaitGroup
	secs := strconv.Itoa(int(d.Seconds()))
	for _, p := range ports {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			exec.Command("ip", "netns", "exec", ns, probe, "syn", fmt.Sprintf("127.0.0.1:%d", p), secs).Run()
		}(p)
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	cap.Process.Signal(syscall.SIGINT)
	cap.Wait()
	re := regexp.MustCompile(`^(\d+\.\d+) IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.(\d+): Flags \[S\]`)
	out := map[int][]float64{}
	for _, line := range strings.Split(capOut.String(), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseFloat(m[1], 64)
		port, _ := strconv.Atoi(m[2])
		out[port] = append(out[port], ts)
	}
	return out
}

// checkIntervals checks the first SYN retransmit intervals: the kernel keeps
// the first net.ipv4.tcp_syn_linear_timeouts (4) linear, then backs off.
func checkIntervals(t *testing.T, port int, times []float64, want float64, minSYNs int) {
	t.Helper()
	if len(times) < minSYNs {
		t.Errorf("port %d: %d SYNs captured, want at least %d: %v", port, len(times), minSYNs, times)
		return
	}
	for i := 1; i < len(times) && i <= 4; i++ {
		got := times[i] - times[i-1]
		if math.Abs(got-want) > want*0.1 {
			t.Errorf("port %d: SYN %d came %.3f s after the previous one, want %.1f s ±10%% (all: %v)", port, i, got, want, times)
		}
	}
}

// firstRTO runs tcpprobe syn and returns the first tcpi_rto it reports (µs).
func firstRTO(t *testing.T, ns string, port int) int {
	t.Helper()
	out := run(t, "ip", "netns", "exec", ns, tcpprobe(t), "syn", fmt.Sprintf("127.0.0.1:%d", port), "1")
	var rto int
	if _, err := fmt.Sscanf(out, "rto_us %d", &rto); err != nil {
		t.Fatalf("tcpprobe output %q: %v", out, err)
	}
	return rto
}

func TestSockopsSynRTO(t *testing.T) {
	privtest.Require(t)
	ns := netns(t, 12345, 12346)
	// Run through its shebang line, which carries --unsafe for reply.
	bin, _ := binaries(t)
	cmd := exec.Command(filepath.Join(repoRoot(), "examples", "syn-rto.bt"))
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	stop := startAttached(t, cmd)
	times := synTimes(t, ns, 7*time.Second, 12345, 12346)
	// 12345: SYNs at 0, 3 and 6 s; 12346 keeps the kernel's 1 s.
	checkIntervals(t, 12345, times[12345], 3.0, 3)
	checkIntervals(t, 12346, times[12346], 1.0, 5)
	if rto := firstRTO(t, ns, 12345); rto != 3000000 {
		t.Errorf("tcpi_rto for port 12345 = %d µs, want 3000000", rto)
	}
	if rto := firstRTO(t, ns, 12346); rto != 1000000 {
		t.Errorf("tcpi_rto for port 12346 = %d µs, want 1000000", rto)
	}
	stop()
	if rto := firstRTO(t, ns, 12345); rto != 1000000 {
		t.Errorf("after bpfsh exited, tcpi_rto for port 12345 = %d µs, want the default 1000000", rto)
	}
}

func TestSockopsInitialCwnd(t *testing.T) {
	privtest.Require(t)
	ns := netns(t)
	startBpfsh(t, "--unsafe", filepath.Join(repoRoot(), "examples", "cwnd-by-port.bt"))
	cwnd := func(port int) string {
		return strings.TrimSpace(run(t, "ip", "netns", "exec", ns, tcpprobe(t), "cwnd", fmt.Sprintf("127.0.0.1:%d", port)))
	}
	if got := cwnd(12345); !strings.HasPrefix(got, "snd_cwnd 40 ") {
		t.Errorf("port 12345: %s, want snd_cwnd 40", got)
	}
	if got := cwnd(12347); !strings.HasPrefix(got, "snd_cwnd 10 ") {
		t.Errorf("port 12347: %s, want the default snd_cwnd 10", got)
	}
}

// TestSockopsCallbacksAndCongestion: STATE_CB fires only because bpfsh turns
// its callback flag on; TCP_CONGESTION takes a string; laddr/raddr print as
// addresses and lport/rport in host order.
func TestSockopsCallbacksAndCongestion(t *testing.T) {
	privtest.Require(t)
	ns := netns(t)
	stop := startBpfsh(t, "--unsafe", "-e", `
sockops /op == ACTIVE_ESTABLISHED_CB && rport == 12349/ { setsockopt(SOL_TCP, TCP_CONGESTION, "reno"); }
sockops /op == STATE_CB && rport == 12349/ { printf("state %s:%d -> %s:%d new=%d\n", ntop(laddr), lport, ntop(raddr), rport, args.arg1); }`)
	out := run(t, "ip", "netns", "exec", ns, tcpprobe(t), "cwnd", "127.0.0.1:12349")
	if !strings.HasSuffix(strings.TrimSpace(out), "cc reno") {
		t.Errorf("congestion control: %q, want reno", out)
	}
	run(t, "ip", "netns", "exec", ns, tcpprobe(t), "cwnd", "[::1]:12349")
	out2 := run(t, "ip", "netns", "exec", ns, tcpprobe(t), "cwnd", "127.0.0.1:12350")
	if strings.HasSuffix(strings.TrimSpace(out2), "cc reno") {
		t.Errorf("port 12350 got reno too: %q", out2)
	}
	time.Sleep(200 * time.Millisecond)
	got := stop()
	re := regexp.MustCompile(`state 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:12349 new=\d+`)
	if !re.MatchString(got) {
		t.Errorf("no STATE_CB events in:\n%s", got)
	}
	re6 := regexp.MustCompile(`state ::1:\d+ -> ::1:12349 new=\d+`)
	if !re6.MatchString(got) {
		t.Errorf("no IPv6 STATE_CB events in:\n%s", got)
	}
}

// TestSockopsBareIntegerWarns: a bare integer reply for TIMEOUT_INIT is
// jiffies, and bpfsh says so; a duration shows its conversion in -d asm.
func TestSockopsBareIntegerWarns(t *testing.T) {
	bin, _ := privBinaries(t)
	out, _ := exec.Command(bin, "--unsafe", "-d", "asm", "-e", "sockops /op == TIMEOUT_INIT/ { reply = 750; }").CombinedOutput()
	if !strings.Contains(string(out), "warning: 750 is taken as jiffies") || !strings.Contains(string(out), "hint: write a duration") {
		t.Errorf("no jiffies warning:\n%s", out)
	}
	out, _ = exec.Command(bin, "--unsafe", "-d", "asm", "-e", "sockops /op == TIMEOUT_INIT/ { reply = 250ms; }").CombinedOutput()
	if !regexp.MustCompile(`250ms = \d+ jiffies \(HZ=\d+ from `).Match(out) {
		t.Errorf("-d asm does not show the jiffies conversion:\n%s", out)
	}
}

func TestSockopsPin(t *testing.T) {
	bin, _ := privBinaries(t)
	name := testPolicy(t, bin, "bpfsh-test")
	ns := netns(t, 12345)

	out := run(t, bin, "--unsafe", "--pin", name, filepath.Join(repoRoot(), "examples", "syn-rto.bt"))
	if !strings.Contains(out, "pinned "+name+": sockops:") {
		t.Errorf("--pin said %q", out)
	}
	// bpfsh has exited; the policy is still in force.
	if rto := firstRTO(t, ns, 12345); rto != 3000000 {
		t.Errorf("pinned policy: tcpi_rto = %d µs, want 3000000", rto)
	}
	times := synTimes(t, ns, 4*time.Second, 12345)
	checkIntervals(t, 12345, times[12345], 3.0, 2)

	pins := run(t, bin, "pins")
	for _, want := range []string{name, "sockops:", "reply = 3s"} {
		if !strings.Contains(pins, want) {
			t.Errorf("bpfsh pins does not show %q:\n%s", want, pins)
		}
	}

	// Re-pinning replaces the program behind the same link: no gap.
	before := pinnedLink(t, name, "link0").ID
	script := filepath.Join(t.TempDir(), "syn2.bt")
	os.WriteFile(script, []byte("sockops /op == TIMEOUT_INIT && rport == 12345/ { reply = 2s; }\n"), 0o644)
	out = run(t, bin, "--unsafe", "--pin", name, script)
	if !strings.Contains(out, "replaced "+name) {
		t.Errorf("re-pin said %q", out)
	}
	if after := pinnedLink(t, name, "link0").ID; after != before {
		t.Errorf("re-pinning made a new link (%d → %d): the policy was detached in between", before, after)
	}
	if rto := firstRTO(t, ns, 12345); rto != 2000000 {
		t.Errorf("after re-pin: tcpi_rto = %d µs, want 2000000", rto)
	}

	run(t, bin, "unpin", name)
	if pins := run(t, bin, "pins"); strings.Contains(pins, name) {
		t.Errorf("after unpin, bpfsh pins still shows %s:\n%s", name, pins)
	}
	if rto := firstRTO(t, ns, 12345); rto != 1000000 {
		t.Errorf("after unpin: tcpi_rto = %d µs, want the default 1000000", rto)
	}
}

// Packet probes on real interfaces: two network namespaces joined by a veth
// pair, 10.213.0.1 and fd00:213::1 (the peer, "a") sending to 10.213.0.2
// and fd00:213::2 (the receiver, "b"). bpfsh runs inside one of them.

// pkttool is the packet sender (tests/pkttool).
func pkttool(t *testing.T) string { return helperBinary(t, "pkttool") }

// vethPair is two namespaces joined by veth: interface "pa" in a, "pb" in b.
type vethPair struct {
	a, b string
	macB string
}

const (
	peer4, recv4 = "10.213.0.1", "10.213.0.2"
	peer6, recv6 = "fd00:213::1", "fd00:213::2"
)

func newVethPair(t *testing.T) *vethPair {
	t.Helper()
	base := fmt.Sprintf("bpfsh-pkt-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	p := &vethPair{a: base + "-a", b: base + "-b"}
	for _, ns := range []string{p.a, p.b} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", p.a, "link", "add", "pa", "type", "veth", "peer", "name", "pb", "netns", p.b)
	for _, c := range []struct{ ns, dev, v4, v6 string }{{p.a, "pa", peer4, peer6}, {p.b, "pb", recv4, recv6}} {
		run(t, "ip", "-n", c.ns, "addr", "add", c.v4+"/24", "dev", c.dev)
		run(t, "ip", "-n", c.ns, "addr", "add", c.v6+"/64", "dev", c.dev, "nodad")
		run(t, "ip", "-n", c.ns, "link", "set", c.dev, "up")
	}
	// Links come up (qdisc attached, operstate UP) asynchronously; frames
	// sent before then are dropped.
	for _, c := range []struct{ ns, dev string }{{p.a, "pa"}, {p.b, "pb"}} {
		for i := 0; !strings.Contains(run(t, "ip", "-n", c.ns, "-o", "link", "show", "dev", c.dev), "state UP"); i++ {
			if i == 250 {
				t.Fatalf("%s did not come up in 5 s", c.dev)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	p.macB = strings.TrimSpace(run(t, "ip", "netns", "exec", p.b, "cat", "/sys/class/net/pb/address"))
	return p
}

// inNetns runs a command in namespace ns.
func inNetns(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// startIn starts a command in ns and waits for its first line, which must be
// want; stop signals it and returns its output.
func startIn(t *testing.T, ns, want string, name string, args ...string) (stop func() string) {
	t.Helper()
	cmd := inNetns(ns, name, args...)
	var stderr bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out bytes.Buffer
	var mu sync.Mutex
	first := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		n := 0
		for sc.Scan() {
			if n == 0 {
				first <- sc.Text()
			}
			n++
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		if n == 0 {
			first <- ""
		}
	}()
	select {
	case line := <-first:
		if !strings.HasPrefix(line, want) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s %v: first line %q, want %q\n%s", name, args, line, want, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s %v: no %q in 10 s\n%s", name, args, want, stderr.String())
	}
	stopped := false
	var result string
	stop = func() string {
		if stopped {
			return result
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		<-done
		mu.Lock()
		defer mu.Unlock()
		result = out.String() + stderr.String()
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// lastLinkID is the newest BPF link's ID: links made later have larger ones.
func lastLinkID(t *testing.T) link.ID {
	t.Helper()
	it := &link.Iterator{}
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return it.ID
}

// waitAttached waits until n XDP or tcx links newer than after exist:
// bpfsh prints its "Attached" line before it attaches.
func waitAttached(t *testing.T, after link.ID, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := 0
		it := &link.Iterator{ID: after}
		for it.Next() {
			if info, err := it.Link.Info(); err == nil && (info.Type == link.XDPType || info.Type == link.TCXType) {
				found++
			}
		}
		if found >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packet probes attached after 10 s", found, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startBpfshIn runs bpfsh in ns and returns once its n packet probes are attached.
func startBpfshIn(t *testing.T, ns string, n int, args ...string) (stop func() string) {
	t.Helper()
	bin, _ := binaries(t)
	before := lastLinkID(t)
	stop = startIn(t, ns, "Attached ", bin, args...)
	waitAttached(t, before, n)
	return stop
}

// mapCount finds "@name[key]: N" in bpfsh's output (0 when absent).
func mapCount(out, name, key string) int {
	re := regexp.MustCompile(`(?m)^@` + name + `\[` + regexp.QuoteMeta(key) + `\]: (\d+)$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// samePortTraffic sends, from a, TCP connections and UDP datagrams with and
// without equal ports over IPv4 and IPv6, checks which got through, and
// returns how many TCP SYNs and UDP datagrams had equal ports.
func samePortTraffic(t *testing.T, p *vethPair) (tcpSame, udpSame int) {
	t.Helper()
	tool := pkttool(t)
	startIn(t, p.b, "ready", tool, "serve", "5001", "7000")
	const n = 3
	for i, fam := range []struct{ local, remote string }{{peer4, recv4}, {"[" + peer6 + "]", "[" + recv6 + "]"}} {
		udp := func(lport int) string {
			return strings.TrimSpace(run(t, "ip", "netns", "exec", p.a, tool, "udp",
				fmt.Sprintf("%s:%d", fam.local, lport), fam.remote+":7000", fmt.Sprint(n), "300"))
		}
		tcp := func(lport int) string {
			return strings.TrimSpace(run(t, "ip", "netns", "exec", p.a, tool, "tcp",
				fmt.Sprintf("%s:%d", fam.local, lport), fam.remote+":5001", "400"))
		}
		if got := udp(7000); got != "echoed 0" {
			t.Errorf("%s: UDP 7000 → 7000: %s, want every datagram dropped", fam.remote, got)
		}
		udpSame += n
		if got := udp(7001 + i); got != fmt.Sprintf("echoed %d", n) {
			t.Errorf("%s: UDP %d → 7000: %s, want all %d through", fam.remote, 7001+i, got, n)
		}
		if got := tcp(5001); !strings.HasPrefix(got, "failed") {
			t.Errorf("%s: TCP 5001 → 5001: %s, want the SYN dropped", fam.remote, got)
		}
		tcpSame++
		if got := tcp(5002 + i); got != "connected" {
			t.Errorf("%s: TCP %d → 5001: %s, want connected", fam.remote, 5002+i, got)
		}
	}
	return tcpSame, udpSame
}

func checkDropCounts(t *testing.T, out string, tcp, udp int) {
	t.Helper()
	if got := mapCount(out, "dropped", "6"); got != tcp {
		t.Errorf("@dropped[6] = %d, want %d (TCP SYNs with equal ports)", got, tcp)
	}
	if got := mapCount(out, "dropped", "17"); got != udp {
		t.Errorf("@dropped[17] = %d, want %d (UDP datagrams with equal ports)", got, udp)
	}
	if t.Failed() {
		t.Logf("bpfsh output:\n%s", out)
	}
}

// TestPacketXDPSamePortDrop runs examples/same-port-drop.bt on the
// receiver's veth.
func TestPacketXDPSamePortDrop(t *testing.T) {
	privtest.Require(t)
	p := newVethPair(t)
	stop := startBpfshIn(t, p.b, 1, "--unsafe", filepath.Join(repoRoot(), "examples", "same-port-drop.bt"), "pb")
	tcp, udp := samePortTraffic(t, p)
	checkDropCounts(t, stop(), tcp, udp)
}

// TestPacketXDPGenericMode: the same rule in generic (skb) mode.
func TestPacketXDPGenericMode(t *testing.T) {
	privtest.Require(t)
	p := newVethPair(t)
	stop := startBpfshIn(t, p.b, 1, "--unsafe", "-e", `xdp:pb:generic /sport == dport/ { @dropped[ip.proto] = count(); drop; }`)
	tcp, udp := samePortTraffic(t, p)
	checkDropCounts(t, stop(), tcp, udp)
}

// TestPacketTCEgressSamePortDrop drops on the sender's egress instead.
func TestPacketTCEgressSamePortDrop(t *testing.T) {
	privtest.Require(t)
	p := newVethPair(t)
	stop := startBpfshIn(t, p.a, 1, "--unsafe", "-e", `tc:$1:egress /sport == dport/ { @dropped[ip.proto] = count(); drop; }`, "pa")
	tcp, udp := samePortTraffic(t, p)
	checkDropCounts(t, stop(), tcp, udp)
}

// TestPacketTCIngressSamePortDrop: tc on the receiver, with a second probe
// on the same hook that counts what the first let through (tcx runs both).
func TestPacketTCIngressSamePortDrop(t *testing.T) {
	privtest.Require(t)
	p := newVethPair(t)
	stop := startBpfshIn(t, p.b, 2, "--unsafe", "-e", tcIngressProbes)
	checkTCIngress(t, p, stop)
}

// TestPacketTCClsactIngressSamePortDrop: the same probes as filters of a
// clsact qdisc, as kernels before tcx links (6.6) attach them (forced here
// by BPFSH_TC_CLSACT): the first drops, the next filter counts what it let
// through, and when bpfsh exits its filters and the qdisc it made are gone.
func TestPacketTCClsactIngressSamePortDrop(t *testing.T) {
	privtest.Require(t)
	tc := privtest.Tool(t, "tc", "iproute2")
	t.Setenv("BPFSH_TC_CLSACT", "1")
	p := newVethPair(t)
	bin, _ := binaries(t)
	stop := startIn(t, p.b, "Attached ", bin, "--unsafe", "-e", tcIngressProbes)
	filters := run(t, "ip", "netns", "exec", p.b, tc, "filter", "show", "dev", "pb", "ingress")
	if n := strings.Count(filters, "direct-action"); n != 2 {
		t.Errorf("%d direct-action filters on pb's ingress, want 2:\n%s", n, filters)
	}
	checkTCIngress(t, p, stop)
	if qd := run(t, "ip", "netns", "exec", p.b, tc, "qdisc", "show", "dev", "pb"); strings.Contains(qd, "clsact") {
		t.Errorf("the clsact qdisc outlived bpfsh:\n%s", qd)
	}
}

// tcIngressProbes drop same-port packets on pb's ingress, and count in a
// second probe on the same hook what the first let through.
const tcIngressProbes = `
tc:pb:ingress /sport == dport/ { @dropped[ip.proto] = count(); drop; }
tc:pb:ingress /sport == 7000 || dport == 7000/ { @passed[sport == dport] = count(); }`

// checkTCIngress sends the traffic and checks what tcIngressProbes saw.
func checkTCIngress(t *testing.T, p *vethPair, stop func() string) {
	t.Helper()
	tcp, udp := samePortTraffic(t, p)
	out := stop()
	checkDropCounts(t, out, tcp, udp)
	// sport == dport is a bool: the keys print as true and false.
	if n := mapCount(out, "passed", "true"); n != 0 {
		t.Errorf("the second tc probe saw %d same-port packets after the first dropped them", n)
	}
	if n := mapCount(out, "passed", "false"); n < 6 {
		t.Errorf("the second tc probe saw %d other UDP packets, want at least 6:\n%s", n, out)
	}
}

// TestPacketMalformedPass injects well-formed and malformed frames with a
// raw socket on the peer's veth and checks, behind the rule, which arrive:
// the well-formed same-port frames are dropped and counted; malformed ones
// (truncated, padded, fragments, bad header lengths) pass uncounted. Behind
// XDP and tc egress a packet socket on the receiver sees what arrives; tc
// ingress runs after packet sockets, so there a second tc probe counts
// frame lengths instead.
func TestPacketMalformedPass(t *testing.T) {
	privtest.Require(t)
	const rule = ` /sport == dport/ { @dropped[ip.proto] = count(); drop; }`
	for _, c := range []struct{ name, ns, spec string }{
		{"xdp", "b", "xdp:pb"},
		{"xdp-generic", "b", "xdp:pb:generic"},
		{"tc-egress", "a", "tc:pa:egress"},
		{"tc-ingress", "b", "tc:pb:ingress"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newVethPair(t)
			tool := pkttool(t)
			var stop, stopCap func() string
			if c.name == "tc-ingress" {
				stop = startBpfshIn(t, p.b, 2, "--unsafe", "-e", c.spec+rule+" "+c.spec+" { @len[pkt.len] = count(); }")
			} else {
				stopCap = startIn(t, p.b, "ready", tool, "capture", "pb")
				ns := p.b
				if c.ns == "a" {
					ns = p.a
				}
				stop = startBpfshIn(t, ns, 1, "--unsafe", "-e", c.spec+rule)
			}
			sent := run(t, "ip", "netns", "exec", p.a, tool, "raw", "pa", p.macB)
			time.Sleep(300 * time.Millisecond)
			out := stop()
			checkDropCounts(t, out, 1, 1) // kinds 1 and 2 of tests/pkttool
			var seen string
			if stopCap != nil {
				seen = stopCap()
			}
			for kind := 1; kind <= 10; kind++ {
				var n int
				if _, err := fmt.Sscanf(sent[strings.Index(sent, fmt.Sprintf("kind %d len", kind)):], "kind %d len %d", &kind, &n); err != nil {
					t.Fatalf("pkttool raw said %q", sent)
				}
				dropped := kind == 1 || kind == 2
				if stopCap == nil {
					// Other traffic may share a length: only arrivals can be checked.
					if !dropped && mapCount(out, "len", fmt.Sprint(n)) == 0 {
						t.Errorf("frame kind %d (tests/pkttool, %d bytes) did not pass", kind, n)
					}
					continue
				}
				if got := strings.Contains(seen, fmt.Sprintf("kind %d 1\n", kind)); got == dropped {
					t.Errorf("frame kind %d (tests/pkttool): arrived %v, want %v", kind, got, !dropped)
				}
			}
			if t.Failed() {
				t.Logf("pkttool raw:\n%s\ncapture:\n%s\nbpfsh:\n%s", sent, seen, out)
			}
		})
	}
}

// TestPacketXDPPin: a pinned packet policy stays in force after bpfsh
// exits, and goes with unpin. ip netns exec hides /sys/fs/bpf behind a
// fresh /sys, so bpfsh enters the namespace with nsenter instead.
func TestPacketXDPPin(t *testing.T) {
	privtest.Require(t)
	p := newVethPair(t)
	bin, _ := binaries(t)
	tool := pkttool(t)
	name := testPolicy(t, bin, "bpfsh-pkt-test")
	startIn(t, p.b, "ready", tool, "serve", "7000")
	out := run(t, "nsenter", "--net=/run/netns/"+p.b, bin, "--unsafe", "--pin", name, "-e", `xdp:pb /sport == dport/ { drop; }`)
	if !strings.Contains(out, "pinned "+name+": xdp:pb") {
		t.Errorf("--pin said %q", out)
	}
	udp := func() string {
		return strings.TrimSpace(run(t, "ip", "netns", "exec", p.a, tool, "udp", peer4+":7000", recv4+":7000", "2", "300"))
	}
	if got := udp(); got != "echoed 0" {
		t.Errorf("pinned policy: UDP 7000 → 7000 %s, want dropped", got)
	}
	run(t, bin, "unpin", name)
	if got := udp(); got != "echoed 2" {
		t.Errorf("after unpin: UDP 7000 → 7000 %s, want both through", got)
	}
}
