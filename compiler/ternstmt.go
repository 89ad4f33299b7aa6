package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// cond ? f() : g() as a statement, with functions that return nothing
// (printf, print, exit...), is if (cond) { f(); } else { g(); }, as in
// bpftrace (its ternary has the none type then).

// ternaryStmt checks such a statement; false when it is not one (both
// branches must be calls, and neither may give a value; the caller then
// checks it as an ordinary expression).
func (k *checker) ternaryStmt(x *lang.Ternary) bool {
	a, ok1 := x.Then.(*lang.Call)
	b, ok2 := x.Else.(*lang.Call)
	if !ok1 || !ok2 || !k.callGivesNone(a) || !k.callGivesNone(b) {
		return false
	}
	k.cond(x.Cond)
	k.sc.types[a] = k.call(a, true)
	k.sc.types[b] = k.call(b, true)
	k.sc.types[x] = tNone
	return true
}

// callGivesNone reports whether a call is to a function that gives no value.
func (k *checker) callGivesNone(e *lang.Call) bool {
	f := funcRow(builtinName(e.Name))
	if f == nil {
		return false
	}
	if f.form&formStmt != 0 {
		return true
	}
	// Ask the checker quietly: its answer depends on the arguments.
	saved, quiet := k.diags, k.quiet
	k.diags, k.quiet = &lang.Diags{}, true
	t := k.call(e, true)
	k.diags, k.quiet = saved, quiet
	return t.Kind == KNone
}

// ternaryStmt generates a statement checked by the checker's ternaryStmt.
func (g *gen) ternaryStmt(x *lang.Ternary) bool {
	if t, ok := g.sc.types[x]; !ok || t.Kind != KNone {
		return false
	}
	elseL, endL := g.label(), g.label()
	g.branchFalse(x.Cond, elseL)
	g.resetTemps()
	g.call(x.Then.(*lang.Call), true)
	g.resetTemps()
	g.emit(asm.Ja.Label(endL))
	g.mark(elseL)
	g.call(x.Else.(*lang.Call), true)
	g.resetTemps()
	g.mark(endL)
	return true
}
