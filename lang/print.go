package lang

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Print renders a program as canonical source: one statement per line,
// tab-indented, with parentheses wherever precedence needs them. Parsing the
// result gives the same AST, spans aside. Top-level items come out grouped:
// shebang, preamble, imports, config, map declarations, macros, probes.
func Print(p *Program) string {
	pr := &printer{}
	pr.program(p)
	return pr.b.String()
}

// ExprString renders one expression as source text.
func ExprString(e Expr) string {
	pr := &printer{}
	pr.expr(e, 0)
	return pr.b.String()
}

// StmtString renders one statement as source text (with its ';').
func StmtString(s Stmt) string {
	pr := &printer{}
	pr.stmt(s, true)
	return strings.TrimSuffix(pr.b.String(), "\n")
}

type printer struct {
	b      strings.Builder
	indent int
}

func (pr *printer) w(s string)                   { pr.b.WriteString(s) }
func (pr *printer) f(format string, args ...any) { fmt.Fprintf(&pr.b, format, args...) }
func (pr *printer) nl() {
	pr.b.WriteByte('\n')
	for i := 0; i < pr.indent; i++ {
		pr.b.WriteByte('\t')
	}
}

func (pr *printer) program(p *Program) {
	if p.Shebang != "" {
		pr.w(p.Shebang)
		pr.w("\n")
	}
	for _, d := range p.Preamble {
		pr.w(d.Text)
		if strings.HasSuffix(d.Text, "\\") {
			pr.w(" ") // a final backslash must not continue the line
		}
		pr.w("\n")
	}
	for _, imp := range p.Imports {
		pr.f("import %s;\n", quote(imp.Path))
	}
	if len(p.Config) > 0 {
		pr.w("config = {")
		pr.indent++
		for _, a := range p.Config {
			pr.nl()
			pr.expr(a.LHS, 0)
			pr.w(" = ")
			pr.expr(a.RHS, 0)
			pr.w(";")
		}
		pr.indent--
		pr.w("\n}\n")
	}
	for _, m := range p.MapDecls {
		pr.f("let @%s = %s(", m.Name, m.Kind)
		pr.list(m.Args)
		pr.w(");\n")
	}
	for _, m := range p.Macros {
		pr.f("macro %s(", m.Name)
		pr.list(m.Params)
		pr.w(") ")
		pr.block(m.Body)
		pr.w("\n")
	}
	for i, probe := range p.Probes {
		if i > 0 || len(p.Macros)+len(p.MapDecls)+len(p.Config)+len(p.Imports)+len(p.Preamble) > 0 {
			pr.w("\n")
		}
		for j, s := range probe.Specs {
			if j > 0 {
				pr.w(", ")
			}
			pr.w(s.Raw)
		}
		if len(probe.Specs) == 1 && probe.Pred == nil && specLooksLikeCDecl(probe.Specs[0].Raw) {
			pr.w(",") // "struct {" would read as a C definition
		}
		if probe.Pred != nil {
			pred := ExprString(probe.Pred)
			if strings.Contains(pred, "/") {
				pred = "(" + pred + ")"
			}
			if pred[0] == '*' {
				pred = " " + pred
			}
			pr.f(" /%s/", pred)
		}
		pr.w(" ")
		pr.block(probe.Body)
		pr.w("\n")
	}
}

func (pr *printer) list(xs []Expr) {
	for i, x := range xs {
		if i > 0 {
			pr.w(", ")
		}
		pr.expr(x, 0)
	}
}

func (pr *printer) block(b *Block) {
	if b == nil || len(b.Stmts) == 0 {
		pr.w("{ }")
		return
	}
	pr.w("{")
	pr.indent++
	for i, s := range b.Stmts {
		pr.nl()
		last := i == len(b.Stmts)-1
		pr.stmt(s, !(last && b.Trailing && isValueStmt(s)))
		if last && !b.Trailing && !needsSemi(s) && isValueStmt(s) {
			pr.w(";") // keeps a final if/block from becoming the block's value
		}
	}
	pr.indent--
	pr.nl()
	pr.w("}")
}

