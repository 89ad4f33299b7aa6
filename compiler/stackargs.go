package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// kstack(mode, limit) and ustack(mode, limit), either argument optional:
// mode says how the stack prints (bpftrace: symbol+offset per line; perf:
// address, symbol and, for user stacks, the object, tab-indented; raw:
// addresses only), limit how many frames it keeps. A stack without a
// limit is an id into the stack trace map; one with a limit keeps its
// frames in the value (bpf_get_stack), so that stacks equal in their first
// frames are equal.

func init() {
	funcs["kstack"] = funcDef{check: checkStackCall, emit: emitStackCall}
	funcs["ustack"] = funcDef{check: checkStackCall, emit: emitStackCall}
}

var stackModes = map[string]string{"bpftrace": "", "perf": "perf", "raw": "raw"}

func checkStackCall(k *checker, e *lang.Call) *Type {
	user := e.Name == "ustack"
	base := tKstack
	if user {
		base = tUstack
	}
	k.needCtx(e.Span, e.Name)
	if !k.nargs(e, 0, 2) {
		return base
	}
	t := *base
	for i, a := range e.Args {
		if id, ok := a.(*lang.Ident); ok {
			mode, known := stackModes[id.Name]
			switch {
			case i != 0:
				k.errorf(a.Sp(), "%s()'s mode comes first: %s(mode, limit)", e.Name, e.Name)
			case id.Name == "build_id" && user:
				k.errorf(a.Sp(), "not supported yet: the build_id stack mode")
			case !known:
				k.errorf(a.Sp(), "unknown stack mode %s: use bpftrace, perf or raw", id.Name)
			}
			t.StackMode = mode
			continue
		}
		n, ok := k.constEval(a)
		if !ok {
			k.errorf(a.Sp(), "%s()'s limit must be a constant (or a mode: bpftrace, perf, raw)", e.Name)
			continue
		}
		if i != len(e.Args)-1 {
			k.errorf(a.Sp(), "%s()'s limit comes last: %s(mode, limit)", e.Name, e.Name)
		}
		if n < 1 || n > MaxStackDepth {
			k.errorf(a.Sp(), "%s()'s limit must be 1 to %d, not %d", e.Name, MaxStackDepth, n)
			continue
		}
		if n < MaxStackDepth {
			t.StackLimit = int(n)
			t.Size = 8 * int(n)
			if user {
				t.Size += 8 // then the pid
			}
		}
	}
	return &t
}

func emitStackCall(g *gen, e *lang.Call) *val {
	t := g.sc.types[e]
	if t.StackLimit == 0 {
		v := g.stack(t.User)
		v.t = t
		return v
	}
	// The frames themselves: bpf_get_stack(ctx, buf, 8 * limit, flags),
	// zero after the last.
	var flags int32
	if t.User {
		flags = userStackFlag
	}
	buf := g.buffer(t.Size, t)
	g.emit(asm.Mov.Reg(asm.R1, ctxReg))
	g.load(asm.R2, buf)
	g.emit(asm.Mov.Imm(asm.R3, int32(8*t.StackLimit)), asm.Mov.Imm(asm.R4, flags), asm.FnGetStack.Call())
	if t.User {
		g.emit(asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32),
			asm.StoreMem(buf.base(), buf.off+int16(8*t.StackLimit), asm.R0, asm.DWord))
	}
	return buf
}

// stackArgs renders a stack type's mode and limit as written: "(raw, 3)".
func stackArgs(t *Type) string {
	var args []string
	if t.StackMode != "" {
		args = append(args, t.StackMode)
	}
	if t.StackLimit > 0 {
		args = append(args, fmt.Sprint(t.StackLimit))
	}
	if len(args) == 0 {
		return ""
	}
	return "(" + strings.Join(args, ", ") + ")"
}
