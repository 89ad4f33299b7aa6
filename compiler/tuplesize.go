package compiler

import "github.com/bpfsh/bpfsh/lang"

// bpfsh lays tuples out with every scalar widened to 8 bytes; bpftrace
// lays them out as a C struct of their elements, integer literals taking
// the smallest signed type that holds them. sizeof() of a tuple says what
// bpftrace says: the checker works out that size (CSize, CAlign) from the
// tuple's expressions, where the types still have their own widths.

// intLitSize is the bytes of bpftrace's type for an integer literal.
func intLitSize(v uint64) int {
	switch {
	case v <= 1<<7-1:
		return 1
	case v <= 1<<15-1:
		return 2
	case v <= 1<<31-1:
		return 4
	}
	return 8
}

// negLitSize is the bytes of bpftrace's type for -v.
func negLitSize(v uint64) int {
	switch {
	case v <= 1<<7:
		return 1
	case v <= 1<<15:
		return 2
	case v <= 1<<31:
		return 4
	}
	return 8
}

// cLayout is the size and alignment of a value of type t (computed from
// expression e) as a member of a C struct.
func cLayout(e lang.Expr, t *Type) (size, align int) {
	switch t.Kind {
	case KInt:
		size = t.Size
		switch x := e.(type) {
		case *lang.IntLit:
			if x.Unit == "" {
				size = intLitSize(x.Val)
			}
		case *lang.Unary:
			if lit, ok := x.X.(*lang.IntLit); ok && x.Op == "-" && lit.Unit == "" {
				size = negLitSize(lit.Val)
			}
		}
		return size, size
	case KString:
		return t.Size, 1
	case KArray:
		if t.Elem != nil && t.Elem.Size > 0 {
			return t.Size, t.Elem.Size
		}
		return t.Size, 1
	case KTuple:
		if t.CSize > 0 {
			return t.CSize, t.CAlign
		}
	}
	return t.MemSize(), 8
}

// tupleCLayout lays the elements out as C would.
func tupleCLayout(elems []lang.Expr, types []*Type) (size, align int) {
	align = 1
	for i, e := range elems {
		s, a := cLayout(e, types[i])
		if a < 1 {
			a = 1
		}
		size = (size + a - 1) / a * a
		size += s
		align = max(align, a)
	}
	return (size + align - 1) / align * align, align
}
