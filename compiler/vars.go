package compiler

import (
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Scratch variables are block scoped, as in current bpftrace: a $variable
// first assigned (or declared with let) in a block lives until the block
// ends, and a later block may reuse the name for a new variable. Each such
// binding gets its own key ("x", then "x#2", ...), which names its home in
// sc.vars; sc.binds maps every $x the probe mentions to its binding.

// binding is what the checker knows of one variable while its block is open.
type binding struct {
	name     string
	key      string
	declared *lang.VarDecl // the let that made it, nil when made by an assignment
	assigned bool          // written at least once (or its address taken)
	explicit bool          // let $x: type; assignments convert to it
	// start and end bound the variable's life, in statements numbered in
	// checking order: from the statement that makes it to the end of its
	// block. Variables whose lives do not overlap may share memory (see
	// placeVars).
	start, end int
}

// varLife is a variable's life (see binding), kept for code generation.
type varLife struct {
	key        string
	start, end int
}

// varScope is one open block and its variables.
type varScope struct {
	names map[string]*binding
}

// pushScope opens a block scope.
func (k *checker) pushScope() {
	k.scopes = append(k.scopes, &varScope{}) // names: made by the first binding
}

// popScope closes the innermost block scope: its variables' lives end.
func (k *checker) popScope() {
	for _, b := range k.scopes[len(k.scopes)-1].names {
		b.end = k.seq + 1
	}
	k.scopes = k.scopes[:len(k.scopes)-1]
}

// lookupVar finds the binding a $name refers to here.
func (k *checker) lookupVar(name string) *binding {
	for i := len(k.scopes) - 1; i >= 0; i-- {
		if b, ok := k.scopes[i].names[name]; ok {
			return b
		}
	}
	return nil
}

// newBinding makes a new variable in the innermost scope.
func (k *checker) newBinding(name string) *binding {
	k.nbind[name]++
	key := name
	if n := k.nbind[name]; n > 1 {
		key = name + "#" + strconv.Itoa(n)
	}
	sc := k.scopes[len(k.scopes)-1]
	b := &binding{name: name, key: key, start: k.stmtStart}
	if sc.names == nil {
		sc.names = map[string]*binding{}
	}
	sc.names[name] = b
	k.probeBinds = append(k.probeBinds, b)
	return b
}

// bind records which binding the $name at v refers to.
func (k *checker) bind(v *lang.Var, b *binding) {
	k.sc.binds[v] = b.key
}

// varKey is the key of v's stack home.
func (sc *scope) varKey(v *lang.Var) string {
	if key, ok := sc.binds[v]; ok {
		return key
	}
	return v.Name
}

// varDecl checks `let $x [: type] [= value];`. A declared type is the
// variable's for good; without type or value the first assignment decides,
// and until then $x reads as zero of that type.
func (k *checker) varDecl(s *lang.VarDecl) {
	var rt *Type
	if s.Value != nil {
		rt = k.expr(s.Value)
	}
	if old := k.lookupVar(s.Var.Name); old != nil {
		d := k.errorf(s.Span, "variable $%s was already declared: variable shadowing is not allowed", s.Var.Name)
		if old.declared != nil {
			d.Hint("its declaration is at line %d", old.declared.Span.Start.Line)
		}
		return
	}
	b := k.newBinding(s.Var.Name)
	b.declared = s
	k.bind(s.Var, b)
	if s.Type != nil {
		dt, ok := k.declType(s.Type)
		if !ok {
			b.assigned = true // no second complaint
			return
		}
		b.explicit = true
		if k.sc.declared == nil {
			k.sc.declared = map[string]bool{}
		}
		k.sc.declared[b.key] = true
		k.sc.vars[b.key] = dt
		k.sc.types[s.Var] = dt
		if rt != nil {
			if !compatible(dt, rt) && !(dt.Kind == KPtr && rt.Kind == KInt) {
				b.assigned = true
				k.errorf(s.Value.Sp(), "cannot assign %s to $%s, declared %s", rt, s.Var.Name, dt)
				return
			}
		}
	}
	if s.Value != nil {
		k.assignBinding(s.Var, b, rt, s.Value.Sp())
	}
}

// declType resolves the type written in `let $x: type`.
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
		n := k.c.strlen
		if tn.ArrLen > 0 {
			n = tn.ArrLen
		}
		return strType(n), true
	}
	if t, ok := castType(tn); ok {
		return t, true
	}
	if tn.Ptr > 0 || strings.HasPrefix(tn.Name, "struct ") || strings.HasPrefix(tn.Name, "union ") {
		if t, ok := k.btfCast(tn); ok {
			return t, true
		}
		k.errorf(tn.Span, "unknown type %s: it is not in the kernel's or a loaded module's BTF", tn.Name)
		return nil, false
	}
	if t, ok := k.typedefInt(tn); ok {
		return t, true
	}
	k.errorf(tn.Span, "not supported yet: variables of type %s", tn.Name)
	return nil, false
}