// stmt prints a statement; semi asks for the ';' of simple statements.
func (pr *printer) stmt(s Stmt, semi bool) {
	end := func() {
		if semi {
			pr.w(";")
		}
	}
	switch s := s.(type) {
	case *ExprStmt:
		pr.stmtExpr(s.X)
		end()
	case *Assign:
		pr.stmtExpr(s.LHS)
		pr.f(" %s ", s.Op)
		pr.expr(s.RHS, 0)
		end()
	case *VarDecl:
		pr.w("let ")
		pr.expr(s.Var, 0)
		if s.Type != nil {
			pr.w(": ")
			pr.typeName(s.Type)
		}
		pr.optExpr(" = ", s.Value)
		end()
	case *Jump:
		pr.w(s.Kind)
		pr.optExpr(" ", s.Value)
		end()
	case *If:
		pr.ifStmt(s)
	case *Unroll:
		pr.w("unroll (")
		pr.expr(s.Count, 0)
		pr.w(") ")
		pr.block(s.Body)
	case *While:
		pr.w("while (")
		pr.expr(s.Cond, 0)
		pr.w(") ")
		pr.block(s.Body)
	case *For:
		pr.w("for (")
		pr.expr(s.Var, 0)
		pr.w(" : ")
		if s.Map != nil {
			pr.expr(s.Map, 0)
		} else {
			pr.expr(s.Lo, precUnary)
			pr.w("..")
			pr.expr(s.Hi, precUnary)
		}
		pr.w(") ")
		pr.block(s.Body)
	case *Block:
		pr.block(s)
	case nil:
	default:
		pr.f("<%T>", s)
	}
}

// stmtExpr prints an expression at the start of a statement, where a
// leading 'if' or '{' would be read as a statement instead.
func (pr *printer) stmtExpr(x Expr) {
	switch leftmost(x).(type) {
	case *If, *Block:
		pr.w("(")
		pr.expr(x, 0)
		pr.w(")")
	default:
		pr.expr(x, 0)
	}
}

func leftmost(x Expr) Expr {
	for {
		switch e := x.(type) {
		case *Binary:
			x = e.X
		case *Ternary:
			x = e.Cond
		case *Field:
			x = e.X
		case *Index:
			x = e.X
		case *Unary:
			if !e.Postfix {
				return x
			}
			x = e.X
		default:
			return x
		}
	}
}

func (pr *printer) ifStmt(s *If) {
	pr.w("if (")
	pr.expr(s.Cond, 0)
	pr.w(") ")
	pr.block(s.Then)
	switch e := s.Else.(type) {
	case *If:
		pr.w(" else ")
		pr.ifStmt(e)
	case *Block:
		pr.w(" else ")
		pr.block(e)
	}
}

// Expression levels: 0 ternary, 1-10 binary operators (binaryPrec), then
// unary and cast, postfix, primary.
const (
	precTernary = 0
	precUnary   = 11
	precPostfix = 12
	precPrimary = 13
)

// binaryOpPrec is binaryPrec by operator text, built when a program is
// first printed rather than at every start.
var binaryOpPrec = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for k, v := range binaryPrec {
		if v > 0 {
			m[tokKind(k).String()] = v
		}
	}
	return m
})

func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		if p, ok := binaryOpPrec()[e.Op]; ok {
			return p
		}
		return precTernary // "?:"
	case *Ternary:
		return precTernary
	case *Unary:
		if e.Postfix {
			return precPostfix
		}
		return precUnary
	case *Cast:
		return precUnary
	case *Field, *Index:
		return precPostfix
	}
	return precPrimary
}

