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
	privtest.Require(t)
	bin, _ := binaries(t)
	out, _ := exec.Command(bin, "--unsafe", "-d", "asm", "-e", "sockops /op == TIMEOUT_INIT/ { reply = 750; }").CombinedOutput()
	if !strings.Contains(string(out), "warning: 750 is taken as jiffies") || !strings.Contains(string(out), "hint: write a duration") {
		t.Errorf("no jiffies warning:\n%s", out)
	}
	out, _ = exec.Command(bin, "--unsafe", "-d", "asm", "-e", "sockops /op == TIMEOUT_INIT/ { reply = 250ms; }").CombinedOutput()
	if !regexp.MustCompile(`250ms = \d+ jiffies \(HZ=\d+ from `).Match(out) {
		t.Errorf("-d asm does not show the jiffies conversion:\n%s", out)
	}
}

func pinnedLinkID(t *testing.T, name string) link.ID {
	t.Helper()
	l, err := link.LoadPinnedLink(filepath.Join("/sys/fs/bpf/bpfsh", name, "link0"), nil)
	if err != nil {
		t.Fatalf("load pinned link: %v", err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

func TestSockopsPin(t *testing.T) {
	privtest.Require(t)
	bin, _ := binaries(t)
	name := fmt.Sprintf("bpfsh-test-%d", os.Getpid())
	t.Cleanup(func() { exec.Command(bin, "unpin", name).Run() })
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
	before := pinnedLinkID(t, name)
	script := filepath.Join(t.TempDir(), "syn2.bt")
	os.WriteFile(script, []byte("sockops /op == TIMEOUT_INIT && rport == 12345/ { reply = 2s; }\n"), 0o644)
	out = run(t, bin, "--unsafe", "--pin", name, script)
	if !strings.Contains(out, "replaced "+name) {
		t.Errorf("re-pin said %q", out)
	}
	if after := pinnedLinkID(t, name); after != before {
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
