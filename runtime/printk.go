package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// printkEventWait bounds how long loading waits for the kernel to enable
// the trace event that debugf() writes to.
var printkEventWait = 3 * time.Second

// waitPrintkEvent returns once tracefs says the bpf_trace/bpf_trace_printk
// event is enabled, when a program calls bpf_trace_printk (debugf()). The
// kernel enables that event when it verifies such a program, but since the
// fix of a deadlock with event_mutex (Linux 6.14, and the 6.1 and 6.12
// stable series in 2025) it does so from a work item that runs after the
// load returned: BEGIN, run right after loading, printed into a disabled
// event and its line was lost whenever that work was late (in the VM after
// USB traffic). Bounded by printkEventWait; no tracefs, no wait.
func waitPrintkEvent(progs []*compiler.Program, env *probes.Env) {
	if !callsHelper(progs, asm.FnTracePrintk) {
		return
	}
	root := probes.TracefsRoot()
	if env != nil {
		root = env.NeedTracefs()
	}
	file := filepath.Join(root, "events", "bpf_trace", "bpf_trace_printk", "enable")
	deadline := time.Now().Add(printkEventWait)
	for {
		b, err := os.ReadFile(file)
		if err != nil || strings.HasPrefix(string(b), "1") || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// callsHelper reports whether one of progs calls helper fn.
func callsHelper(progs []*compiler.Program, fn asm.BuiltinFunc) bool {
	for _, p := range progs {
		if p.Spec == nil {
			continue
		}
		for _, ins := range p.Spec.Instructions {
			if ins.IsBuiltinCall() && asm.BuiltinFunc(ins.Constant) == fn {
				return true
			}
		}
	}
	return false
}
