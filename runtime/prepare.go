package runtime

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Prepare starts, in the background, the part of a run that does not
// depend on the script: catching signals (Go starts a thread for it) and
// the kernel feature probes cilium/ebpf makes before it creates the first
// map and loads the first program (object names, a BPF token, per-CPU
// counts, bpf_probe_read_kernel). On two or more CPUs this overlaps with
// parsing and compiling. Run waits for the signals; the load waits, where
// it needs one, for a probe's answer. Call it once a script is going to be
// loaded, not for listings or checks.
func Prepare() {
	prep.once.Do(func() {
		prep.done = make(chan struct{})
		go func() {
			defer close(prep.done)
			prep.sigs, prep.usr1 = catchSignals()
		}()
		// Not waited for: the load waits where it needs a probe's answer.
		go warmUp()
	})
}

var prep struct {
	once       sync.Once
	done       chan struct{}
	mu         sync.Mutex
	sigs, usr1 chan os.Signal
}

// catchSignals starts catching the signals a run handles: SIGINT, SIGTERM,
// SIGHUP and SIGQUIT (Ctrl-\\) end it, SIGUSR1 runs self:signal:SIGUSR1 probes, SIGPIPE is
// an error on the write.
func catchSignals() (sigs, usr1 chan os.Signal) {
	sigs = make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	usr1 = make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	// A reader that went away (| head -1) must not kill bpfsh with
	// SIGPIPE, as Go does for a write to stdout by default: the probes
	// and the -c command would be left behind. Caught, the write fails
	// with EPIPE and the run ends (outguard.go). (A command started later
	// gets SIGPIPE's default back: exec resets caught signals.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return sigs, usr1
}

// runSignals returns the signal channels for a run: the ones Prepare set
// up, for the first run after it, else new ones.
func runSignals() (sigs, usr1 chan os.Signal) {
	if prep.done != nil {
		<-prep.done
		prep.mu.Lock()
		sigs, usr1 = prep.sigs, prep.usr1
		prep.sigs, prep.usr1 = nil, nil
		prep.mu.Unlock()
		if sigs != nil {
			return sigs, usr1
		}
	}
	return catchSignals()
}

// warmUp creates a map and loads a program that calls a helper, and
// closes both: cilium/ebpf runs and caches its feature probes on the way.
// Failures are left for the real load to report.
func warmUp() {
	ebpf.PossibleCPU()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "bpfsh_warm", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		return
	}
	m.Close()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bpfsh_warm", Type: ebpf.SocketFilter, License: "GPL",
		Instructions: asm.Instructions{asm.FnKtimeGetNs.Call(), asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err == nil {
		p.Close()
	}
}

// QuitQuietly makes SIGQUIT (Ctrl-\\ on a terminal) end bpfsh quietly, with
// the status of a death by SIGQUIT, instead of with Go's dump of every
// goroutine, until a run catches it to end cleanly (catchSignals). Nothing
// is loaded before then; the REPL's runs hold only file descriptors, which
// exiting releases.
func QuitQuietly() {
	quit.ch = make(chan os.Signal, 1)
	signal.Notify(quit.ch, syscall.SIGQUIT)
	go func() {
		if _, ok := <-quit.ch; ok {
			os.Exit(128 + int(syscall.SIGQUIT))
		}
	}()
}

// stopQuitQuietly hands SIGQUIT over to the run, which catches it already.
func stopQuitQuietly() {
	quit.once.Do(func() {
		if quit.ch != nil {
			signal.Stop(quit.ch)
			close(quit.ch)
		}
	})
}

var quit struct {
	ch   chan os.Signal
	once sync.Once
}
