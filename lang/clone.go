package lang

// cloner deep-copies syntax trees. With exp set, every span of the copy is
// marked as expanded from it (the positions stay those of the original);
// otherwise spans are copied unchanged. n counts the nodes copied.
type cloner struct {
	exp *Expansion
	n   int
}

func (c *cloner) sp(s Span) Span {
	c.n++
	if c.exp != nil {
		s.Exp = c.exp
	}
	return s
}

func (c *cloner) block(b *Block) *Block {
	if b == nil {
		return nil
	}
	return &Block{Span: c.sp(b.Span), Trailing: b.Trailing, Stmts: cloneAll(b.Stmts, c.stmt)}
}

func (c *cloner) stmt(s Stmt) Stmt {
	switch s := s.(type) {
	case nil:
		return nil
	case *ExprStmt:
		return &ExprStmt{Span: c.sp(s.Span), X: c.expr(s.X)}
	case *Assign:
		return &Assign{Span: c.sp(s.Span), LHS: c.expr(s.LHS), Op: s.Op, RHS: c.expr(s.RHS)}
	case *VarDecl:
		return &VarDecl{Span: c.sp(s.Span), Var: c.varRef(s.Var), Type: c.typeName(s.Type), Value: c.expr(s.Value)}
	case *If:
		return c.ifStmt(s)
	case *Unroll:
		return &Unroll{Span: c.sp(s.Span), Count: c.expr(s.Count), Body: c.block(s.Body)}
	case *While:
		return &While{Span: c.sp(s.Span), Cond: c.expr(s.Cond), Body: c.block(s.Body)}
	case *For:
		f := &For{Span: c.sp(s.Span), Var: c.varRef(s.Var), Lo: c.expr(s.Lo), Hi: c.expr(s.Hi), Body: c.block(s.Body)}
		if s.Map != nil {
			f.Map = c.expr(s.Map).(*MapRef)
		}
		return f
	case *Jump:
		return &Jump{Span: c.sp(s.Span), Kind: s.Kind, Value: c.expr(s.Value)}
	case *Block:
		return c.block(s)
	}
	panic("clone: unexpected statement")
}

func (c *cloner) ifStmt(s *If) *If {
	n := &If{Span: c.sp(s.Span), Cond: c.expr(s.Cond), Then: c.block(s.Then)}
	if s.Else != nil {
		n.Else = c.stmt(s.Else)
	}
	return n
}

func (c *cloner) varRef(v *Var) *Var {
	if v == nil {
		return nil
	}
	return &Var{Span: c.sp(v.Span), Name: v.Name}
}

func (c *cloner) typeName(t *TypeName) *TypeName {
	if t == nil {
		return nil
	}
	return &TypeName{Span: c.sp(t.Span), Name: t.Name, Ptr: t.Ptr, ArrLen: t.ArrLen, TypeOf: c.expr(t.TypeOf)}
}

func (c *cloner) exprs(list []Expr) []Expr {
	if list == nil {
		return nil
	}
	return cloneAll(list, c.expr)
}

// cloneAll copies a list with clone; an empty list stays non-nil.
func cloneAll[T any](list []T, clone func(T) T) []T {
	out := make([]T, len(list))
	for i, x := range list {
		out[i] = clone(x)
	}
	return out
}

