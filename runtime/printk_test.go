package runtime

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// Loading a debugf() program waits until the kernel's deferred work has
// enabled the trace event (here a tracefs tree whose enable file turns to
// 1 after 200 ms), so that BEGIN's lines are not printed into a disabled
// event; a program without debugf() does not wait.
func TestWaitPrintkEvent(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "events", "bpf_trace", "bpf_trace_printk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	enable := filepath.Join(dir, "enable")
	write := func(s string) {
		if err := os.WriteFile(enable, []byte(s), 0o644); err != nil {
			t.Error(err)
		}
	}
	prog := func(fn asm.BuiltinFunc) []*compiler.Program {
		return []*compiler.Program{{Spec: &ebpf.ProgramSpec{Instructions: asm.Instructions{fn.Call(), asm.Return()}}}}
	}
	env := &probes.Env{TracefsRoot: root}

	write("0\n")
	start := time.Now()
	waitPrintkEvent(prog(asm.FnKtimeGetNs), env)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a program without bpf_trace_printk waited %v", d)
	}

	const late = 200 * time.Millisecond
	go func() {
		time.Sleep(late)
		write("1\n")
	}()
	start = time.Now()
	waitPrintkEvent(prog(asm.FnTracePrintk), env)
	if d := time.Since(start); d < late || d > printkEventWait {
		t.Errorf("returned after %v, want when the event was enabled (%v)", d, late)
	}
}
