package compiler

import (
	"github.com/bpfsh/bpfsh/lang"
)

// kstack(MODE, LIMIT) and ustack(MODE, LIMIT), either argument optional:
// the mode says how user space prints the frames, the limit how many it
// prints (the kernel records up to MaxStackDepth either way).

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
