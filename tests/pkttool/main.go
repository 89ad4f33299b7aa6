// Command pkttool sends and receives the traffic of the packet-probe tests
// (tests/policy_test.go), inside the network namespaces the tests make.
//
//	pkttool serve PORT...                         TCP accept and UDP echo on every address
//	pkttool udp LADDR:LPORT RADDR:RPORT N MS      send N datagrams, print how many were echoed
//	pkttool tcp LADDR:LPORT RADDR:RPORT MS        connect; print "connected" or "failed"
//	pkttool raw IFACE DSTMAC                      inject the malformed frames (AF_PACKET)
//	pkttool capture IFACE                         count injected frames that arrive, until SIGINT
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/internal/pktframe"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: pkttool serve|udp|tcp|raw|capture ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		serve(args)
	case "udp":
		need(args, 4)
		udp(args[0], args[1], atoi(args[2]), ms(args[3]))
	case "tcp":
		need(args, 3)
		tcp(args[0], args[1], ms(args[2]))
	case "raw":
		need(args, 2)
		raw(args[0], args[1])
	case "capture":
		need(args, 1)
		capture(args[0])
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "pkttool:", msg)
	os.Exit(1)
}

func need(args []string, n int) {
	if len(args) != n {
		fail(fmt.Sprintf("%s needs %d arguments", os.Args[1], n))
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

func ms(s string) time.Duration { return time.Duration(atoi(s)) * time.Millisecond }

func serve(ports []string) {
	for _, p := range ports {
		ln, err := net.Listen("tcp", ":"+p)
		if err != nil {
			fail(err.Error())
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		pc, err := net.ListenPacket("udp", ":"+p)
		if err != nil {
			fail(err.Error())
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
	}
	fmt.Println("ready")
	select {}
}

func udp(laddr, raddr string, n int, wait time.Duration) {
	la, err := net.ResolveUDPAddr("udp", laddr)
	if err != nil {
		fail(err.Error())
	}
	ra, err := net.ResolveUDPAddr("udp", raddr)
	if err != nil {
		fail(err.Error())
	}
	c, err := net.DialUDP("udp", la, ra)
	if err != nil {
		fail(err.Error())
	}
	defer c.Close()
	echoed := 0
	buf := make([]byte, 2048)
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("bpfsh %d", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			fail(err.Error())
		}
		c.SetReadDeadline(time.Now().Add(wait))
		for {
			m, err := c.Read(buf)
			if err != nil {
				break
			}
			if string(buf[:m]) == msg {
				echoed++
				break
			}
		}
	}
	fmt.Printf("echoed %d\n", echoed)
}

// tcp connects from an explicit port. The timeout stays below the first SYN
// retransmission (1 s), so a dropped connection sends exactly one SYN.
func tcp(laddr, raddr string, wait time.Duration) {
	la, err := net.ResolveTCPAddr("tcp", laddr)
	if err != nil {
		fail(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	d := net.Dialer{LocalAddr: la}
	c, err := d.DialContext(ctx, "tcp", raddr)
	if err != nil {
		fmt.Printf("failed: %v\n", err)
		return
	}
	c.Close()
	fmt.Println("connected")
}

// Injected frames carry this source MAC with the frame's kind as last byte,
// so capture can tell them apart from other traffic.
var marker = [5]byte{0x02, 0x00, 0x00, 0x21, 0x30}

// Frame kinds. Well-formed same-port frames (the drop rule must drop them)
// and malformed ones (it must let them pass, however they look).
const (
	KindUDPSame   = 1  // IPv4 UDP 7000 → 7000
	KindTCP6Same  = 2  // IPv6 TCP SYN 5001 → 5001
	KindCutPorts  = 3  // IPv4 says TCP, frame ends inside the ports
	KindPadding   = 4  // IPv4 total length 20 (no TCP), zero padding follows
	KindFragment  = 5  // IPv4 later fragment of UDP; its data looks like equal ports
	KindBigIHL    = 6  // IHL 15, frame shorter than 60 bytes of header
	KindCutIPv6   = 7  // IPv6 UDP, frame ends after 4 bytes of UDP
	KindHopByHop  = 8  // IPv6 hop-by-hop header before UDP (not walked)
	KindShortIPv6 = 9  // IPv6 payload length 4 with a full same-port UDP header after
	KindBadIHL    = 10 // IHL 4
)

// Frames returns the frames raw sends, by kind.
func Frames(dst [6]byte) map[int][]byte {
	ip4 := pktframe.IPv4{Src: [4]byte{10, 213, 0, 1}, Dst: [4]byte{10, 213, 0, 2}}
	ip6 := pktframe.IPv6{Src: [16]byte{0xfd, 0, 2, 0x13, 15: 1}, Dst: [16]byte{0xfd, 0, 2, 0x13, 15: 2}, PayloadLen: -1}
	eth := func(kind int, typ uint16, payload []byte) []byte {
		var src [6]byte
		copy(src[:], marker[:])
		src[5] = byte(kind)
		return pktframe.Eth{Dst: dst, Src: src, Type: typ}.Frame(payload)
	}
	v4 := func(h pktframe.IPv4, proto byte, payload []byte) []byte {
		h.Src, h.Dst, h.Proto = ip4.Src, ip4.Dst, proto
		return h.Packet(payload)
	}
	v6 := func(h pktframe.IPv6, next byte, payload []byte) []byte {
		h.Src, h.Dst, h.Next = ip6.Src, ip6.Dst, next
		return h.Packet(payload)
	}
	udpSame := pktframe.UDP(7000, 7000, []byte("same port"))
	tcpSame := pktframe.TCP(5001, 5001, pktframe.SYN, 0)
	return map[int][]byte{
		KindUDPSame:   eth(KindUDPSame, 0x0800, v4(ip4, 17, udpSame)),
		KindTCP6Same:  eth(KindTCP6Same, 0x86dd, v6(ip6, 6, tcpSame)),
		KindCutPorts:  eth(KindCutPorts, 0x0800, v4(pktframe.IPv4{TotLen: 40}, 6, tcpSame[:3])),
		KindPadding:   eth(KindPadding, 0x0800, v4(pktframe.IPv4{TotLen: 20}, 6, make([]byte, 26))),
		KindFragment:  eth(KindFragment, 0x0800, v4(pktframe.IPv4{FragOff: 185}, 17, udpSame)),
		KindBigIHL:    eth(KindBigIHL, 0x0800, v4(pktframe.IPv4{IHL: 15}, 17, udpSame[:8])),
		KindCutIPv6:   eth(KindCutIPv6, 0x86dd, v6(pktframe.IPv6{PayloadLen: 17}, 17, udpSame[:4])),
		KindHopByHop:  eth(KindHopByHop, 0x86dd, v6(ip6, 0, append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, udpSame...))),
		KindShortIPv6: eth(KindShortIPv6, 0x86dd, v6(pktframe.IPv6{PayloadLen: 4}, 17, udpSame)),
		KindBadIHL:    eth(KindBadIHL, 0x0800, v4(pktframe.IPv4{IHL: 4}, 17, udpSame)),
	}
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

func raw(iface, dstmac string) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		fail(err.Error())
	}
	hw, err := net.ParseMAC(dstmac)
	if err != nil || len(hw) != 6 {
		fail("bad MAC " + dstmac)
	}
	var dst [6]byte
	copy(dst[:], hw)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		fail(err.Error())
	}
	defer unix.Close(fd)
	frames := Frames(dst)
	for kind := 1; kind <= len(frames); kind++ {
		sa := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6, Protocol: htons(unix.ETH_P_ALL)}
		copy(sa.Addr[:], dst[:])
		err := unix.Sendto(fd, frames[kind], 0, sa)
		switch {
		case errors.Is(err, unix.ENOBUFS):
			// A tc egress program dropped it.
			fmt.Printf("kind %d len %d dropped\n", kind, len(frames[kind]))
		case err != nil:
			fail(fmt.Sprintf("send kind %d: %v", kind, err))
		default:
			fmt.Printf("kind %d len %d\n", kind, len(frames[kind]))
		}
	}
}

// capture counts marked frames received on iface (after XDP and tc
// ingress have passed them) until SIGINT or SIGTERM, then prints
// "kind K N" for each kind seen.
func capture(iface string) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		fail(err.Error())
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		fail(err.Error())
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		fail(err.Error())
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	counts := map[int]int{}
	buf := make([]byte, 65536)
	fmt.Println("ready")
	for {
		select {
		case <-stop:
			for k := 1; k < 256; k++ {
				if counts[k] > 0 {
					fmt.Printf("kind %d %d\n", k, counts[k])
				}
			}
			return
		default:
		}
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			fail(err.Error())
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n >= 12 && [5]byte(buf[6:11]) == marker {
			counts[int(buf[11])]++
		}
	}
}
