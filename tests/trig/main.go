// Command trig is the end-to-end tests' trigger program: it makes known system
// calls a known number of times so tracing scripts have something exact to
// count. It is built into a binary named exactly "trig", so scripts can filter
// on comm == "trig".
//
// Usage: trig STEP [STEP...], where STEP is one of
//
//	open FILE N     open FILE read-only N times, closing it each time
//	getppid N       call getppid(2) N times
//	sleep MS        sleep MS milliseconds
//	print TEXT      write TEXT and a newline to stdout
//
// Steps run in order; e.g. `trig sleep 100 open /etc/hostname 3`.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		usage()
	}
	for len(args) > 0 {
		step := args[0]
		switch step {
		case "open":
			need(args, 3)
			n := count(args[2])
			for i := 0; i < n; i++ {
				// Raw syscalls: exactly one openat and one close per iteration,
				// whatever the Go runtime does around os.Open.
				fd, err := syscall.Open(args[1], syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
				if err == nil {
					syscall.Close(fd)
				}
			}
			args = args[3:]
		case "getppid":
			need(args, 2)
			n := count(args[1])
			for i := 0; i < n; i++ {
				syscall.Getppid()
			}
			args = args[2:]
		case "sleep":
			need(args, 2)
			time.Sleep(time.Duration(count(args[1])) * time.Millisecond)
			args = args[2:]
		case "print":
			need(args, 2)
			fmt.Println(args[1])
			args = args[2:]
		default:
			usage()
		}
	}
}

func need(args []string, n int) {
	if len(args) < n {
		usage()
	}
}

func count(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "trig: bad number %q\n", s)
		os.Exit(2)
	}
	return n
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: trig {open FILE N | getppid N | sleep MS | print TEXT}...")
	os.Exit(2)
}
