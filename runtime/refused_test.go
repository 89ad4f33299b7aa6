package runtime

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
)

// A kernel without a helper the program calls gets one line naming the
// construct, the helper and the first Linux that has it.
func TestMissingHelper(t *testing.T) {
	for _, tt := range []struct{ log, want string }{
		{"invalid func unknown#164", "for ($kv : @map) needs bpf_for_each_map_elem, Linux 5.13; this kernel does not have it"},
		{"unknown func bpf_loop#181", "for ($i : a..b) with bounds known at run time needs bpf_loop, Linux 5.17; this kernel does not have it"},
		{"invalid func unknown#9999", "the program calls helper #9999, which this kernel does not have"},
		{"R1 invalid mem access 'scalar'", ""},
	} {
		ve := &ebpf.VerifierError{Log: []string{"0: (85) call", tt.log}}
		got := missingHelper(ve, nil)
		if tt.want == "" && got != "" || len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("log %q: got %q, want it to start %q", tt.log, got, tt.want)
		}
	}
}

// A load that failed is explained by the helper the kernel lacks, when a
// program calls one (here bpf_get_func_ip, which socket filters
// cannot call), and otherwise keeps its own error.
func TestLackingOr(t *testing.T) {
	privtest.Require(t)
	calls := func(fn asm.BuiltinFunc) *compiler.Program {
		return &compiler.Program{Spec: &ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL",
			Instructions: asm.Instructions{fn.Call(), asm.Mov.Imm(asm.R0, 0), asm.Return()}}}
	}
	loadErr := errors.New("load failed")
	has, lacks := calls(asm.FnKtimeGetNs), calls(asm.FnGetFuncIp)
	if err := lackingOr([]*compiler.Program{has}, nil, loadErr); err != loadErr {
		t.Errorf("all helpers there: got %v, want the load's error", err)
	}
	want := "func in kprobes needs bpf_get_func_ip, Linux 5.15; this kernel does not have it"
	if err := lackingOr([]*compiler.Program{has, lacks}, nil, loadErr); err == nil || err.Error() != want {
		t.Errorf("a helper lacking: got %v, want %q", err, want)
	}
}
