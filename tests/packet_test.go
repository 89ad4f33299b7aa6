package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

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
	name := fmt.Sprintf("bpfsh-pkt-test-%d", os.Getpid())
	t.Cleanup(func() { exec.Command(bin, "unpin", name).Run() })
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
