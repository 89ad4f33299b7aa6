package compiler

import "github.com/cilium/ebpf/asm"

// return (or exit()) inside a loop whose body runs as a BPF callback
// (for over a map, a range through bpf_loop) must end the whole probe, not
// only the callback. The probe then gets one more variable, a flag the
// callback sets before it stops the iteration; it travels back with the
// other variables, and the caller checks it when the helper returns and
// ends too (a callback caller passes it further out the same way).

// loopRetVar is the flag's name among the variables (no $name can clash).
const loopRetVar = "loop:return"

// noteReturn records a way out of the probe at this point of the check.
func (k *checker) noteReturn() {
	if k.inCallback > 0 {
		k.sc.vars[loopRetVar] = tInt64
	}
}

// setReturned raises the flag: a callback's body ended the probe.
func (g *gen) setReturned() {
	if v, ok := g.vars[loopRetVar]; ok {
		g.emit(storeImm(asm.R10, v.off, 1, asm.DWord))
	}
}

// checkReturned follows a callback helper: when the body ended the probe,
// the rest of it does not run.
func (g *gen) checkReturned() {
	if v, ok := g.vars[loopRetVar]; ok {
		g.emit(asm.LoadMem(asm.R0, asm.R10, v.off, asm.DWord), asm.JNE.Imm(asm.R0, 0, g.exit))
	}
}