func (c *cloner) expr(e Expr) Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *IntLit:
		n := *e
		n.Span = c.sp(e.Span)
		return &n
	case *StrLit:
		return &StrLit{Span: c.sp(e.Span), Val: e.Val}
	case *BoolLit:
		return &BoolLit{Span: c.sp(e.Span), Val: e.Val}
	case *Ident:
		return &Ident{Span: c.sp(e.Span), Name: e.Name}
	case *PosParam:
		return &PosParam{Span: c.sp(e.Span), N: e.N, Count: e.Count}
	case *Var:
		return c.varRef(e)
	case *MapRef:
		return &MapRef{Span: c.sp(e.Span), Name: e.Name, Keys: c.exprs(e.Keys)}
	case *Call:
		return &Call{Span: c.sp(e.Span), Name: e.Name, Args: c.exprs(e.Args)}
	case *Binary:
		return &Binary{Span: c.sp(e.Span), Op: e.Op, X: c.expr(e.X), Y: c.expr(e.Y)}
	case *Unary:
		return &Unary{Span: c.sp(e.Span), Op: e.Op, X: c.expr(e.X), Postfix: e.Postfix}
	case *Ternary:
		return &Ternary{Span: c.sp(e.Span), Cond: c.expr(e.Cond), Then: c.expr(e.Then), Else: c.expr(e.Else)}
	case *Field:
		return &Field{Span: c.sp(e.Span), X: c.expr(e.X), Name: e.Name, Arrow: e.Arrow}
	case *Index:
		return &Index{Span: c.sp(e.Span), X: c.expr(e.X), Index: c.expr(e.Index)}
	case *Cast:
		return &Cast{Span: c.sp(e.Span), Type: c.typeName(e.Type), X: c.expr(e.X)}
	case *Tuple:
		t := &Tuple{Span: c.sp(e.Span), Elems: c.exprs(e.Elems)}
		if e.Names != nil {
			t.Names = append([]string(nil), e.Names...)
		}
		return t
	case *TypeName:
		return c.typeName(e)
	case *Block:
		return c.block(e)
	case *If:
		return c.ifStmt(e)
	}
	panic("clone: unexpected expression")
}

// Copy returns a deep copy of p. With origin set, every span of the copy
// says it comes from origin's file and text (an Expansion without a
// macro), so a copy can join another program (Add) and its diagnostics
// still show its own lines: the REPL compiles each chunk typed so far,
// parsed once, as one program.
func (p *Program) Copy(origin *Expansion) *Program {
	c := &cloner{exp: origin}
	q := &Program{Span: c.sp(p.Span), File: p.File, Src: p.Src, Shebang: p.Shebang}
	for _, d := range p.Preamble {
		q.Preamble = append(q.Preamble, &CDecl{Span: c.sp(d.Span), Text: d.Text})
	}
	for _, im := range p.Imports {
		q.Imports = append(q.Imports, &Import{Span: c.sp(im.Span), Path: im.Path})
	}
	for _, a := range p.Config {
		q.Config = append(q.Config, c.stmt(a).(*Assign))
	}
	for _, md := range p.MapDecls {
		q.MapDecls = append(q.MapDecls, &MapDecl{Span: c.sp(md.Span), Name: md.Name, Kind: md.Kind, Args: c.exprs(md.Args)})
	}
	for _, m := range p.Macros {
		q.Macros = append(q.Macros, &Macro{Span: c.sp(m.Span), Name: m.Name, Params: c.exprs(m.Params),
			Body: c.block(m.Body), Head: c.sp(m.Head), Lib: m.Lib})
	}
	for _, pr := range p.Probes {
		q.Probes = append(q.Probes, c.probe(pr))
	}
	return q
}

func (c *cloner) probe(p *Probe) *Probe {
	q := &Probe{Span: c.sp(p.Span), Pred: c.expr(p.Pred), Body: c.block(p.Body)}
	for _, s := range p.Specs {
		q.Specs = append(q.Specs, &ProbeSpec{Span: c.sp(s.Span), Raw: s.Raw, Provider: s.Provider,
			Parts: append([]string(nil), s.Parts...)})
	}
	return q
}

// Add appends the items of q (a Copy made for the purpose) to p's, after
// p's own: p reads as p's text followed by q's.
func (p *Program) Add(q *Program) {
	p.Preamble = append(p.Preamble, q.Preamble...)
	p.Imports = append(p.Imports, q.Imports...)
	p.Config = append(p.Config, q.Config...)
	p.MapDecls = append(p.MapDecls, q.MapDecls...)
	p.Macros = append(p.Macros, q.Macros...)
	p.Probes = append(p.Probes, q.Probes...)
}
