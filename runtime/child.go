package runtime

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childProc is the -c command: started through the shell, which waits on
// a pipe before exec'ing the command, so its pid (cpid) is known before
// the probes are loaded and it runs only once they are attached. If bpfsh
// dies first, the pipe closes without the go-ahead and the shell exits
// without running the command; and the kernel kills the command when bpfsh
// dies at any time (PR_SET_PDEATHSIG, see spawn), so it never runs
// untraced nor outlives bpfsh.
type childProc struct {
	cmd   *exec.Cmd
	gate  *os.File
	done  chan struct{}
	ready chan struct{} // closed once the shell waits at the gate
}

func startChild(command string) (*childProc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// The shell says when it is at the gate: what it does starting up
	// (dash calls getppid() for $PPID) happens before the probes attach.
	rr, rw, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", "echo >&4; exec 4>&-; read go <&3 && [ \"$go\" = go ] || exit 125; exec 3<&-; exec "+command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r, rw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		r.Close()
		w.Close()
		rr.Close()
		rw.Close()
		return nil, fmt.Errorf("start -c command: %w", err)
	}
	r.Close()
	rw.Close()
	c := &childProc{cmd: cmd, gate: w, done: make(chan struct{}), ready: make(chan struct{})}
	go func() {
		var b [1]byte
		rr.Read(b[:]) // a byte, or EOF if the shell is gone
		rr.Close()
		close(c.ready)
	}()
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *childProc) pid() int { return c.cmd.Process.Pid }

// spawn starts cmd from the spawner thread. The parent-death signal is
// sent when the thread that forked the child exits, not the process: Go
// ends a thread whose goroutine exits while locked to it, so a child
// forked from an arbitrary thread could be killed while bpfsh runs on. The
// spawner goroutine locks its thread and never returns.
func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			goruntime.LockOSThread() // for ever: the thread never exits
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error)
	spawner.reqs <- spawnReq{cmd, done}
	return <-done
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

// waitReady waits (a little at most) until the shell is at the gate.
func (c *childProc) waitReady() {
	select {
	case <-c.ready:
	case <-time.After(2 * time.Second):
	}
}

// release lets the command run and returns a channel closed when it exits.
func (c *childProc) release() <-chan struct{} {
	c.gate.Write([]byte("go\n"))
	c.gate.Close()
	return c.done
}

// kill ends the command if it is still running (bpfsh is exiting).
func (c *childProc) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.gate.Close()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		c.cmd.Process.Kill()
	}
}

// waitPID returns a channel closed when process pid exits.
func waitPID(pid int) <-chan struct{} {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	}()
	return done
}
