package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// buf() and join(): byte buffers read from memory, and the strings of a
// NULL-terminated array of pointers (argv) printed joined.

// joinArgs is the most strings join() prints.
const joinArgs = 16

func bufType(size int) *Type { return &Type{Kind: KBuf, Size: size} }

// checkBuf: buf(data, length) reads length bytes from a pointer or a
// string; buf(s) takes a whole char array. The length may be known only
// at run time: the buffer then holds up to max_strlen bytes.
func checkBuf(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return bufType(k.c.strlen)
	}
	at := k.expr(e.Args[0])
	size, known := int64(0), true
	if len(e.Args) == 2 {
		lt := k.expr(e.Args[1])
		if n, ok := k.constEval(e.Args[1]); ok {
			if n < 0 {
				k.errorf(e.Args[1].Sp(), "buf()'s length must not be negative")
			}
			size = max(n, 0)
		} else if lt.Kind != KInt {
			k.errorf(e.Args[1].Sp(), "buf()'s length must be an integer, not %s", lt)
		} else {
			known = false
			size = int64(k.c.strlen)
		}
	} else if at.Kind == KString {
		size = int64(at.Size)
	} else {
		k.errorf(e.Span, "buf() needs a length unless it reads a char array: buf(ptr, length)")
	}
	switch at.Kind {
	case KString:
		size = min(size, int64(at.Size))
	case KInt, KPtr:
	default:
		k.errorf(e.Args[0].Sp(), "buf() reads from a pointer or a string, not %s", at)
	}
	if known && size > int64(k.c.strlen) {
		k.warnf(e.Args[len(e.Args)-1].Sp(), "buf()'s length %d is more than max_strlen: the buffer keeps the first %d bytes", size, k.c.strlen).
			Hint("raise it: config = { max_strlen = %d }", size)
		size = int64(k.c.strlen)
	}
	return bufType(int(size))
}

func emitBuf(g *gen, e *lang.Call) *val {
	t, at := g.sc.types[e], g.sc.types[e.Args[0]]
	x := g.expr(e.Args[0])
	var n *val
	if len(e.Args) < 2 {
		n = imm(int64(t.Size), tInt64)
	} else if v, ok := g.constant(e.Args[1]); ok {
		n = imm(min(v, int64(t.Size)), tInt64)
	} else {
		n = g.clamped(e.Args[1], t.Size)
	}
	buf := g.buffer(t.MemSize(), t)
	g.store(buf.part(0, 8, nil), n)
	data := buf.part(8, align8(t.Size), nil)
	switch {
	case at.Kind == KString && n.kind == vImm:
		g.copyBytes(data, x, int(n.imm))
		g.release(x)
	case at.Kind == KString:
		g.helperCall(asm.FnProbeReadKernel, false, data, n, x)
	default:
		fn := asm.FnProbeReadKernel
		if g.userAddr(at) {
			fn = asm.FnProbeReadUser
		}
		if n.kind == vImm && n.imm == 0 {
			g.release(x)
			break
		}
		g.helperCall(fn, false, data, n, x)
		g.countReadFault()
	}
	return buf
}

// clamped evaluates a run-time length into a temporary clamped to [0, hi]:
// the verifier wants a read's size bounded.
func (g *gen) clamped(x lang.Expr, hi int) *val {
	n := g.toTemp(g.expr(x))
	pos, ok := g.label(), g.label()
	g.emit(asm.JSGE.Imm(n.reg, 0, pos), asm.Mov.Imm(n.reg, 0))
	g.mark(pos)
	g.emit(asm.JLE.Imm(n.reg, int32(hi), ok), asm.Mov.Imm(n.reg, int32(hi)))
	g.mark(ok)
	g.emit(asm.Mov.Reg(n.reg, n.reg))
	return n
}

// copyBytes copies exactly n bytes of src to dst: the bytes after them stay
// zero, so equal buffers compare equal.
func (g *gen) copyBytes(dst, src *val, n int) {
	if g.bigMem(n) {
		g.memcpy(dst.part(0, n, nil), src)
		return
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		g.emit(asm.LoadMem(asm.R0, src.base(), src.off+int16(i), asm.DWord),
			asm.StoreMem(dst.base(), dst.off+int16(i), asm.R0, asm.DWord))
	}
	for ; i < n; i++ {
		g.emit(asm.LoadMem(asm.R0, src.base(), src.off+int16(i), asm.Byte),
			asm.StoreMem(dst.base(), dst.off+int16(i), asm.R0, asm.Byte))
	}
}

