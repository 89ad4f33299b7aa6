// Command tcpprobe is a test helper that makes TCP connections and reports
// what the kernel says about them through TCP_INFO, independently of bpfsh.
//
//	tcpprobe syn ADDR:PORT SECONDS     connect (SYNs are expected to be dropped);
//	                                   print "rto_us N retrans N t_ms N" whenever they change
//	tcpprobe cwnd ADDR:PORT            listen on PORT, connect to it, print "snd_cwnd N cc NAME"
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tcpprobe syn|cwnd ADDR:PORT [SECONDS]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "syn":
		secs, _ := strconv.Atoi(os.Args[3])
		err = syn(os.Args[2], time.Duration(secs)*time.Second)
	case "cwnd":
		err = cwnd(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcpprobe:", err)
		os.Exit(1)
	}
}

func sockaddr(hostport string) (unix.Sockaddr, int, error) {
	ap, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return nil, 0, err
	}
	if ip4 := ap.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ap.Port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To16())
	return sa, unix.AF_INET6, nil
}

// syn starts a non-blocking connect and samples TCP_INFO every 10 ms.
func syn(hostport string, d time.Duration) error {
	sa, af, err := sockaddr(hostport)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	start := time.Now()
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		return err
	}
	lastRto, lastRetr := uint32(0), uint8(255)
	for time.Since(start) < d {
		ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return err
		}
		if ti.Rto != lastRto || ti.Retransmits != lastRetr {
			fmt.Printf("rto_us %d retrans %d t_ms %d\n", ti.Rto, ti.Retransmits, time.Since(start).Milliseconds())
			lastRto, lastRetr = ti.Rto, ti.Retransmits
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func cwnd(hostport string) error {
	ln, err := net.Listen("tcp", hostport)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var ti *unix.TCPInfo
	var cc string
	var gerr error
	raw.Control(func(fd uintptr) {
		ti, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if gerr == nil {
			cc, gerr = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
		}
	})
	if gerr != nil {
		return gerr
	}
	fmt.Printf("snd_cwnd %d cc %s\n", ti.Snd_cwnd, strings.TrimRight(cc, "\x00"))
	return nil
}
