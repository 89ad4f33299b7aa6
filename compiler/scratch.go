package compiler

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Scratch memory. BPF gives a program 512 bytes of stack; strings, tuples,
// printf records, map keys and values built in place, and variables can
// need more (str() with max_strlen = 1024, say). A probe that would
// overflow the stack is generated a second time with scratch memory: its
// buffers larger than 8 bytes live in a value of a per-CPU array map (one
// entry per probe), whose address the program looks up once at entry and
// keeps in scratchReg. Loop callbacks look it up again; they share the
// probe's variables there, and their own buffers go after the caller's.
// Probes that fit the stack are generated exactly as before, without the
// lookup. config = { on_stack_limit = N } (bpftrace's setting) sends every
// buffer larger than N bytes to scratch memory.

const scratchMap = "bpfsh_scratch"

// maxScratch is the most a per-CPU map value holds (PCPU_MIN_UNIT_SIZE);
// scratch offsets fit the 16-bit instruction offsets below it.
const maxScratch = 32768

// maxStrlen bounds max_strlen: two strings of it fit in scratch memory.
const maxStrlen = maxScratch / 2

// autoScratchLimit is the size above which a buffer goes to scratch memory
// in a probe that overflowed the stack: 8-byte keys and values stay.
const autoScratchLimit = 8

// bigMemBytes is the size from which scratch buffers are cleared and copied
// by a helper call instead of 8 bytes an instruction.
const bigMemBytes = 256

// mem returns a buffer of size bytes, not cleared: on the stack, or in
// scratch memory when the probe has it and the buffer is large.
func (g *gen) mem(size int, t *Type) *val {
	if g.inScratch(size) {
		off := g.scrSp
		g.scrSp += align8(size)
		g.scrMax = max(g.scrMax, g.scrSp)
		if g.scrSp > maxScratch {
			off = 0 // reported after generation
		}
		return &val{kind: vMem, off: int16(off), size: size, t: t, scr: true}
	}
	return &val{kind: vMem, off: g.alloc(size), size: size, t: t}
}

// inScratch reports whether a buffer of size bytes goes to scratch memory.
// Without scratch memory it notes a buffer over the configured
// on_stack_limit, which asks for a second generation with it.
func (g *gen) inScratch(size int) bool {
	if g.scratch {
		return size > g.scrLimit
	}
	if g.c.stackLimit >= 0 && size > g.c.stackLimit {
		g.wantScratch = true
	}
	return false
}

// bigMem reports whether a buffer of n bytes is cleared and copied by a
// helper call: only in probes with scratch memory, so that probes on the
// stack keep their code.
func (g *gen) bigMem(n int) bool { return g.scratch && n >= bigMemBytes }

// memset clears v with bpf_probe_read_kernel(v, size, NULL): the read
// fails, and a failed read zeroes its destination.
func (g *gen) memset(v *val) {
	g.load(asm.R1, v)
	g.emit(asm.Mov.Imm(asm.R2, int32(v.size)), asm.Mov.Imm(asm.R3, 0), asm.FnProbeReadKernel.Call())
}

// memcpy copies dst.size bytes from src (a buffer, or a pointer in a
// register) to dst with bpf_probe_read_kernel.
func (g *gen) memcpy(dst, src *val) {
	g.load(asm.R3, src)
	g.load(asm.R1, dst)
	g.emit(asm.Mov.Imm(asm.R2, int32(dst.size)), asm.FnProbeReadKernel.Call())
}

// scratchPrologue points scratchReg at the probe's scratch memory, going
// to fail if the lookup fails (it cannot: the entry exists).
func (g *gen) scratchPrologue(fail string) {
	off := g.alloc(4)
	g.emit(storeImm(asm.R10, off, int64(g.scrSlot), asm.Word))
	g.mapPtr(asm.R1, scratchMap)
	g.emit(asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, int32(off)),
		asm.FnMapLookupElem.Call(), asm.JEq.Imm(asm.R0, 0, fail), asm.Mov.Reg(scratchReg, asm.R0))
	g.sp -= 8
}

// needsScratch reports whether the probe must be generated again with
// scratch memory.
func (g *gen) needsScratch() bool {
	return !g.scratch && (g.overErr || g.loopOver > 0 || g.wantScratch)
}

func scratchMapSpec(size, entries int) *ebpf.MapSpec {
	return &ebpf.MapSpec{Name: scratchMap, Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: uint32(align8(size)),
		MaxEntries: uint32(entries)}
}
