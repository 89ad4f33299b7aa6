package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Arrays of integers or bools, made by casts that reinterpret a value's
// bytes, as bpftrace: (int8[8])12345, (uint8[])"abc", (bool[2])(uint16)1.
// An array lives in a buffer of its element type's width per element; it
// prints as [1,2,3] and is indexed with a[i].

// arrayCast checks (T[N])x and (T[])x.
func (k *checker) arrayCast(e *lang.Cast, xt *Type) *Type {
	tn := e.Type
	et, ok := castTypes[tn.Name]
	if !ok || tn.Ptr > 0 {
		k.errorf(tn.Span, "not supported yet: arrays of %s (only of integers and bools)", tn.Name)
		return tInt64
	}
	var src int
	switch xt.Kind {
	case KInt:
		src = xt.Size
	case KString:
		src = xt.Size
	case KArray:
		src = xt.Size
	default:
		k.errorf(e.X.Sp(), "cannot cast %s to an array", xt)
		return tInt64
	}
	n := tn.ArrLen
	if n < 0 {
		if src%et.Size != 0 {
			k.errorf(e.Span, "cannot cast %s (%d bytes) to an array of %s", xt, src, et)
			return tInt64
		}
		n = src / et.Size
	}
	if n*et.Size != src {
		k.errorf(e.Span, "cannot cast %s (%d bytes) to %s[%d] (%d bytes): the sizes must match", xt, src, et, n, n*et.Size)
		return tInt64
	}
	return &Type{Kind: KArray, Size: n * et.Size, Elem: et}
}

// emitArrayCast lays x's bytes out as the array: an integer's in memory
// order (little-endian), a string's or an array's as they are.
func (g *gen) emitArrayCast(x *val, t *Type) *val {
	if x.kind == vMem {
		return x.part(0, x.size, t)
	}
	buf := g.buffer(t.Size, t)
	r, _, _ := g.operandReg(x, asm.R0)
	g.emit(asm.StoreMem(buf.base(), buf.off, r, memSize(t.Size)))
	g.release(x)
	return buf
}

// memSize is the load/store size for an integer of n bytes.
func memSize(n int) asm.Size {
	switch n {
	case 1:
		return asm.Byte
	case 2:
		return asm.Half
	case 4:
		return asm.Word
	}
	return asm.DWord
}

// arrayIndex reads element i of the array in buffer x.
func (g *gen) arrayIndex(x *val, xt *Type, e *lang.Index) *val {
	et := xt.Elem
	n := xt.Size / et.Size
	i := g.expr(e.Index)
	if i.kind == vImm {
		if i.imm < 0 || int(i.imm) >= n {
			return imm(0, et)
		}
		r := g.newTemp(et)
		g.emit(asm.LoadMem(r.reg, x.base(), x.off+int16(int(i.imm)*et.Size), memSize(et.Size)))
		if et.Signed {
			g.extend(r.reg, et.Size, true)
		}
		return r
	}
	// A run-time index: checked, then read with a helper (see index()).
	i = g.toTemp(i)
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	g.emit(storeImm(asm.R10, slot.off, 0, asm.DWord))
	done := g.label()
	g.emit(asm.JGE.Imm(i.reg, int32(n), done))
	if et.Size > 1 {
		g.emit(asm.Mul.Imm(i.reg, int32(et.Size)))
	}
	g.emit(asm.Mov.Reg(asm.R3, x.base()), asm.Add.Imm(asm.R3, int32(x.off)), asm.Add.Reg(asm.R3, i.reg),
		asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, int32(slot.off)),
		asm.Mov.Imm(asm.R2, int32(et.Size)), asm.FnProbeReadKernel.Call())
	g.mark(done)
	g.release(i)
	r := g.newTemp(et)
	g.emit(asm.LoadMem(r.reg, asm.R10, slot.off, memSize(et.Size)))
	if et.Signed {
		g.extend(r.reg, et.Size, true)
	}
	return r
}
