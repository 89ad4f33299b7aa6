package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// More builtins and functions: the cheap ones bpftrace users reach for.

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
	n, _ := g.k.constEval(e.Args[2])
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
	g.emit(asm.Ja.Label(done))
	g.mark(differ)
	g.emit(asm.Mov.Imm(r.reg, 1))
	g.mark(done)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
}

func checkSizeof(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 1) {
		return tInt64
	}
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		if _, ok := castType(tn); !ok {
			if _, ok := k.c.cTypeSize(tn); !ok {
				k.errorf(tn.Span, "not supported yet: sizeof(%s)", tn.Name)
			}
		}
		return tUint64
	}
	k.expr(e.Args[0])
	return tUint64
}

func emitSizeof(g *gen, e *lang.Call) *val {
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		t, ok := castType(tn)
		if !ok {
			n, _ := g.c.cTypeSize(tn)
			return imm(int64(n), tUint64)
		}
		if t.Kind == KPtr {
			return imm(8, tUint64)
		}
		return imm(int64(t.Size), tUint64)
	}
	t := g.sc.types[e.Args[0]]
	if t.Kind == KInt {
		return imm(int64(t.Size), tUint64)
	}
	if t.Kind == KTuple && t.CSize > 0 {
		return imm(int64(t.CSize), tUint64)
	}
	return imm(int64(t.MemSize()), tUint64)
}

var signals = map[string]int64{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7, "SIGFPE": 8,
	"SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
	"SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22,
}

func (k *checker) needUnsafe(e *lang.Call) {
	if !k.c.opts.Unsafe {
		k.errorf(e.Span, "%s() is a destructive action: run bpfsh with --unsafe to allow it", e.Name)
	}
}

func checkSignal(k *checker, e *lang.Call) *Type {
	k.needUnsafe(e)
	if !k.nargs(e, 1, 1) {
		return tNone
	}
	switch a := e.Args[0].(type) {
	case *lang.StrLit:
		if _, ok := signals[a.Val]; !ok {
			k.errorf(a.Span, "unknown signal %q", a.Val)
		}
	case *lang.Ident:
		if _, ok := signals[a.Name]; !ok {
			k.errorf(a.Span, "unknown signal %s", a.Name)
		}
	default:
		if t := k.expr(e.Args[0]); t.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "signal() takes a signal name or number")
		}
	}
	return tNone
}

func emitSignal(g *gen, e *lang.Call) *val {
	var sig *val
	switch a := e.Args[0].(type) {
	case *lang.StrLit:
		sig = imm(signals[a.Val], tInt64)
	case *lang.Ident:
		sig = imm(signals[a.Name], tInt64)
	default:
		sig = g.expr(a)
	}
	g.helperCall(asm.FnSendSignal, false, sig)
	return nil
}

// system(fmt, ...), cat(fmt, ...) and time(fmt) are printf records that user
// space handles differently.
func checkCommandFunc(k *checker, e *lang.Call) *Type {
	if e.Name == "system" {
		k.needUnsafe(e)
	}
	return checkPrintf(k, e)
}

func checkTime(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 0, 1) && len(e.Args) == 1 {
		if _, ok := e.Args[0].(*lang.StrLit); !ok {
			k.errorf(e.Args[0].Sp(), "time()'s format must be a string literal")
		}
	}
	return tNone
}

func emitCommandFunc(kind uint64) func(g *gen, e *lang.Call) *val {
	return func(g *gen, e *lang.Call) *val {
		if kind == EventTime {
			// The format is strftime's, applied in user space.
			format := "%H:%M:%S\n"
			if len(e.Args) == 1 {
				format = e.Args[0].(*lang.StrLit).Val
			}
			id := g.c.addPrintf(&Printf{Format: format, Kind: kind, Size: 8})
			g.event(uint64(id))
			return nil
		}
		emitPrintfKind(g, e, kind)
		return nil
	}
}
