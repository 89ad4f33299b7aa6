package compiler

import (
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// Pointer arithmetic follows C (and bpftrace): p + n and p - n move by n
// elements of the pointee's size, so (int32 *)0x32 + 1 is 0x36; n + p is
// p + n; ++ and -- step by one element. Two pointers only compare.

// elemSize is the size of what a pointer points to (1 for void *).
func elemSize(t *Type) int {
	switch {
	case t.Elem != nil:
		if t.Elem.Size > 0 {
			return t.Elem.Size
		}
		if n := t.Elem.MemSize(); n > 0 {
			return n
		}
	case t.BTF != nil:
		if n, err := btf.Sizeof(t.BTF); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// ptrBinary types X op Y when one side is a pointer. ok is false when
// neither is.
func (k *checker) ptrBinary(e *lang.Binary, a, b *Type) (*Type, bool) {
	if a.Kind != KPtr && b.Kind != KPtr {
		return nil, false
	}
	switch e.Op {
	case "<", "<=", ">", ">=", "==", "!=", "&&", "||":
		return tBool, true
	case "+", "-":
		switch {
		case a.Kind == KPtr && b.Kind == KInt:
			return a, true
		case e.Op == "+" && a.Kind == KInt && b.Kind == KPtr:
			return b, true
		}
		k.errorf(e.Span, "the %s operator can not be used on expressions of types %s, %s", e.Op, a, b).
			Hint("pointer arithmetic adds or subtracts an integer: p + n, p - n")
		return a, true
	}
	// Other operators treat the pointer as an address (bpftrace rejects them).
	return tUint64, true
}

// scaleIndex multiplies the integer operand of pointer arithmetic by the
// pointee's size.
func (g *gen) scaleIndex(x *val, size int) *val {
	if size == 1 {
		return x
	}
	if x.kind == vImm {
		return imm(x.imm*int64(size), x.t)
	}
	x = g.toTemp(x)
	g.emit(aluOps["*"].Imm(x.reg, int32(size)))
	return x
}

// ptrArith emits p op n (op + or -) where p or n may come first (n + p).
func (g *gen) ptrArith(e *lang.Binary, t *Type) *val {
	xt := g.sc.types[e.X]
	x, y := g.expr(e.X), g.expr(e.Y)
	if xt.Kind != KPtr {
		x, y = y, x // n + p
	}
	y = g.scaleIndex(y, elemSize(t))
	if x.kind == vImm && y.kind == vImm {
		if v, ok := fold(e.Op, x.imm, y.imm, false); ok {
			return imm(v, t)
		}
	}
	x = g.toTemp(x)
	x.t = t
	g.arith(e.Op, x, y, false)
	return x
}

// isPtrArith reports whether e is pointer arithmetic (+ or - with a pointer).
func (g *gen) isPtrArith(e *lang.Binary) bool {
	if e.Op != "+" && e.Op != "-" {
		return false
	}
	t := g.sc.types[e]
	return t != nil && t.Kind == KPtr
}