// readVar types a read of $name.
func (k *checker) readVar(e *lang.Var) *Type {
	b := k.lookupVar(e.Name)
	if b == nil {
		k.errorf(e.Span, "undefined variable $%s", e.Name).Hint("assign a value first: $%s = ...", e.Name)
		return tInt64
	}
	k.bind(e, b)
	f := k.sc.final[b.key]
	if t, ok := k.sc.vars[b.key]; ok {
		if f != nil && compatible(t, f) {
			// The variable's home has its final layout.
			t = unify(t, f)
		}
		return t
	}
	// Declared without a type and not assigned yet: it reads as zero, of the
	// type a later assignment gives it (learned by the earlier, quiet pass).
	if !b.assigned {
		k.warnf(e.Span, "variable used before it was assigned: $%s", e.Name)
	}
	if f != nil {
		return f
	}
	return tInt64
}

// closeVars gives declared, never-assigned variables a type (they read as
// zero) and warns about them, at the end of a probe; it closes the probe's
// scope and keeps the variables' lives for code generation.
func (k *checker) closeVars() {
	for _, b := range k.probeBinds {
		if _, ok := k.sc.vars[b.key]; !ok {
			t := tInt64
			if lt, ok := k.sc.final[b.key]; ok {
				t = lt
			}
			k.sc.vars[b.key] = t
		}
		if b.declared != nil && !b.assigned {
			k.warnf(b.declared.Span, "variable $%s was never assigned to", b.name)
		}
	}
	if k.addrAt != nil && k.callbackAt != nil {
		// A callback copies the probe's variables back into the probe's
		// frame, and the verifier refuses stack addresses stored there.
		k.errorf(*k.addrAt, "not supported yet: the address of a variable in a probe with a loop whose body runs as a BPF callback (for over a map, or a range with run-time bounds)")
	}
	k.popScope()
	k.sc.lives = k.sc.lives[:0]
	for _, b := range k.probeBinds {
		k.sc.lives = append(k.sc.lives, varLife{b.key, b.start, b.end})
	}
}

// assignBinding types an assignment of rt to the variable v refers to.
func (k *checker) assignBinding(v *lang.Var, b *binding, rt *Type, sp lang.Span) {
	k.bind(v, b)
	if rt.Kind == KNone {
		k.errorf(sp, "this expression has no value to assign")
		return
	}
	if rt.IsAgg() {
		k.errorf(sp, "aggregations can only be assigned to maps")
		return
	}
	b.assigned = true
	if old, ok := k.sc.vars[b.key]; ok {
		if !compatible(old, rt) && !(old.Kind == KPtr && rt.Kind == KInt) {
			k.errorf(sp, "type mismatch for $%s: it holds %s, cannot assign %s", v.Name, old, rt)
			return
		}
		if !b.explicit {
			rt = unify(old, rt)
		} else {
			if old.Kind == KString && rt.Size > old.Size {
				k.errorf(sp, "a string of %d bytes does not fit $%s, declared %s", rt.Size, v.Name, old)
			}
			rt = old
		}
	}
	k.sc.vars[b.key] = rt
	k.sc.types[v] = rt
}

// varAddr types &$x: a pointer to the variable's stack home. The variable
// counts as assigned (the pointer may be written through).
func (k *checker) varAddr(v *lang.Var) *Type {
	b := k.lookupVar(v.Name)
	if b == nil {
		k.errorf(v.Span, "undefined variable $%s", v.Name)
		return tInt64
	}
	t := k.readVar(v)
	k.sc.types[v] = t
	b.assigned = true
	if k.addrAt == nil {
		k.addrAt = &v.Span
	}
	if _, ok := k.sc.vars[b.key]; !ok {
		k.sc.vars[b.key] = t
	}
	return &Type{Kind: KPtr, Size: 8, Elem: t}
}

// varAddr emits &$x.
func (g *gen) varAddr(v *lang.Var) *val {
	home := g.vars[g.sc.varKey(v)]
	r := g.newTemp(g.sc.types[v])
	g.emit(asm.Mov.Reg(r.reg, home.base()), asm.Add.Imm(r.reg, int32(home.off)))
	return r
}

// terminates reports whether control never goes past s: a jump, exit(), or
// an if whose branches both end so.
func terminates(s lang.Stmt) bool {
	switch s := s.(type) {
	case *lang.Jump:
		return true
	case *lang.ExprStmt:
		c, ok := s.X.(*lang.Call)
		return ok && c.Name == "exit" && len(c.Args) <= 1 // a bad exit() is an error already
	case *lang.If:
		return s.Else != nil && terminates(s.Then) && terminates(s.Else)
	case *lang.Block:
		for _, x := range s.Stmts {
			if terminates(x) {
				return true
			}
		}
	}
	return false
}
