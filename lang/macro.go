package lang

import (
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Macros are expanded on the syntax tree, before type checking, so that the
// compiler never sees them: ExpandMacros replaces each use of a macro with a
// copy of its body, a block expression whose value is the body's trailing
// expression.
//
// A macro's parameters say what an argument may be and how it is bound:
//
//   - $x takes a scratch variable by reference: $x in the body is the
//     caller's variable, so the macro can change it;
//   - @m takes a map (without keys) by reference;
//   - a plain name takes any expression (or a typeof(type)), substituted
//     wherever the name appears; each appearance evaluates it again.
//
// Macros are hygienic: a variable the body assigns or declares is renamed
// (to $$name_N_var) so it cannot clash with the caller's variables, and the
// body may use only the maps passed to it. Macros may use other macros
// (defined in any order) but not recursively. Several macros may share a
// name if their parameters differ: the one whose parameters fit the
// arguments is chosen, a program's own before the library's.

// Library is macro source that ships with bpfsh (its standard library),
// parsed the first time a program uses one of its names.
type Library struct {
	File string
	Src  []byte

	scan   sync.Once
	names  map[string]bool
	parse  sync.Once
	macros map[string][]*Macro
	diags  *Diags
}

// NewLibrary returns a library of the macros in src, which is parsed lazily.
func NewLibrary(file string, src []byte) *Library {
	return &Library{File: file, Src: src}
}

// Has reports whether the library defines a macro called name, without
// parsing it: it looks for lines that start with "macro name(".
func (l *Library) Has(name string) bool {
	if l == nil {
		return false
	}
	l.scan.Do(func() {
		l.names = map[string]bool{}
		for _, line := range strings.Split(string(l.Src), "\n") {
			if rest, ok := strings.CutPrefix(line, "macro "); ok {
				if i := strings.IndexByte(rest, '('); i > 0 {
					l.names[strings.TrimSpace(rest[:i])] = true
				}
			}
		}
	})
	return l.names[name]
}

// Names lists the names of the library's macros, sorted.
func (l *Library) Names() []string {
	l.Has("")
	names := make([]string, 0, len(l.names))
	for n := range l.names {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Macros returns the library's macros called name, parsing the library on
// first use.
func (l *Library) Macros(name string) []*Macro {
	if !l.Has(name) {
		return nil
	}
	l.load()
	return l.macros[name]
}

// Diags returns the library's own parse errors (a bug in bpfsh when any).
func (l *Library) Diags() *Diags {
	l.load()
	return l.diags
}

func (l *Library) load() {
	l.parse.Do(func() {
		prog, d := Parse(l.File, l.Src)
		l.diags = d
		l.macros = map[string][]*Macro{}
		for _, m := range prog.Macros {
			m.Lib = l
			l.macros[m.Name] = append(l.macros[m.Name], m)
		}
	})
}

// MacroOptions configure ExpandMacros.
type MacroOptions struct {
	// Library supplies macros the program does not define (may be nil).
	Library *Library
	// Builtin reports whether the compiler implements name itself: a call to
	// it that fits none of the macros of that name is left alone instead of
	// being an error. May be nil.
	Builtin func(name string) bool
}

// maxExpansion bounds the nodes expansion may create: arguments are copied
// at every use, so nested calls can grow a program exponentially.
const maxExpansion = 200000

// ExpandMacros replaces every use of a macro in prog's probes with a copy of
// the macro's body, reporting problems (unknown or mismatched arguments,
// recursion, unhygienic map use) into diags. The macro definitions are left
// in prog.Macros but nothing refers to them afterwards.
func ExpandMacros(prog *Program, opts MacroOptions, diags *Diags) {
	x := &expander{lib: opts.Library, builtin: opts.Builtin, d: diags, user: map[string][]*Macro{}}
	for _, m := range prog.Macros {
		x.define(m)
	}
	top := &frame{}
	for _, p := range prog.Probes {
		if p.Pred != nil {
			p.Pred = x.expr(top, p.Pred)
		}
		x.block(top, p.Body)
		if x.tooBig {
			return
		}
	}
}

type expander struct {
	user    map[string][]*Macro
	lib     *Library
	builtin func(string) bool
	d       *Diags
	stack   []*Macro // macros being expanded, outermost first
	n       int      // expansions so far: numbers renamed variables
	nodes   int
	tooBig  bool
}

// frame is one expansion in progress: how the macro's parameters are bound
// and which of its variables are renamed. The frame of probe code (and of
// arguments substituted into a body) binds and renames nothing.
type frame struct {
	m       *Macro
	id      int
	vars    map[string]string // $param → the caller's variable
	maps    map[string]string // @param → the caller's map
	exprs   map[string]Expr   // name param → the argument expression
	renamed map[string]bool   // variables of the body, renamed
}

func (f *frame) inMacro() bool { return f.m != nil }

// define adds one of the program's macros, checking its parameters.
func (x *expander) define(m *Macro) {
	seen := map[string]bool{}
	for _, p := range m.Params {
		var key, what string
		switch p := p.(type) {
		case *Var:
			key, what = "$"+p.Name, "variable"
		case *MapRef:
			key, what = "@"+p.Name, "map"
		case *Ident:
			key, what = p.Name, "name"
			if isBuiltinVar(p.Name) {
				x.d.Errorf(p.Span, "builtin %s cannot be a macro parameter", p.Name)
				return
			}
		}
		if seen[key] {
			x.d.Errorf(p.Sp(), "macro %s has two parameters called %s", m.Name, key).Hint("each %s parameter needs its own name", what)
			return
		}
		seen[key] = true
	}
	for _, old := range x.user[m.Name] {
		if distance(old, m.Params) == 0 {
			x.d.Errorf(m.nameSpan(), "macro %s is already defined with parameters that fit the same arguments", m.Name).
				Note(old.nameSpan(), "the first definition of %s", m.Name)
			return
		}
	}
	x.user[m.Name] = append(x.user[m.Name], m)
}

// nameSpan is the span of "macro name(params)", for messages about a
// definition; a library macro's span carries the library's source.
func (m *Macro) nameSpan() Span {
	sp := m.Head
	if m.Lib != nil {
		sp.Exp = &Expansion{File: m.Lib.File, Src: m.Lib.Src}
	}
	return sp
}

// distance scores how badly args fit a macro's parameters: 0 is a fit; a
// wrong count outweighs any number of wrong kinds.
func distance(m *Macro, args []Expr) int {
	d := 1024 * abs(len(m.Params)-len(args))
	for i := 0; i < len(m.Params) && i < len(args); i++ {
		switch p := m.Params[i].(type) {
		case *MapRef:
			if a, ok := args[i].(*MapRef); !ok || a.Keys != nil {
				d++
			}
		case *Var:
			if _, ok := args[i].(*Var); !ok {
				d++
			}
		default:
			_ = p
		}
	}
	return d
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// lookup finds the macro that fits args: an exact fit among the program's
// macros, else among the library's. Inside a library macro only library
// macros are visible, so a program cannot change how the library works.
// Without a fit it returns the closest candidates (nil when there are no
// macros of that name at all).
func (x *expander) lookup(name string, args []Expr) (*Macro, []*Macro) {
	libOnly := len(x.stack) > 0 && x.stack[len(x.stack)-1].Lib != nil
	var cands []*Macro
	if !libOnly {
		cands = append(cands, x.user[name]...)
	}
	cands = append(cands, x.lib.Macros(name)...)
	best := -1
	var closest []*Macro
	for _, m := range cands {
		d := distance(m, args)
		if d == 0 {
			return m, nil // the program's own come first
		}
		if best < 0 || d < best {
			best, closest = d, closest[:0]
		}
		if d == best {
			closest = append(closest, m)
		}
	}
	return nil, closest
}

func (x *expander) block(f *frame, b *Block) {
	if b == nil {
		return
	}
	for i, s := range b.Stmts {
		b.Stmts[i] = x.stmt(f, s)
	}
}

func (x *expander) stmt(f *frame, s Stmt) Stmt {
	switch s := s.(type) {
	case *ExprStmt:
		s.X = x.expr(f, s.X)
	case *Assign:
		if v, ok := s.LHS.(*Var); ok && f.inMacro() {
			if _, byRef := f.vars[v.Name]; !byRef {
				f.renamed[v.Name] = true
			}
		}
		s.LHS = x.expr(f, s.LHS)
		s.RHS = x.expr(f, s.RHS)
	case *VarDecl:
		x.declare(f, s.Var, true)
		s.Type = x.typeName(f, s.Type)
		s.Value = x.expr(f, s.Value)
	case *If:
		x.ifStmt(f, s)
	case *Unroll:
		s.Count = x.expr(f, s.Count)
		x.block(f, s.Body)
	case *While:
		s.Cond = x.expr(f, s.Cond)
		x.block(f, s.Body)
	case *For:
		if s.Map != nil {
			if m, ok := x.expr(f, s.Map).(*MapRef); ok {
				s.Map = m
			}
		}
		s.Lo, s.Hi = x.expr(f, s.Lo), x.expr(f, s.Hi)
		x.declare(f, s.Var, false)
		x.block(f, s.Body)
	case *Jump:
		s.Value = x.expr(f, s.Value)
	case *Block:
		x.block(f, s)
	}
	return s
}

func (x *expander) ifStmt(f *frame, s *If) {
	s.Cond = x.expr(f, s.Cond)
	x.block(f, s.Then)
	if s.Else != nil {
		s.Else = x.stmt(f, s.Else)
	}
}

// declare renames a variable a macro's body declares (with let, or as a
// loop variable), so it cannot clash with the caller's.
func (x *expander) declare(f *frame, v *Var, isLet bool) {
	if v == nil || !f.inMacro() {
		return
	}
	if caller, ok := f.vars[v.Name]; ok {
		if isLet {
			x.d.Errorf(v.Span, "let $%s would hide the macro's parameter $%s", v.Name, v.Name).
				Hint("the parameter already is the caller's variable; give this one another name")
			return
		}
		v.Name = caller // a loop over the caller's variable
		return
	}
	f.renamed[v.Name] = true
	v.Name = x.renamedVar(f, v.Name)
}

func (x *expander) renamedVar(f *frame, name string) string {
	return "$" + f.m.Name + "_" + strconv.Itoa(f.id) + "_" + name
}

func (x *expander) exprs(f *frame, list []Expr) {
	for i, e := range list {
		list[i] = x.expr(f, e)
	}
}

func (x *expander) expr(f *frame, e Expr) Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *Ident:
		if arg, ok := f.exprs[e.Name]; ok {
			return x.substitute(arg)
		}
		return x.use(f, e.Name, nil, e.Span, e)
	case *Call:
		x.exprs(f, e.Args)
		return x.use(f, e.Name, e.Args, e.Span, e)
	case *Var:
		if f.inMacro() {
			if caller, ok := f.vars[e.Name]; ok {
				e.Name = caller
			} else if f.renamed[e.Name] {
				e.Name = x.renamedVar(f, e.Name)
			}
		}
	case *MapRef:
		x.exprs(f, e.Keys)
		if f.inMacro() {
			if caller, ok := f.maps[e.Name]; ok {
				e.Name = caller
			} else {
				x.d.Errorf(e.Span, "macro %s uses map %s, which is not one of its parameters", f.m.Name, mapName(e.Name)).
					Hint("pass the map in: macro %s(%s, ...)", f.m.Name, mapName(e.Name))
			}
		}
	case *Binary:
		e.X, e.Y = x.expr(f, e.X), x.expr(f, e.Y)
	case *Unary:
		e.X = x.expr(f, e.X)
	case *Ternary:
		e.Cond, e.Then, e.Else = x.expr(f, e.Cond), x.expr(f, e.Then), x.expr(f, e.Else)
	case *Field:
		e.X = x.expr(f, e.X)
	case *Index:
		e.X, e.Index = x.expr(f, e.X), x.expr(f, e.Index)
	case *Cast:
		e.Type = x.typeName(f, e.Type)
		e.X = x.expr(f, e.X)
	case *Tuple:
		x.exprs(f, e.Elems)
	case *TypeName:
		return x.typeName(f, e)
	case *Block:
		x.block(f, e)
	case *If:
		x.ifStmt(f, e)
	}
	return e
}

func mapName(name string) string { return "@" + name }

// substitute returns a copy of a macro argument for one use of its
// parameter. The argument was expanded where it was written, so the copy
// needs no further work; a typeof(type) argument stands for the type.
func (x *expander) substitute(arg Expr) Expr {
	if tn, ok := arg.(*TypeName); ok && tn.Name == "typeof" {
		if inner, ok := tn.TypeOf.(*TypeName); ok {
			arg = inner
		}
	}
	c := &cloner{}
	out := c.expr(arg)
	x.grow(c.n, arg.Sp())
	return out
}

func (x *expander) grow(n int, sp Span) {
	x.nodes += n
	if x.nodes > maxExpansion && !x.tooBig {
		x.tooBig = true
		x.d.Errorf(sp.Root(), "macro expansion makes the program too large (over %d nodes)", maxExpansion).
			Hint("a macro that uses its argument several times copies it each time; assign it to a variable first")
	}
}

// use expands name(args) (args nil for a bare name) when a macro fits, and
// returns orig otherwise.
func (x *expander) use(f *frame, name string, args []Expr, sp Span, orig Expr) Expr {
	if x.tooBig {
		return orig
	}
	m, closest := x.lookup(name, args)
	if m == nil {
		if len(closest) > 0 && (x.builtin == nil || !x.builtin(name)) {
			x.mismatch(name, args, sp, closest[0])
		}
		return orig
	}
	for i, s := range x.stack {
		if s == m {
			var chain []string
			for _, c := range x.stack[i:] {
				chain = append(chain, c.Name)
			}
			x.d.Errorf(sp, "macro %s uses itself: %s > %s", m.Name, strings.Join(chain, " > "), m.Name).
				Hint("macros cannot be recursive")
			return orig
		}
	}
	return x.expand(m, args, sp)
}

func (x *expander) mismatch(name string, args []Expr, sp Span, m *Macro) {
	g := x.d.Errorf(sp, "no definition of macro %s fits %s(%s)", name, name, describeArgs(args))
	if len(m.Params) != len(args) {
		g.Note(m.nameSpan(), "the closest definition takes %d argument%s, not %d", len(m.Params), plural(len(m.Params)), len(args))
		return
	}
	for i, p := range m.Params {
		var want string
		switch p.(type) {
		case *MapRef:
			if a, ok := args[i].(*MapRef); ok && a.Keys == nil {
				continue
			}
			want = "a map"
		case *Var:
			if _, ok := args[i].(*Var); ok {
				continue
			}
			want = "a $variable"
		default:
			continue
		}
		x.d.Errorf(args[i].Sp(), "%s() wants %s here, not %s", name, want, describeArg(args[i])).
			Note(p.Sp(), "the parameter in the closest definition")
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func describeArgs(args []Expr) string {
	var s []string
	for _, a := range args {
		s = append(s, describeArg(a))
	}
	return strings.Join(s, ", ")
}

func describeArg(a Expr) string {
	switch a := a.(type) {
	case *Var:
		return "a variable"
	case *MapRef:
		if a.Keys != nil {
			return "a map element"
		}
		return "a map"
	case *TypeName:
		return "a type"
	}
	return "an expression"
}

// expand returns a copy of m's body for a call at sp with args bound to its
// parameters. The copy's outer block stands where the call was (its span is
// the call's); everything inside keeps the body's positions, marked with
// the expansion.
func (x *expander) expand(m *Macro, args []Expr, sp Span) Expr {
	x.n++
	f := &frame{m: m, id: x.n, vars: map[string]string{}, maps: map[string]string{}, exprs: map[string]Expr{},
		renamed: map[string]bool{}}
	for i, p := range m.Params {
		switch p := p.(type) {
		case *Var:
			f.vars[p.Name] = args[i].(*Var).Name
		case *MapRef:
			f.maps[p.Name] = args[i].(*MapRef).Name
		case *Ident:
			a := args[i]
			switch a.(type) {
			case *Var, *MapRef:
				// By value: the body must not change the caller's variable
				// or map through a plain parameter.
				a = &Block{Span: a.Sp(), Stmts: []Stmt{&ExprStmt{Span: a.Sp(), X: a}}, Trailing: true}
			}
			f.exprs[p.Name] = a
		}
	}
	exp := &Expansion{Macro: m.Name, Call: sp}
	if m.Lib != nil {
		exp.File, exp.Src = m.Lib.File, m.Lib.Src
	} else if o := m.Span.Exp; o != nil && o.Macro == "" {
		exp.File, exp.Src = o.File, o.Src // defined in another part (Program.Copy)
	}
	c := &cloner{exp: exp}
	body := c.block(m.Body)
	x.grow(c.n, sp)
	body.Span = sp
	x.stack = append(x.stack, m)
	x.block(f, body)
	x.stack = x.stack[:len(x.stack)-1]
	if len(body.Stmts) == 1 && body.Trailing {
		// A body that is just an expression (macro add1(x) { x + 1 })
		// expands to the expression itself: then it works wherever the
		// compiler wants a literal (a printf format, a constant).
		if es, ok := body.Stmts[0].(*ExprStmt); ok {
			return es.X
		}
	}
	return body
}

// typeName substitutes type parameters in a type written in a macro's body:
// with t bound to typeof(uint64), t* is uint64* and t[2] is uint64[2].
func (x *expander) typeName(f *frame, t *TypeName) *TypeName {
	if t == nil {
		return nil
	}
	if t.Name == "typeof" {
		if id, ok := t.TypeOf.(*Ident); ok {
			// A bare name inside typeof is a type unless it is a parameter.
			arg, isParam := f.exprs[id.Name]
			if !isParam {
				return t
			}
			if tn, ok := arg.(*TypeName); ok && tn.Name == "typeof" {
				c := &cloner{}
				return c.typeName(tn)
			}
		}
		t.TypeOf = x.expr(f, t.TypeOf)
		return t
	}
	prefix, base := "", t.Name
	for _, kw := range []string{"struct ", "union ", "enum "} {
		if rest, ok := strings.CutPrefix(t.Name, kw); ok {
			prefix, base = kw, rest
		}
	}
	arg, ok := f.exprs[base]
	if !ok {
		return t
	}
	switch a := arg.(type) {
	case *Ident:
		t.Name = prefix + a.Name
		return t
	case *TypeName:
		inner := a
		if a.Name == "typeof" {
			if tn, ok := a.TypeOf.(*TypeName); ok {
				inner = tn
			} else if id, ok := a.TypeOf.(*Ident); ok {
				t.Name = prefix + id.Name
				return t
			} else if prefix == "" && t.Ptr == 0 && t.ArrLen == 0 {
				c := &cloner{}
				return c.typeName(a) // typeof(expr) stands for itself
			} else {
				inner = nil
			}
		}
		if inner != nil && inner.TypeOf == nil {
			switch {
			case prefix != "" && inner.Ptr == 0 && inner.ArrLen == 0 && !strings.Contains(inner.Name, " "):
				t.Name = prefix + inner.Name
				return t
			case prefix == "" && (t.Ptr == 0 && t.ArrLen == 0 || inner.ArrLen == 0):
				n := &TypeName{Span: t.Span, Name: inner.Name, Ptr: inner.Ptr + t.Ptr, ArrLen: inner.ArrLen}
				if t.ArrLen != 0 {
					n.ArrLen = t.ArrLen
				}
				return n
			}
		}
	}
	x.d.Errorf(arg.Sp(), "this cannot stand for %s's type parameter %s in %s", f.m.Name, base, typeString(t)).
		Note(t.Span, "the type in the macro")
	return t
}

func typeString(t *TypeName) string {
	s := t.Name + strings.Repeat("*", t.Ptr)
	switch {
	case t.ArrLen > 0:
		s += "[" + strconv.Itoa(t.ArrLen) + "]"
	case t.ArrLen < 0:
		s += "[]"
	}
	return s
}
