package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Indexing values (not maps): $s[i] reads a string's byte i; $t[N] is
// tuple element N, as $t.N, for a constant N.

func (k *checker) index(e *lang.Index) *Type {
	xt := k.expr(e.X)
	it := k.expr(e.Index)
	if xt == tUnknown {
		return tUnknown
	}
	if it.Kind != KInt {
		k.errorf(e.Index.Sp(), "an index must be an integer, not %s", it)
		return tInt64
	}
	switch xt.Kind {
	case KString:
		return intType(1, true)
	case KArray:
		return xt.Elem
	case KTuple:
		n, ok := k.constEval(e.Index)
		if !ok {
			k.errorf(e.Index.Sp(), "a tuple's index must be a constant")
			return tInt64
		}
		if n < 0 || n >= int64(len(xt.Elems)) {
			k.errorf(e.Index.Sp(), "a tuple of %d elements has no element %d", len(xt.Elems), n)
			return tInt64
		}
		return xt.Elems[n]
	}
	k.errorf(e.Span, "not supported yet: indexing %s", xt)
	return tInt64
}

func (g *gen) index(e *lang.Index) *val {
	xt := g.sc.types[e.X]
	if xt.Kind == KTuple {
		n, _ := g.constant(e.Index)
		return g.tupleElemAt(e.X, xt, int(n))
	}
	t := g.sc.types[e]
	x := g.expr(e.X)
	if xt.Kind == KArray {
		return g.arrayIndex(x, xt, e)
	}
	i := g.expr(e.Index)
	if i.kind == vImm {
		if i.imm < 0 || int(i.imm) >= x.size {
			g.release(i)
			return imm(0, t)
		}
		r := g.newTemp(t)
		g.emit(asm.LoadMem(r.reg, x.base(), x.off+int16(i.imm), asm.Byte))
		g.extend(r.reg, 1, true)
		return r
	}
	// A byte at a run-time index: checked against the buffer's size,
	// then read with a helper (the verifier rejects most variable-offset
	// stack loads). Out of range reads as 0.
	i = g.toTemp(i)
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	g.emit(storeImm(asm.R10, slot.off, 0, asm.DWord))
	done := g.label()
	g.emit(asm.JGE.Imm(i.reg, int32(x.size), done),
		asm.Mov.Reg(asm.R3, x.base()), asm.Add.Imm(asm.R3, int32(x.off)), asm.Add.Reg(asm.R3, i.reg),
		asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, int32(slot.off)),
		asm.Mov.Imm(asm.R2, 1), asm.FnProbeReadKernel.Call())
	g.mark(done)
	g.release(i)
	r := g.newTemp(t)
	g.emit(asm.LoadMem(r.reg, asm.R10, slot.off, asm.Byte))
	g.extend(r.reg, 1, true)
	return r
}

// tupleElemAt reads element i of the tuple x (of type xt).
func (g *gen) tupleElemAt(x lang.Expr, xt *Type, i int) *val {
	v := g.expr(x)
	et := xt.Elems[i]
	el := v.part(xt.ElemOffset(i), et.MemSize(), et)
	if et.InMemory() {
		return el
	}
	r := g.newTemp(et)
	g.emit(asm.LoadMem(r.reg, el.base(), el.off, asm.DWord))
	return r
}
