package runtime

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

type testSrc struct {
	src string
	off int
}

func (s testSrc) String() string               { return s.src }
func (s testSrc) Place() (string, []byte, int) { return "t.bt", []byte(s.src), s.off }

// TestUserRefusal: a refusal the verifier's log names is placed at the
// statement of the refused instruction, counting raw offsets (a 64-bit
// load takes two); other refusals are not the user's.
func TestUserRefusal(t *testing.T) {
	src := "BEGIN { $i = 0;\n  while ($i < 3) { } }"
	spec := &ebpf.ProgramSpec{Instructions: asm.Instructions{
		asm.LoadImm(asm.R0, 1<<40, asm.DWord).WithSource(testSrc{src, 8}), // raw 0-1
		asm.Mov.Imm(asm.R1, 0),                              // raw 2
		asm.Mov.Imm(asm.R2, 0).WithSource(testSrc{src, 18}), // raw 3: "while"
		asm.Ja.Label("x"),                                   // raw 4
		asm.Return(),
	}}
	ve := &ebpf.VerifierError{Log: []string{"0: R1=ctx()", "infinite loop detected at insn 4", "processed 11 insns"}}
	err := userRefusal(ve, spec)
	var d *lang.Diags
	if !errors.As(err, &d) {
		t.Fatalf("userRefusal = %v, want positioned diagnostics", err)
	}
	out := d.Format()
	if !strings.HasPrefix(out, "t.bt:2:3: error: this loop never ends") || !strings.Contains(out, "hint: ") {
		t.Errorf("infinite loop at raw insn 4:\n%s", out)
	}
	ve.Log = []string{"infinite loop detected at insn 2"}
	if err := userRefusal(ve, spec); err == nil || !strings.HasPrefix(err.Error(), "t.bt:1:9: ") {
		t.Errorf("raw insn 2 (after a 64-bit load) is the first statement's: %v", err)
	}
	// Too much to follow: placed at the last instruction the log shows.
	ve.Log = []string{"3: (b7) r2 = 0", "4: (05) goto pc-2", "BPF program is too large. Processed 1000001 insn"}
	if err := userRefusal(ve, spec); err == nil || !strings.HasPrefix(err.Error(), "t.bt:2:3: error: the program is too complex") {
		t.Errorf("too large: %v", err)
	}
	if err := userRefusal(&ebpf.VerifierError{Log: []string{"R1 invalid mem access 'scalar'"}}, spec); err != nil {
		t.Errorf("a bad access is not the user's refusal: %v", err)
	}
}
