package compiler

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Strings and bytes: str(), strlen(), strncmp(), strcontains(), bswap(),
// pton(); strerror() and signal_name() pass an integer that user space
// prints as text. buf() and join() are in buf.go.

var tStrerror = &Type{Kind: KInt, Size: 8, Signed: true, Format: FormatStrerror}

func checkStrcontains(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 2, 2) {
		return tBool
	}
	for i, what := range []string{"searches", "looks for"} {
		if t := k.expr(e.Args[i]); t.Kind != KString {
			k.errorf(e.Args[i].Sp(), "strcontains() %s a string, not %s", what, t)
		}
	}
	return tBool
}

// emitStrcontains checks every position of the haystack against the
// needle, stopping at the haystack's end. A literal needle is compared
// byte by byte against constants; any other is read from its buffer, and
// ends at its first NUL.
func emitStrcontains(g *gen, e *lang.Call) *val {
	hay := g.expr(e.Args[0])
	lit, isLit := e.Args[1].(*lang.StrLit)
	if !isLit {
		return g.strcontainsBuf(hay, g.expr(e.Args[1]))
	}
	needle := lit.Val
	if i := strings.IndexByte(needle, 0); i >= 0 {
		needle = needle[:i]
	}
	r := g.newTemp(tBool)
	found, done := g.label(), g.label()
	g.emit(asm.Mov.Imm(r.reg, 1))
	if needle == "" {
		return r
	}
	g.emit(asm.Mov.Imm(r.reg, 0))
	for i := 0; i+len(needle) <= hay.size; i++ {
		next := g.label()
		for j := 0; j < len(needle); j++ {
			g.emit(asm.LoadMem(asm.R0, hay.base(), hay.off+int16(i+j), asm.Byte))
			if j == 0 {
				// The haystack ended before this position: not found.
				g.emit(asm.JEq.Imm(asm.R0, 0, done))
			}
			g.emit(asm.JNE.Imm(asm.R0, int32(needle[j]), next))
		}
		g.emit(asm.Ja.Label(found))
		g.mark(next)
	}
	return g.oneIfJumped(r, found, done)
}

// strcontainsBuf searches hay for a needle held in a buffer: for each
// start, the needle's bytes are compared until its NUL (found), a
// mismatch (next start) or the haystack's end (not found).
func (g *gen) strcontainsBuf(hay, needle *val) *val {
	r := g.newTemp(tBool)
	found, done := g.label(), g.label()
	g.emit(asm.Mov.Imm(r.reg, 0))
	for i := 0; i < hay.size; i++ {
		next := g.label()
		for j := 0; j < needle.size; j++ {
			g.emit(asm.LoadMem(asm.R1, asm.R10, needle.off+int16(j), asm.Byte),
				asm.JEq.Imm(asm.R1, 0, found))
			if i+j >= hay.size {
				g.emit(asm.Ja.Label(done))
				break
			}
			g.emit(asm.LoadMem(asm.R0, asm.R10, hay.off+int16(i+j), asm.Byte),
				asm.JEq.Imm(asm.R0, 0, done),
				asm.JNE.Reg(asm.R0, asm.R1, next))
		}
		// The whole needle buffer matched.
		g.emit(asm.Ja.Label(found))
		g.mark(next)
	}
	return g.oneIfJumped(r, found, done)
}

// oneIfJumped ends a comparison whose result r holds its fall-through value:
// falling through keeps it, a jump to hit sets r to 1.
func (g *gen) oneIfJumped(r *val, hit, done string) *val { return g.setIfJumped(r, 1, hit, done) }

// setIfJumped ends a branch whose result r holds its fall-through value: a
// jump to hit sets r to v instead, and both meet at done (the final move
// gives done an instruction to label).
func (g *gen) setIfJumped(r *val, v int32, hit, done string) *val {
	g.emit(asm.Ja.Label(done))
	g.mark(hit)
	g.emit(asm.Mov.Imm(r.reg, v))
	g.mark(done)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
}

// emitPassInt evaluates the single argument: the type carries the formatting.
func emitPassInt(g *gen, e *lang.Call) *val {
	x := g.toTemp(g.expr(e.Args[0]))
	x.t = g.sc.types[e]
	return x
}

func checkStr(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return strType(k.c.strlen)
	}
	if s, ok := k.c.strParam(e.Args[0]); ok {
		n := len(s) + 1
		if len(e.Args) == 2 {
			if m, ok := k.c.constInt(e.Args[1]); ok && m >= 1 && int(m)+1 < n {
				n = int(m) + 1
			}
		}
		return strType(n)
	}
	t := k.expr(e.Args[0])
	size := k.c.strlen
	if len(e.Args) == 2 {
		// A length known only at run time reads at most max_strlen - 1
		// characters, as bpftrace's.
		if lt := k.expr(e.Args[1]); lt.Kind != KInt {
			k.errorf(e.Args[1].Sp(), "str()'s length must be an integer, not %s", lt)
		} else if n, ok := k.constEval(e.Args[1]); ok && n < 1 {
			k.errorf(e.Args[1].Sp(), "str()'s length must be positive")
		} else if ok && int(n)+1 < size {
			size = int(n) + 1
		}
	}
	switch t.Kind {
	case KString:
		return strType(min(t.Size, size))
	case KInt, KPtr:
		return strType(size)
	}
	k.errorf(e.Args[0].Sp(), "str() needs a pointer or an integer address, not %s", t)
	return strType(size)
}

