package compiler

import (
	"os"
	"strings"
	"syscall"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// String and time functions: strcontains, strerror, strftime, cgroupid.

var (
	tStrerror = &Type{Kind: KInt, Size: 8, Signed: true, Format: FormatStrerror}
)

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
	g.emit(asm.Ja.Label(done))
	g.mark(found)
	g.emit(asm.Mov.Imm(r.reg, 1))
	g.mark(done)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
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
	g.emit(asm.Ja.Label(done))
	g.mark(found)
	g.emit(asm.Mov.Imm(r.reg, 1))
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

func checkStrftime(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 2, 2) {
		return tInt64
	}
	lit, ok := e.Args[0].(*lang.StrLit)
	if !ok {
		k.errorf(e.Args[0].Sp(), "strftime()'s format must be a string literal")
		return tInt64
	}
	if t := k.expr(e.Args[1]); t.Kind != KInt {
		k.errorf(e.Args[1].Sp(), "strftime() takes a time in nanoseconds (nsecs), not %s", t)
	}
	return &Type{Kind: KInt, Size: 8, Format: FormatTime, TimeFormat: lit.Val}
}

func emitStrftime(g *gen, e *lang.Call) *val {
	x := g.toTemp(g.expr(e.Args[1]))
	x.t = g.sc.types[e]
	return x
}

func checkCgroupid(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 1, 1) {
		lit, ok := e.Args[0].(*lang.StrLit)
		if !ok {
			k.errorf(e.Args[0].Sp(), "cgroupid() takes a cgroup path as a string literal")
			return tUint64
		}
		if _, err := os.Stat(lit.Val); err != nil {
			k.errorf(lit.Span, "cgroupid(): %v", err)
		}
	}
	return tUint64
}

// emitCgroupid: a cgroup2 directory's id is its inode number.
func emitCgroupid(g *gen, e *lang.Call) *val {
	var st syscall.Stat_t
	syscall.Stat(e.Args[0].(*lang.StrLit).Val, &st)
	return imm(int64(st.Ino), tUint64)
}
