package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bpfsh/bpfsh/internal/pty"
)

// procOpts say how to run one process.
type procOpts struct {
	env     []string      // added to the environment
	pty     bool          // stdout is a pseudo-terminal (as a user at a terminal sees it)
	stdin   *os.File      // nil: /dev/null
	stdout  bool          // read stdout (else it goes to /dev/null)
	onLine  func([]byte)  // called for each stdout line (without the newline), from the reader goroutine
	timeout time.Duration // kill with SIGKILL after this long (0: 10 minutes)
}

// proc is one running process: a tool or the getppid helper.
type proc struct {
	cmd      *exec.Cmd
	pidNum   int // kept: Process.Release clears Process.Pid
	start    time.Time
	attached chan struct{} // closed when the "Attaching N probes..." line arrives
	attachAt time.Duration // since start, valid once attached is closed
	readDone chan struct{}
	stderr   *bytes.Buffer
	stderrW  *os.File
	errDone  chan struct{}
	timedOut bool
	timer    *time.Timer
	mu       sync.Mutex
}

// result is what a finished process cost.
type result struct {
	wall     time.Duration // from just before fork/exec to wait4's return
	attach   time.Duration // time to the "Attaching" line, 0 if none
	user     time.Duration
	sys      time.Duration
	maxRSSKB int64
	status   syscall.WaitStatus
	stderr   string
	timedOut bool
}

func (r result) cpu() time.Duration { return r.user + r.sys }

// ok reports whether the process exited by itself with status 0, or by the
// SIGINT the bench sent it (bpfsh and bpftrace exit 0 on SIGINT).
func (r result) ok() bool {
	return !r.timedOut && r.status.Exited() && r.status.ExitStatus() == 0
}

func (r result) describe() string {
	if r.timedOut {
		return "timed out"
	}
	if r.status.Signaled() {
		return fmt.Sprintf("killed by %v", r.status.Signal())
	}
	return fmt.Sprintf("exit status %d", r.status.ExitStatus())
}

// startProc starts argv. Output lines are handed to o.onLine as they arrive.
func startProc(argv []string, o procOpts) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), o.env...)
	p := &proc{cmd: cmd, attached: make(chan struct{}), readDone: make(chan struct{}),
		stderr: &bytes.Buffer{}, errDone: make(chan struct{})}

	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd.Stdin = devnull
	if o.stdin != nil {
		cmd.Stdin = o.stdin
	}
	// Every stream is an *os.File so exec starts no copying goroutines and
	// the process can be reaped with a plain wait4.
	var rd, wr *os.File
	switch {
	case o.pty:
		rd, wr, err = pty.Open()
	case o.stdout:
		rd, wr, err = os.Pipe()
	default:
		wr = devnull
	}
	if err != nil {
		return nil, err
	}
	cmd.Stdout = wr
	er, ew, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = ew
	p.stderrW = ew

	// If the bench dies, so do the tools it started (no tracer left attached).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		if rd != nil {
			rd.Close()
			wr.Close()
		}
		er.Close()
		ew.Close()
		return nil, err
	}
	p.pidNum = cmd.Process.Pid
	live.add(p.pidNum)
	if rd != nil {
		wr.Close()
		go p.readLines(rd, o.onLine)
	} else {
		close(p.readDone)
	}
	ew.Close()
	go func() {
		// Keep the first 64 KiB of stderr (enough for any warning line).
		io.Copy(limitWriter{p.stderr, 64 << 10}, er)
		er.Close()
		close(p.errDone)
	}()
	if o.timeout == 0 {
		o.timeout = 10 * time.Minute
	}
	p.timer = time.AfterFunc(o.timeout, func() {
		p.mu.Lock()
		p.timedOut = true
		p.mu.Unlock()
		syscall.Kill(p.pidNum, syscall.SIGKILL)
	})
	return p, nil
}

func (p *proc) pid() int { return p.pidNum }

// readLines splits stdout into lines, timestamps the "Attaching" line and
// passes every line on. A pty ends lines with \r\n and reports EIO once
// the child has gone: both are handled.
func (p *proc) readLines(rd *os.File, onLine func([]byte)) {
	defer close(p.readDone)
	defer rd.Close()
	buf := make([]byte, 256<<10)
	var partial []byte
	seen := false
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			data := buf[:n]
			for len(data) > 0 {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					partial = append(partial, data...)
					break
				}
				line := data[:i]
				if len(partial) > 0 {
					partial = append(partial, line...)
					line = partial
				}
				line = bytes.TrimSuffix(line, []byte{'\r'})
				if !seen && (bytes.HasPrefix(line, []byte("Attaching ")) || bytes.HasPrefix(line, []byte("Attached "))) {
					seen = true
					p.attachAt = time.Since(p.start)
					close(p.attached)
				}
				if onLine != nil {
					onLine(line)
				}
				partial = partial[:0]
				data = data[i+1:]
			}
		}
		if err != nil {
			return
		}
	}
}

// waitAttached waits for the "Attaching" line.
func (p *proc) waitAttached(d time.Duration) error {
	select {
	case <-p.attached:
		return nil
	case <-p.readDone:
		return fmt.Errorf("exited before attaching: %s", strings.TrimSpace(p.stderrText()))
	case <-time.After(d):
		return errors.New("no \"Attaching\" line")
	}
}

func (p *proc) stderrText() string {
	select {
	case <-p.errDone:
		return p.stderr.String()
	case <-time.After(time.Second):
		return "(stderr still open)"
	}
}

// interrupt sends SIGINT, as Ctrl-C would.
func (p *proc) interrupt() { syscall.Kill(p.pid(), syscall.SIGINT) }

// wait reaps the process with wait4 (its rusage gives CPU time and max RSS)
// and waits until its output has been read.
func (p *proc) wait() result {
	var st syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(p.pid(), &st, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(p.start)
	live.remove(p.pidNum)
	p.timer.Stop()
	p.cmd.Process.Release()
	<-p.readDone
	<-p.errDone
	p.mu.Lock()
	defer p.mu.Unlock()
	r := result{wall: wall, user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano()),
		maxRSSKB: ru.Maxrss, status: st, stderr: p.stderr.String(), timedOut: p.timedOut}
	select {
	case <-p.attached:
		r.attach = p.attachAt
	default:
	}
	return r
}

// runProc runs argv to completion.
func runProc(argv []string, o procOpts) (result, error) {
	p, err := startProc(argv, o)
	if err != nil {
		return result{}, err
	}
	return p.wait(), nil
}

// live is the set of processes the bench has started and not yet reaped,
// killed if the bench is interrupted.
var live = &liveSet{pids: map[int]bool{}}

type liveSet struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (l *liveSet) add(pid int)    { l.mu.Lock(); l.pids[pid] = true; l.mu.Unlock() }
func (l *liveSet) remove(pid int) { l.mu.Lock(); delete(l.pids, pid); l.mu.Unlock() }

// killAll sends SIGKILL to every process the bench started that still runs.
func (l *liveSet) killAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for pid := range l.pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

type limitWriter struct {
	b *bytes.Buffer
	n int
}

func (w limitWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		if len(p) > room {
			w.b.Write(p[:room])
		} else {
			w.b.Write(p)
		}
	}
	return len(p), nil
}
