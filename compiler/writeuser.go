package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// write_user(dst, src, len) copies len bytes of src (a string, buffer,
// tuple or other value of the program; an integer's 8 bytes) to the user
// address dst with bpf_probe_write_user, and is true when it worked. It is
// unsafe: it can corrupt the traced process.

func checkWriteUser(k *checker, e *lang.Call) *Type {
	if !k.c.opts.Unsafe {
		k.errorf(e.Span, "write_user() is unsafe. To use you need the --unsafe flag")
	}
	if !k.nargs(e, 3, 3) {
		return tBool
	}
	if t := k.expr(e.Args[0]); t.Kind != KPtr && t.Kind != KInt {
		k.errorf(e.Args[0].Sp(), "write_user() writes to an address, not %s", t)
	}
	st := k.expr(e.Args[1])
	if !st.InMemory() && st.Kind != KInt {
		k.errorf(e.Args[1].Sp(), "write_user() cannot write %s", st)
	}
	if t := k.expr(e.Args[2]); t.Kind != KInt {
		k.errorf(e.Args[2].Sp(), "write_user()'s length must be an integer, not %s", t)
	} else if n, ok := k.c.constInt(e.Args[2]); ok {
		if size := writeUserSize(st); n < 1 || n > int64(size) {
			k.errorf(e.Args[2].Sp(), "write_user() can write 1 to %d bytes of %s, not %d", size, st, n)
		}
	}
	return tBool
}

// writeUserSize is how many bytes of a value write_user() can write.
func writeUserSize(t *Type) int {
	switch {
	case t.Kind == KBuf, t.Kind == KString:
		return t.Size
	case t.InMemory():
		return t.MemSize()
	}
	return 8
}

func emitWriteUser(g *gen, e *lang.Call) *val {
	st := g.sc.types[e.Args[1]]
	size := writeUserSize(st)
	dst := g.toTemp(g.expr(e.Args[0]))
	src := g.expr(e.Args[1])
	if !st.InMemory() {
		// An integer: its 8 bytes, from memory.
		m := g.mem(8, tInt64)
		g.store(m, src)
		g.release(src)
		src = m
	} else if st.Kind == KBuf {
		src = src.part(8, size, nil) // the data after the length
	}
	res := g.newTemp(tBool)
	g.emit(asm.Mov.Imm(res.reg, 0))
	n := g.expr(e.Args[2])
	skip := g.label()
	if n.kind == vImm {
		g.load(asm.R3, n)
	} else {
		// Bound a run-time length by the source's size: the verifier
		// wants 1 to size bytes.
		g.load(asm.R3, n)
		g.release(n)
		ok := g.label()
		g.emit(asm.JLT.Imm(asm.R3, 1, skip), asm.JLE.Imm(asm.R3, int32(size), ok), asm.Mov.Imm(asm.R3, int32(size)))
		g.mark(ok)
	}
	g.load(asm.R1, dst)
	g.release(dst)
	g.load(asm.R2, src)
	g.emit(asm.FnProbeWriteUser.Call(), asm.JNE.Imm(asm.R0, 0, skip), asm.Mov.Imm(res.reg, 1))
	g.mark(skip)
	g.emit(asm.Mov.Reg(res.reg, res.reg))
	return res
}