// expr prints e, parenthesised when it binds looser than min.
func (pr *printer) expr(e Expr, min int) {
	if e == nil {
		pr.w("<nil>")
		return
	}
	if exprPrec(e) < min {
		pr.w("(")
		pr.expr(e, 0)
		pr.w(")")
		return
	}
	switch e := e.(type) {
	case *IntLit:
		if e.Text != "" {
			pr.w(e.Text)
		} else {
			pr.w(strconv.FormatUint(e.Val, 10) + e.Unit)
		}
	case *StrLit:
		pr.w(quote(e.Val))
	case *BoolLit:
		pr.w(strconv.FormatBool(e.Val))
	case *Ident:
		pr.w(e.Name)
	case *PosParam:
		if e.Count {
			pr.w("$#")
		} else {
			pr.f("$%d", e.N)
		}
	case *Var:
		pr.w("$" + e.Name)
	case *MapRef:
		pr.w("@" + e.Name)
		if e.Keys != nil {
			pr.w("[")
			pr.list(e.Keys)
			pr.w("]")
		}
	case *Call:
		pr.w(e.Name + "(")
		pr.list(e.Args)
		pr.w(")")
	case *Binary:
		if e.Op == "?:" {
			pr.expr(e.X, 1)
			pr.w(" ?: ")
			pr.expr(e.Y, precTernary)
			return
		}
		p := binaryOpPrec()[e.Op]
		pr.expr(e.X, p)
		pr.f(" %s ", e.Op)
		pr.expr(e.Y, p+1)
	case *Unary:
		if e.Postfix {
			pr.expr(e.X, precPostfix)
			pr.w(e.Op)
			return
		}
		pr.w(e.Op)
		operand := exprStringIndent(e.X, precUnary, pr.indent)
		// Keep "- -x" from lexing as "--x", "& &x" as "&&x".
		if operand != "" && operand[0] == e.Op[len(e.Op)-1] {
			pr.w(" ")
		}
		pr.w(operand)
	case *Ternary:
		pr.expr(e.Cond, 1)
		pr.w(" ? ")
		pr.expr(e.Then, precTernary)
		pr.w(" : ")
		pr.expr(e.Else, precTernary)
	case *Field:
		if _, ok := e.X.(*IntLit); ok {
			pr.w("(")
			pr.expr(e.X, 0)
			pr.w(")")
		} else {
			pr.expr(e.X, precPostfix)
		}
		if e.Arrow {
			pr.w("->")
		} else {
			pr.w(".")
		}
		pr.w(e.Name)
	case *Index:
		pr.expr(e.X, precPostfix)
		pr.w("[")
		pr.expr(e.Index, 0)
		pr.w("]")
	case *Cast:
		pr.w("(")
		pr.typeName(e.Type)
		pr.w(")")
		// "(x)-1" is a subtraction when x is not known to be a type.
		if u, ok := e.X.(*Unary); ok && !u.Postfix && plainTypeName(e.Type) {
			pr.w("(")
			pr.expr(e.X, 0)
			pr.w(")")
		} else {
			pr.expr(e.X, precUnary)
		}
	case *Tuple:
		pr.w("(")
		for i, x := range e.Elems {
			if i > 0 {
				pr.w(", ")
			}
			if e.Names != nil && i < len(e.Names) {
				pr.w(e.Names[i] + " = ")
			}
			pr.expr(x, 0)
		}
		if len(e.Elems) == 1 && e.Names == nil {
			pr.w(",")
		}
		pr.w(")")
	case *TypeName:
		pr.typeName(e)
	case *Block:
		pr.block(e)
	case *If:
		pr.ifStmt(e)
	default:
		pr.f("<%T>", e)
	}
}

// exprStringIndent renders e at a precedence level and indentation (for
// block expressions inside it).
func exprStringIndent(e Expr, min, indent int) string {
	pr := &printer{indent: indent}
	pr.expr(e, min)
	return pr.b.String()
}

