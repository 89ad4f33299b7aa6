package compiler

import (
	"os"
	"syscall"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// String and time functions: strcontains, strerror, strftime, cgroupid.

var (
	tStrerror = &Type{Kind: KInt, Size: 8, Signed: true, Format: FormatStrerror}
)

func init() {
	funcs["strcontains"] = funcDef{check: checkStrcontains, emit: emitStrcontains}
	funcs["strerror"] = funcDef{check: checkStrerror, emit: emitPassInt}
	funcs["strftime"] = funcDef{check: checkStrftime, emit: emitStrftime}
	funcs["cgroupid"] = funcDef{check: checkCgroupid, emit: emitCgroupid}
}

func checkStrcontains(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 2, 2) {
		return tInt64
	}
	if t := k.expr(e.Args[0]); t.Kind != KString {
		k.errorf(e.Args[0].Sp(), "strcontains() searches a string, not %s", t)
	}
	if _, ok := e.Args[1].(*lang.StrLit); !ok {
		k.expr(e.Args[1])
		k.errorf(e.Args[1].Sp(), "not supported yet: strcontains() with a needle that is not a string literal")
	}
	return tBool
}

// emitStrcontains checks every position of the haystack against a literal
// needle, stopping at the haystack's end.
func emitStrcontains(g *gen, e *lang.Call) *val {
	hay := g.expr(e.Args[0])
	needle := e.Args[1].(*lang.StrLit).Val
	r := g.newTemp(tInt64)
	found, done := g.label(), g.label()
	g.emit(asm.Mov.Imm(r.reg, 1))
	if needle == "" {
		return r
	}
	g.emit(asm.Mov.Imm(r.reg, 0))
	for i := 0; i+len(needle) <= hay.size; i++ {
		next := g.label()
		for j := 0; j < len(needle); j++ {
			g.emit(asm.LoadMem(asm.R0, asm.R10, hay.off+int16(i+j), asm.Byte))
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

func checkStrerror(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 1, 1) {
		if t := k.expr(e.Args[0]); t.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "strerror() takes an errno, not %s", t)
		}
	}
	return tStrerror
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