// bufCompare jumps to label when the buffers are equal (eq) or differ
// (!eq): the same length and the same bytes. Bytes past a buffer's
// length are zero, so whole words compare.
func (g *gen) bufCompare(e *lang.Binary, eq bool, label string) {
	x, y := g.expr(e.X), g.expr(e.Y)
	differ, same := g.label(), g.label()
	n := min(x.size, y.size)
	for i := 0; i < n; i += 8 {
		g.emit(asm.LoadMem(asm.R0, x.base(), x.off+int16(i), asm.DWord),
			asm.LoadMem(asm.R1, y.base(), y.off+int16(i), asm.DWord),
			asm.JNE.Reg(asm.R0, asm.R1, differ))
	}
	longer := x
	if y.size > x.size {
		longer = y
	}
	for i := n; i < longer.size; i += 8 {
		g.emit(asm.LoadMem(asm.R0, longer.base(), longer.off+int16(i), asm.DWord),
			asm.JNE.Imm(asm.R0, 0, differ))
	}
	g.compareEnd(eq, label, same, differ)
}

// checkJoin: join(argv [, delimiter]) prints the strings of a
// NULL-terminated array of char pointers (at most 16), joined by the
// delimiter (a space by default).
func checkJoin(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return tNone
	}
	if t := k.expr(e.Args[0]); t.Kind != KPtr && t.Kind != KInt {
		k.errorf(e.Args[0].Sp(), "join() needs an array of strings (char **), not %s", t)
	}
	if len(e.Args) == 2 {
		if _, ok := e.Args[1].(*lang.StrLit); !ok {
			k.expr(e.Args[1])
			k.errorf(e.Args[1].Sp(), "join()'s delimiter must be a string literal")
		}
	}
	return tNone
}

// joinRecord lays out join()'s record: the delimiter as the format, then
// max_strlen bytes for each string.
func joinRecord(c *compiler, sc *scope, e *lang.Call) *Printf {
	delim := " "
	if len(e.Args) == 2 {
		delim = e.Args[1].(*lang.StrLit).Val
	}
	return &Printf{Format: delim, Kind: EventJoin, ArgLen: c.strlen, Size: 16 + joinArgs*align8(c.strlen)}
}

// emitJoin sends a record of the strings: the id, how many there are, then
// max_strlen bytes for each.
func emitJoin(g *gen, e *lang.Call) *val {
	at := g.sc.types[e.Args[0]]
	id, pf := g.record(e)
	slen := pf.ArgLen
	p := g.toTemp(g.expr(e.Args[0]))
	rec := g.buffer(pf.Size, nil)
	g.emit(storeImm(rec.base(), rec.off, id, asm.DWord))
	readPtr, readStr := asm.FnProbeReadKernel, asm.FnProbeReadKernelStr
	if g.userAddr(at) {
		readPtr, readStr = asm.FnProbeReadUser, asm.FnProbeReadUserStr
	}
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	done := g.label()
	for i := 0; i < joinArgs; i++ {
		// argv[i]: the end at a NULL pointer (or one that cannot be read).
		g.load(asm.R1, slot)
		g.emit(asm.Mov.Imm(asm.R2, 8), asm.Mov.Reg(asm.R3, p.reg), asm.Add.Imm(asm.R3, int32(8*i)), readPtr.Call(),
			asm.JNE.Imm(asm.R0, 0, done),
			asm.LoadMem(asm.R3, asm.R10, slot.off, asm.DWord),
			asm.JEq.Imm(asm.R3, 0, done))
		g.load(asm.R1, rec.part(16+i*align8(slen), slen, nil))
		g.emit(asm.Mov.Imm(asm.R2, int32(slen)), readStr.Call(),
			storeImm(rec.base(), rec.off+8, int64(i+1), asm.DWord))
	}
	g.mark(done)
	g.emit(asm.Mov.Imm(asm.R0, 0))
	g.release(p)
	g.output(rec)
	return nil
}
