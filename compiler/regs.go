package compiler

import (
	"github.com/cilium/ebpf/asm"
)

// Registers: R0-R5 are scratch (clobbered by helper calls), R6-R8 hold
// temporaries that live across calls, R9 keeps the context pointer, R10 is
// the frame pointer. When R6-R8 run out, the oldest temporary is spilled to
// the stack; vals are pointers so a spilled value follows its new home. A
// probe whose values do not fit the stack keeps its scratch memory's
// address in R8 instead (scratch.go), leaving R6 and R7 for temporaries.

const ctxReg = asm.R9

// scratchReg points at the probe's scratch memory, when it has some.
const scratchReg = asm.R8

var tempRegs = []asm.Register{asm.R8, asm.R7, asm.R6}

// temps returns the registers free for temporaries.
func (g *gen) temps() []asm.Register {
	if g.scratch {
		return []asm.Register{asm.R7, asm.R6}
	}
	return append([]asm.Register(nil), tempRegs...)
}

type valKind uint8

const (
	vImm  valKind = iota // a constant
	vReg                 // in a register
	vSlot                // an 8-byte integer in a stack slot
	vMem                 // a buffer on the stack or in scratch memory (strings, tuples)
)

// val is where a computed value lives.
type val struct {
	kind valKind
	imm  int64
	reg  asm.Register
	off  int16 // frame-pointer offset of a slot or buffer
	size int   // vMem: buffer bytes
	t    *Type
	temp bool // owned: its register is released when consumed
	scr  bool // vMem: in scratch memory, off counted from scratchReg
}

// base is the register a buffer's offset counts from.
func (v *val) base() asm.Register {
	if v.scr {
		return scratchReg
	}
	return asm.R10
}

// part is the piece of buffer v at off, size bytes long.
func (v *val) part(off, size int, t *Type) *val {
	return &val{kind: vMem, off: v.off + int16(off), size: size, t: t, scr: v.scr}
}

func imm(v int64, t *Type) *val { return &val{kind: vImm, imm: v, t: t} }

func (g *gen) allocReg() asm.Register {
	if len(g.freeRegs) == 0 {
		g.spill()
	}
	r := g.freeRegs[len(g.freeRegs)-1]
	g.freeRegs = g.freeRegs[:len(g.freeRegs)-1]
	return r
}

// spill moves the oldest live temporary register to a stack slot.
func (g *gen) spill() {
	v := g.live[0]
	g.live = g.live[1:]
	off := g.alloc(8)
	g.emit(asm.StoreMem(asm.R10, off, v.reg, asm.DWord))
	g.freeRegs = append(g.freeRegs, v.reg)
	v.kind, v.off = vSlot, off
}

// newTemp returns a fresh temporary register value.
func (g *gen) newTemp(t *Type) *val {
	v := &val{kind: vReg, reg: g.allocReg(), t: t, temp: true}
	g.live = append(g.live, v)
	return v
}

// release gives back a temporary's register.
func (g *gen) release(v *val) {
	if v == nil || !v.temp || v.kind != vReg {
		return
	}
	for i, l := range g.live {
		if l == v {
			g.live = append(g.live[:i], g.live[i+1:]...)
			break
		}
	}
	g.freeRegs = append(g.freeRegs, v.reg)
	v.temp = false
}

// load puts v's value (or, for buffers, its address) into dst.
func (g *gen) load(dst asm.Register, v *val) {
	switch v.kind {
	case vImm:
		if v.imm == int64(int32(v.imm)) {
			g.emit(asm.Mov.Imm(dst, int32(v.imm)))
		} else {
			g.emit(asm.LoadImm(dst, v.imm, asm.DWord))
		}
	case vReg:
		if v.reg != dst {
			g.emit(asm.Mov.Reg(dst, v.reg))
		}
	case vSlot:
		g.emit(asm.LoadMem(dst, asm.R10, v.off, asm.DWord))
	case vMem:
		g.emit(asm.Mov.Reg(dst, v.base()))
		if v.off != 0 {
			g.emit(asm.Add.Imm(dst, int32(v.off)))
		}
	}
}

// toTemp returns a temporary register holding v, consuming v.
func (g *gen) toTemp(v *val) *val {
	if v.temp && v.kind == vReg {
		return v
	}
	n := g.newTemp(v.t)
	g.load(n.reg, v)
	g.release(v)
	return n
}

// operand makes y usable as the source of an ALU or jump instruction: an
// immediate if it fits, else a register (loading into scratch if needed).
func (g *gen) operand(y *val, scratch asm.Register) (asm.Register, int32, bool) {
	switch y.kind {
	case vImm:
		if y.imm == int64(int32(y.imm)) {
			return 0, int32(y.imm), true
		}
	case vReg:
		return y.reg, 0, false
	}
	g.load(scratch, y)
	return scratch, 0, false
}

func (g *gen) alu(op asm.ALUOp, dst asm.Register, y *val) {
	r, c, isImm := g.operand(y, asm.R0)
	if isImm {
		g.emit(op.Imm(dst, c))
	} else {
		g.emit(op.Reg(dst, r))
	}
}

func (g *gen) jump(op asm.JumpOp, x asm.Register, y *val, label string) {
	r, c, isImm := g.operand(y, asm.R0)
	if isImm {
		g.emit(op.Imm(x, c, label))
	} else {
		g.emit(op.Reg(x, r, label))
	}
}

// storeImm emits *(size *)(dst+off) = v. cilium/ebpf's StoreImm refuses
// DWord, but the kernel accepts BPF_ST|BPF_DW with a sign-extended imm32.
func storeImm(dst asm.Register, off int16, v int64, size asm.Size) asm.Instruction {
	return asm.Instruction{OpCode: asm.StoreImmOp(size), Dst: dst, Offset: off, Constant: int64(int32(v))}
}

// backToR0 undoes the copy of a helper's result into a temporary when
// nothing but immediate arithmetic on it followed: "mov t, r0; rsh t, 32"
// becomes "rsh r0, 32". The caller stores R0 at once and releases v.
func (g *gen) backToR0(v *val) bool {
	if v == nil || v.kind != vReg || !v.temp || v.size > 8 || len(g.pending) > 0 {
		return false
	}
	for j := len(g.insns) - 1; j >= 0; j-- {
		ins := g.insns[j]
		if ins.Symbol() != "" || ins.Dst != v.reg {
			return false
		}
		if ins.OpCode == asm.Mov.Op(asm.RegSource) && ins.Src == asm.R0 {
			if j+1 < len(g.insns) && ins.Source() != nil && g.insns[j+1].Source() == nil {
				g.insns[j+1] = g.insns[j+1].WithSource(ins.Source())
			}
			g.insns = append(g.insns[:j], g.insns[j+1:]...)
			for k := j; k < len(g.insns); k++ {
				g.insns[k].Dst = asm.R0
			}
			return true
		}
		if !ins.OpCode.Class().IsALU() || ins.OpCode.Source() != asm.ImmSource || ins.OpCode.ALUOp() == asm.Mov {
			return false
		}
	}
	return false
}
