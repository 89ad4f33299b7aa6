package compiler

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Block expressions (`{ stmts; value }`, also what a macro use expands to),
// the discard `_ = expr`, and declarations: `let $x;`, `let $x: type [= v]`.

// blockValue checks a block used as a value: its statements, then its
// trailing expression, which gives the block its type.
func (k *checker) blockValue(b *lang.Block) *Type {
	n := len(b.Stmts)
	if !b.Trailing || n == 0 {
		k.block(b)
		return tNone
	}
	for _, s := range b.Stmts[:n-1] {
		k.stmt(s)
	}
	switch s := b.Stmts[n-1].(type) {
	case *lang.ExprStmt:
		return k.expr(s.X)
	case *lang.Block:
		return k.expr(s)
	case *lang.If:
		return k.expr(s)
	}
	k.stmt(b.Stmts[n-1])
	return tNone
}

// discardBlock checks a block whose value, if any, is thrown away (a macro
// used as a statement): its trailing expression is no mistake.
func (k *checker) discardBlock(b *lang.Block) {
	for i, s := range b.Stmts {
		if es, ok := s.(*lang.ExprStmt); ok && b.Trailing && i == len(b.Stmts)-1 {
			k.discard(es.X)
			continue
		}
		k.stmt(s)
	}
}

// discard checks an expression whose value is not used, quietly.
func (k *checker) discard(x lang.Expr) {
	switch x := x.(type) {
	case *lang.Call:
		k.sc.types[x] = k.call(x, true)
	case *lang.Block:
		k.discardBlock(x)
	default:
		k.expr(x)
	}
}

// blockValue generates a block used as a value. The statements may branch
// and call helpers, so temporaries of the enclosing expression move to the
// stack first: then no statement can spill one on only some paths.
func (g *gen) blockValue(b *lang.Block) *val {
	n := len(b.Stmts)
	if n > 1 {
		for len(g.live) > 0 {
			g.spill()
		}
	}
	for _, s := range b.Stmts[:n-1] {
		g.stmt(s)
	}
	switch s := b.Stmts[n-1].(type) {
	case *lang.ExprStmt:
		return g.expr(s.X)
	default:
		return g.expr(s.(lang.Expr))
	}
}

// declare checks `let $x [: type] [= value]`. A declared type is the
// variable's for good; without type or value the first assignment decides.
func (k *checker) declare(s *lang.VarDecl) {
	var declared *Type
	if s.Type != nil {
		t, ok := k.declType(s.Type)
		if !ok {
			return
		}
		declared = t
	}
	switch {
	case s.Value != nil && declared == nil:
		k.assignVar(s.Var, k.expr(s.Value), s.Value.Sp())
	case s.Value != nil:
		vt := k.expr(s.Value)
		if !compatible(declared, vt) {
			k.errorf(s.Value.Sp(), "cannot assign %s to $%s, declared %s", vt, s.Var.Name, declared)
			return
		}
		if declared.Kind == KString && vt.Size > declared.Size {
			k.errorf(s.Value.Sp(), "a string of %d bytes does not fit $%s, declared %s", vt.Size, s.Var.Name, declared)
		}
		k.pinVar(s.Var, declared)
	case declared != nil:
		k.pinVar(s.Var, declared)
	default:
		// let $x; alone: $x has the type its assignments give it (learned
		// in the first pass), so it may be read before one runs.
		if _, ok := k.sc.vars[s.Var.Name]; !ok {
			if t, ok := k.sc.learned[s.Var.Name]; ok {
				k.sc.vars[s.Var.Name] = t
			}
		}
	}
}

// pinVar gives a variable its declared type.
func (k *checker) pinVar(v *lang.Var, t *Type) {
	if old, ok := k.sc.vars[v.Name]; ok && !compatible(old, t) {
		k.errorf(v.Span, "type mismatch for $%s: it holds %s, cannot declare it %s", v.Name, old, t)
		return
	}
	if k.sc.declared == nil {
		k.sc.declared = map[string]bool{}
	}
	k.sc.declared[v.Name] = true
	k.sc.vars[v.Name] = t
	k.sc.types[v] = t
}