// known reports whether the checker folded x to a constant.
func (g *gen) known(x lang.Expr) bool {
	_, ok := g.constant(x)
	return ok
}

func emitStr(g *gen, e *lang.Call) *val {
	t := g.sc.types[e]
	if s, ok := g.c.strParam(e.Args[0]); ok {
		if len(s) > t.Size-1 {
			s = s[:t.Size-1]
		}
		return g.strLit(s, t.Size)
	}
	at := g.sc.types[e.Args[0]]
	x := g.expr(e.Args[0])
	if at.Kind == KString {
		if x.size <= align8(t.Size) {
			return x
		}
		buf := g.buffer(t.Size, t)
		g.copyMem(buf, x.part(0, buf.size, nil))
		// Keep the terminator inside the requested length.
		g.emit(storeImm(buf.base(), buf.off+int16(t.Size-1), 0, asm.Byte))
		return buf
	}
	buf := g.buffer(t.Size, t)
	fn := asm.FnProbeReadUserStr
	if !g.userAddr(at) {
		fn = asm.FnProbeReadKernelStr
	}
	n := imm(int64(t.Size), tInt64)
	if len(e.Args) == 2 && !g.known(e.Args[1]) {
		// n characters and the NUL, n clamped to what the buffer holds.
		n = g.clamped(e.Args[1], t.Size-1)
		g.emit(asm.Add.Imm(n.reg, 1))
	}
	g.helperCall(fn, false, buf, n, x)
	g.countReadFault()
	return buf
}

// emitStrlen finds the first NUL of the buffer, one byte at a time.
func emitStrlen(g *gen, e *lang.Call) *val {
	s := g.expr(e.Args[0])
	r := g.newTemp(tUint64)
	done := g.label()
	for i := 0; i < s.size; i++ {
		g.emit(asm.Mov.Imm(r.reg, int32(i)),
			asm.LoadMem(asm.R0, s.base(), s.off+int16(i), asm.Byte),
			asm.JEq.Imm(asm.R0, 0, done))
	}
	g.emit(asm.Mov.Imm(r.reg, int32(s.size)))
	g.mark(done)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
}

func checkBswap(k *checker, e *lang.Call) *Type {
	t, ok := checkOperand(k, e, wantInt)
	if !ok {
		return tInt64
	}
	return intType(t.Size, false)
}

func emitBswap(g *gen, e *lang.Call) *val {
	t := g.sc.types[e.Args[0]]
	x := g.toTemp(g.expr(e.Args[0]))
	size := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}[t.Size]
	if size != asm.Byte {
		g.emit(asm.HostTo(asm.BE, x.reg, size))
	}
	x.t = g.sc.types[e]
	return x
}

func checkStrncmp(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 3, 3) {
		return tInt64
	}
	for _, a := range e.Args[:2] {
		if t := k.expr(a); t.Kind != KString {
			k.errorf(a.Sp(), "strncmp() compares strings, not %s", t)
		}
	}
	if n, ok := k.constEval(e.Args[2]); !ok || n < 0 {
		k.errorf(e.Args[2].Sp(), "strncmp()'s length must be a non-negative constant")
	}
	return tInt64
}

// emitStrncmp returns 0 when the first n bytes match (stopping at a NUL), else 1.
func emitStrncmp(g *gen, e *lang.Call) *val {
	n, _ := g.constant(e.Args[2])
	a, b := g.expr(e.Args[0]), g.expr(e.Args[1])
	r := g.newTemp(tInt64)
	differ, done := g.label(), g.label()
	g.emit(asm.Mov.Imm(r.reg, 0))
	limit := min(int(n), a.size, b.size)
	for i := 0; i < limit; i++ {
		g.emit(asm.LoadMem(asm.R0, a.base(), a.off+int16(i), asm.Byte),
			asm.LoadMem(asm.R1, b.base(), b.off+int16(i), asm.Byte),
			asm.JNE.Reg(asm.R0, asm.R1, differ),
			asm.JEq.Imm(asm.R0, 0, done))
	}
	return g.oneIfJumped(r, differ, done)
}

// pton("1.2.3.4") is an address known when compiling: an inet value (the
// family, then the address bytes), which ntop() prints.
func checkPton(k *checker, e *lang.Call) *Type {
	lit, ok := k.nameArg(e, 1, 1, "the address")
	if !ok {
		return tInet
	}
	if _, err := netip.ParseAddr(lit.Val); err != nil {
		k.errorf(lit.Span, "pton(): %q is not an IPv4 or IPv6 address", lit.Val)
	}
	return tInet
}

func emitPton(g *gen, e *lang.Call) *val {
	addr, _ := netip.ParseAddr(g.c.constName(e.Args[0]))
	raw := make([]byte, 24)
	binary.LittleEndian.PutUint64(raw, 10)
	if addr.Is4() {
		binary.LittleEndian.PutUint64(raw, 2)
	}
	copy(raw[8:], addr.AsSlice())
	buf := g.buffer(24, tInet)
	for i := 0; i < 24; i += 4 {
		g.emit(storeImm(buf.base(), buf.off+int16(i), int64(binary.LittleEndian.Uint32(raw[i:])), asm.Word))
	}
	return buf
}
