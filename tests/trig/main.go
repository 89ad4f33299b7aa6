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
//	stat FILE N     stat(2) FILE N times (the newstat syscall), then statfs(2) it once
//	kill N          kill(2) itself with signal 0 N times
//	setuid UID      setuid(UID), setresuid(UID, UID, UID), setfsuid(UID): once each, on one thread
//	exec ARGV...    fork and exec ARGV (up to a lone ";"), wait for it
//	write FILE N    write N 4 KiB blocks to FILE with O_DIRECT from a thread named "trigw"
//	                (one block I/O each; FILE is written and synced first, removed after)
//	spin MS         keep one CPU busy for MS milliseconds
//	connect ADDR    open a TCP connection to ADDR (host:port), at most a second, refused or not
//
// Steps run in order; e.g. `trig sleep 100 open /etc/hostname 3`.
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
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
		case "stat":
			need(args, 3)
			n := count(args[2])
			path, _ := syscall.BytePtrFromString(args[1])
			var st syscall.Stat_t
			for i := 0; i < n; i++ {
				syscall.RawSyscall(syscall.SYS_STAT, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&st)), 0)
			}
			var fs syscall.Statfs_t
			syscall.RawSyscall(syscall.SYS_STATFS, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&fs)), 0)
			args = args[3:]
		case "kill":
			need(args, 2)
			n := count(args[1])
			for i := 0; i < n; i++ {
				syscall.RawSyscall(syscall.SYS_KILL, uintptr(os.Getpid()), 0, 0)
			}
			args = args[2:]
		case "setuid":
			need(args, 2)
			uid := uintptr(count(args[1]))
			// Raw: Go's syscall.Setuid repeats the call on every thread.
			runtime.LockOSThread()
			syscall.RawSyscall(syscall.SYS_SETUID, uid, 0, 0)
			syscall.RawSyscall(syscall.SYS_SETRESUID, uid, uid, uid)
			syscall.RawSyscall(syscall.SYS_SETFSUID, uid, 0, 0)
			runtime.UnlockOSThread()
			args = args[2:]
		case "exec":
			end := 1
			for end < len(args) && args[end] != ";" {
				end++
			}
			if end == 1 {
				usage()
			}
			cmd := exec.Command(args[1], args[2:end]...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "trig: exec: %v\n", err)
			}
			args = args[min(end+1, len(args)):]
		case "write":
			need(args, 3)
			n := count(args[2])
			if err := directWrites(args[1], n); err != nil {
				fmt.Fprintf(os.Stderr, "trig: write: %v\n", err)
				os.Exit(1)
			}
			args = args[3:]
		case "spin":
			need(args, 2)
			end := time.Now().Add(time.Duration(count(args[1])) * time.Millisecond)
			for time.Now().Before(end) {
			}
			args = args[2:]
		case "connect":
			need(args, 2)
			if c, err := net.DialTimeout("tcp", args[1], time.Second); err == nil {
				c.Close()
			}
			args = args[2:]
		default:
			usage()
		}
	}
}

// directWrites writes n 4 KiB blocks with O_DIRECT over a file written and
// synced beforehand, from a thread named "trigw": each write is one block
// request of 4 KiB issued by that thread, and nothing else it does is.
func directWrites(path string, n int) error {
	block := make([]byte, 4096)
	if err := os.WriteFile(path, bytes.Repeat(block, n), 0o600); err != nil {
		return err
	}
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_DIRECT|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// O_DIRECT wants an aligned buffer: mmap gives a page.
	buf, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer syscall.Munmap(buf)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	name, _ := syscall.BytePtrFromString("trigw")
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0)
	for i := 0; i < n; i++ {
		if _, err := syscall.Pwrite(fd, buf, int64(i)*4096); err != nil {
			return err
		}
	}
	return nil
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
	fmt.Fprintln(os.Stderr, "usage: trig {open FILE N | getppid N | sleep MS | print TEXT | stat FILE N | kill N | setuid UID | exec ARGV... [;] | write FILE N | spin MS}...")
	os.Exit(2)
}