// declType resolves the type in `let $x: type`.
func (k *checker) declType(tn *lang.TypeName) (*Type, bool) {
	if tn.Name == "typeof" {
		if in, ok := tn.TypeOf.(*lang.TypeName); ok {
			return k.declType(in)
		}
		t := k.expr(tn.TypeOf)
		if t.Kind == KNone || t.IsAgg() {
			k.errorf(tn.Span, "typeof() of an expression without a plain value")
			return nil, false
		}
		return t, true
	}
	if tn.Name == "string" && tn.Ptr == 0 {
		size := k.c.strlen
		if tn.ArrLen > 0 {
			size = tn.ArrLen
		}
		return strType(size), true
	}
	if t, ok := castType(tn); ok {
		return t, true
	}
	if tn.Ptr > 0 || strings.HasPrefix(tn.Name, "struct ") || strings.HasPrefix(tn.Name, "union ") {
		if t, ok := k.btfCast(tn); ok {
			return t, true
		}
	}
	if t, ok := k.typedefInt(tn); ok {
		return t, true
	}
	k.errorf(tn.Span, "not supported yet: variables of type %s", tn.Name)
	return nil, false
}

// declare generates `let $x ...`: without a value the variable starts
// again from zero.
func (g *gen) declare(s *lang.VarDecl) {
	if s.Value != nil {
		g.assignVar(s.Var, "=", s.Value)
		return
	}
	home, ok := g.vars[s.Var.Name]
	if !ok {
		return
	}
	if home.kind == vMem {
		g.zero(home)
		return
	}
	g.emit(storeImm(asm.R10, home.off, 0, asm.DWord))
}

// aggBlock finds the aggregation in `@m = count()` or `@m = { stmts;
// count() }` (a block, say from a macro, whose value is one): the
// statements to run first, and the call; call is nil for other values.
func aggBlock(e lang.Expr) (pre []lang.Stmt, call *lang.Call) {
	for {
		switch x := e.(type) {
		case *lang.Call:
			if isAgg(x.Name) {
				return pre, x
			}
			return nil, nil
		case *lang.Block:
			n := len(x.Stmts)
			if !x.Trailing || n == 0 {
				return nil, nil
			}
			es, ok := x.Stmts[n-1].(*lang.ExprStmt)
			if !ok {
				return nil, nil
			}
			pre = append(pre, x.Stmts[:n-1]...)
			e = es.X
		default:
			return nil, nil
		}
	}
}

// ifValue checks `if (c) { a } else { b }` used as a value.
func (k *checker) ifValue(e *lang.If) *Type {
	k.cond(e.Cond)
	a := k.expr(e.Then)
	if e.Else == nil {
		k.errorf(e.Span, "an if used as a value needs an else")
		return tNone
	}
	b := k.expr(e.Else.(lang.Expr))
	switch {
	case a.Kind == KNone || b.Kind == KNone:
		k.errorf(e.Span, "both branches of an if used as a value must end with a value")
		return tNone
	case !compatible(a, b):
		k.errorf(e.Span, "the two branches have different types: %s and %s", a, b)
		return a
	case a.IsAgg():
		k.errorf(e.Span, "an if cannot choose between aggregations")
		return a
	}
	return unify(a, b)
}

// ifValue generates an if used as a value. Each branch leaves its value in
// one stack home (a register would not survive the branches' statements).
func (g *gen) ifValue(e *lang.If) *val {
	t := g.sc.types[e]
	for len(g.live) > 0 {
		g.spill()
	}
	size := 8
	if t.InMemory() {
		size = t.MemSize()
	}
	var home *val
	if t.InMemory() {
		home = g.mem(align8(size), t)
	} else {
		home = &val{kind: vSlot, off: g.alloc(size), size: align8(size), t: t}
	}
	put := func(x lang.Expr) {
		v := g.expr(x)
		if t.Kind == KInt {
			v = g.truncate(v, t)
		}
		g.store(home, v)
		g.release(v)
	}
	elseL, endL := g.label(), g.label()
	g.branchFalse(e.Cond, elseL)
	g.resetTemps()
	put(e.Then)
	g.emit(asm.Ja.Label(endL))
	g.mark(elseL)
	put(e.Else.(lang.Expr))
	g.mark(endL)
	if home.kind == vMem {
		g.emit(asm.Mov.Imm(asm.R0, 0)) // land the label
		return home
	}
	r := g.newTemp(t)
	g.load(r.reg, home)
	return r
}
