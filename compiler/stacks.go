package compiler

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Stacks and symbols: kstack and ustack are ids into a stack trace map
// (ustack also keeps the pid, to find the process's symbols); ksym() and
// usym() are addresses that user space prints as symbol names.

const (
	stackMap      = "bpfsh_stacks"
	MaxStackDepth = 127
	userStackFlag = 1 << 8 // BPF_F_USER_STACK
)

var (
	tKstack = &Type{Kind: KStack, Size: 8}
	tUstack = &Type{Kind: KStack, Size: 16, User: true}
	tKsym   = &Type{Kind: KSym, Size: 8}
	tUsym   = &Type{Kind: KSym, Size: 16, User: true}
)

// stack returns a buffer holding {stack id, pid}.
func (g *gen) stack(user bool) *val {
	t := tKstack
	var flags int32
	if user {
		t, flags = tUstack, userStackFlag
	}
	buf := g.buffer(t.Size, t)
	g.emit(asm.Mov.Reg(asm.R1, ctxReg))
	g.mapPtr(asm.R2, stackMap)
	g.emit(asm.Mov.Imm(asm.R3, flags), asm.FnGetStackid.Call(),
		asm.StoreMem(buf.base(), buf.off, asm.R0, asm.DWord))
	if user {
		g.emit(asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32),
			asm.StoreMem(buf.base(), buf.off+8, asm.R0, asm.DWord))
	}
	return buf
}

func emitSym(g *gen, e *lang.Call) *val {
	t := g.sc.types[e]
	x := g.expr(e.Args[0])
	buf := g.buffer(t.Size, t)
	g.store(buf.part(0, 8, nil), x)
	g.release(x)
	if t.User {
		g.emit(asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32),
			asm.StoreMem(buf.base(), buf.off+8, asm.R0, asm.DWord))
	}
	return buf
}

func stackMapSpec(maxKeys int) *ebpf.MapSpec {
	return &ebpf.MapSpec{Name: stackMap, Type: ebpf.StackTrace, KeySize: 4, ValueSize: 8 * MaxStackDepth, MaxEntries: uint32(maxKeys)}
}

// StackMode is how a stack's frames print.
type StackMode uint8

const (
	StackBpftrace StackMode = iota // "\n        sym+off" per frame
	StackPerf                      // "\taddr sym+off (module)"
	StackRaw                       // addresses only
	StackBuildID                   // ustack: addresses only (build ids are not read)
)

var stackModes = map[string]StackMode{"bpftrace": StackBpftrace, "perf": StackPerf, "raw": StackRaw, "build_id": StackBuildID}

func checkStack(k *checker, e *lang.Call) *Type {
	k.needCtx(e.Span, e.Name)
	user := e.Name == "ustack"
	t := *tKstack
	if user {
		t = *tUstack
	}
	if !k.nargs(e, 0, 2) {
		return &t
	}
	for i, a := range e.Args {
		if id, ok := a.(*lang.Ident); ok && i == 0 {
			m, known := stackModes[id.Name]
			if !known || m == StackBuildID && !user {
				k.errorf(id.Span, "%s() takes a mode (bpftrace, perf, raw%s) and a frame limit", e.Name, map[bool]string{true: ", build_id"}[user])
				continue
			}
			t.StackMode = m
			continue
		}
		n, ok := k.constEval(a)
		if !ok || n < 1 || n > MaxStackDepth || i != len(e.Args)-1 {
			k.errorf(a.Sp(), "%s()'s frame limit must be a constant from 1 to %d, after the mode", e.Name, MaxStackDepth)
			continue
		}
		t.StackLimit = int(n)
	}
	return &t
}

func emitStack(g *gen, e *lang.Call) *val {
	v := g.stack(e.Name == "ustack")
	v.t = g.sc.types[e]
	return v
}