func (pr *printer) typeName(t *TypeName) {
	if t == nil {
		pr.w("<nil>")
		return
	}
	if t.TypeOf != nil {
		pr.w("typeof(")
		if in, ok := t.TypeOf.(*TypeName); ok {
			pr.typeName(in)
		} else {
			pr.expr(t.TypeOf, 0)
		}
		pr.w(")")
	} else {
		pr.w(t.Name)
	}
	if t.Ptr > 0 {
		pr.w(" " + strings.Repeat("*", t.Ptr))
	}
	switch {
	case t.ArrLen > 0:
		pr.f("[%d]", t.ArrLen)
	case t.ArrLen < 0:
		pr.w("[]")
	}
}

// quote renders a string literal that the lexer decodes back to s.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}

// Dump renders a node as a compact Lisp-like tree without spans, for tests
// and the -d ast output. Two ASTs are equal, spans aside, when their dumps are.
func Dump(n Node) string {
	var b strings.Builder
	dump(&b, n)
	return b.String()
}

func dump(b *strings.Builder, n Node) {
	w := b.WriteString
	list := func(head string, xs ...Node) {
		w("(" + head)
		for _, x := range xs {
			w(" ")
			dump(b, x)
		}
		w(")")
	}
	exprs := func(xs []Expr) []Node {
		ns := make([]Node, len(xs))
		for i, x := range xs {
			ns[i] = x
		}
		return ns
	}
	switch n := n.(type) {
	case nil:
		w("_")
	case *Program:
		var parts []string
		if n.Shebang != "" {
			parts = append(parts, "(shebang "+strconv.Quote(n.Shebang)+")")
		}
		for _, x := range n.Preamble {
			parts = append(parts, Dump(x))
		}
		for _, x := range n.Imports {
			parts = append(parts, Dump(x))
		}
		if len(n.Config) > 0 {
			var cb strings.Builder
			cb.WriteString("(config")
			for _, a := range n.Config {
				cb.WriteString(" " + Dump(a))
			}
			cb.WriteString(")")
			parts = append(parts, cb.String())
		}
		for _, x := range n.MapDecls {
			parts = append(parts, Dump(x))
		}
		for _, x := range n.Macros {
			parts = append(parts, Dump(x))
		}
		for _, x := range n.Probes {
			parts = append(parts, Dump(x))
		}
		w(strings.Join(parts, "\n"))
	case *CDecl:
		w("(c " + strconv.Quote(n.Text) + ")")
	case *Import:
		w("(import " + strconv.Quote(n.Path) + ")")
	case *MapDecl:
		w("(mapdecl @" + n.Name + " " + n.Kind)
		for _, x := range n.Args {
			w(" ")
			dump(b, x)
		}
		w(")")
	case *Macro:
		w("(macro " + n.Name + " (")
		for i, x := range n.Params {
			if i > 0 {
				w(" ")
			}
			dump(b, x)
		}
		w(") ")
		dump(b, n.Body)
		w(")")
	case *Probe:
		w("(probe")
		for _, s := range n.Specs {
			w(" ")
			dump(b, s)
		}
		if n.Pred != nil {
			w(" (pred ")
			dump(b, n.Pred)
			w(")")
		}
		w(" ")
		dump(b, n.Body)
		w(")")
	case *ProbeSpec:
		w("(spec " + strconv.Quote(n.Raw) + " " + strconv.Quote(n.Provider))
		for _, p := range n.Parts {
			w(" " + strconv.Quote(p))
		}
		w(")")
	case *Block:
		head := "block"
		if n.Trailing {
			head = "block*"
		}
		ns := make([]Node, len(n.Stmts))
		for i, s := range n.Stmts {
			ns[i] = s
		}
		list(head, ns...)
	case *ExprStmt:
		dump(b, n.X)
	case *Assign:
		list(n.Op, n.LHS, n.RHS)
	case *VarDecl:
		var t, v Node
		if n.Type != nil {
			t = n.Type
		}
		if n.Value != nil {
			v = n.Value
		}
		list("let", n.Var, t, v)
	case *If:
		if n.Else == nil {
			list("if", n.Cond, n.Then)
		} else {
			list("if", n.Cond, n.Then, n.Else)
		}
	case *Unroll:
		list("unroll", n.Count, n.Body)
	case *While:
		list("while", n.Cond, n.Body)
	case *For:
		if n.Map != nil {
			list("for", n.Var, n.Map, n.Body)
		} else {
			w("(for ")
			dump(b, n.Var)
			w(" ")
			list("..", n.Lo, n.Hi)
			w(" ")
			dump(b, n.Body)
			w(")")
		}
	case *Jump:
		if n.Value != nil {
			list(n.Kind, n.Value)
		} else {
			list(n.Kind)
		}
	case *IntLit:
		if n.Text != "" {
			w(n.Text)
		} else {
			w(strconv.FormatUint(n.Val, 10) + n.Unit)
		}
	case *StrLit:
		w(strconv.Quote(n.Val))
	case *BoolLit:
		w(strconv.FormatBool(n.Val))
	case *Ident:
		w(n.Name)
	case *PosParam:
		if n.Count {
			w("$#")
		} else {
			w("$" + strconv.Itoa(n.N))
		}
	case *Var:
		w("$" + n.Name)
	case *MapRef:
		if n.Keys == nil {
			w("@" + n.Name)
		} else {
			list("@"+n.Name, exprs(n.Keys)...)
		}
	case *Call:
		list("call "+n.Name, exprs(n.Args)...)
	case *Binary:
		list(n.Op, n.X, n.Y)
	case *Unary:
		if n.Postfix {
			list("post"+n.Op, n.X)
		} else {
			list(n.Op, n.X)
		}
	case *Ternary:
		list("?", n.Cond, n.Then, n.Else)
	case *Field:
		op := "."
		if n.Arrow {
			op = "->"
		}
		w("(" + op + " ")
		dump(b, n.X)
		w(" " + n.Name + ")")
	case *Index:
		list("index", n.X, n.Index)
	case *Cast:
		list("cast", n.Type, n.X)
	case *Tuple:
		if n.Names == nil {
			list("tuple", exprs(n.Elems)...)
			return
		}
		w("(record")
		for i, x := range n.Elems {
			name := "?"
			if i < len(n.Names) {
				name = n.Names[i]
			}
			w(" (" + name + " ")
			dump(b, x)
			w(")")
		}
		w(")")
	case *TypeName:
		w("<")
		if n.TypeOf != nil {
			w("typeof ")
			dump(b, n.TypeOf)
		} else {
			w(n.Name)
		}
		w(strings.Repeat("*", n.Ptr))
		switch {
		case n.ArrLen > 0:
			w("[" + strconv.Itoa(n.ArrLen) + "]")
		case n.ArrLen < 0:
			w("[]")
		}
		w(">")
	default:
		fmt.Fprintf(b, "<%T>", n)
	}
}

// plainTypeName reports whether t is a bare name not known to be a type.
func plainTypeName(t *TypeName) bool {
	if t == nil || t.TypeOf != nil || t.Ptr > 0 || t.ArrLen != 0 || isTypeName(t.Name) {
		return false
	}
	return !strings.Contains(t.Name, " ")
}

// specLooksLikeCDecl reports whether a probe spec followed by "{" would be
// taken for a C struct, union or enum definition.
func specLooksLikeCDecl(raw string) bool {
	w := raw
	if i := strings.IndexFunc(raw, func(r rune) bool { return r > 0x7f || !isIdentChar(byte(r)) }); i >= 0 {
		w = raw[:i]
	}
	if w != "struct" && w != "union" && w != "enum" {
		return false
	}
	return newLexer([]byte(raw + " {")).looksLikeCDecl()
}

// optExpr prints an optional expression (a let's value, a return's) after
// its separator.
func (pr *printer) optExpr(sep string, e Expr) {
	if e != nil {
		pr.w(sep)
		pr.expr(e, 0)
	}
}
