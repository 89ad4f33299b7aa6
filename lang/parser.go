package lang

import (
	"sort"
	"strings"
)

// Parse parses a whole script. It always returns a Program (partial when
// there are errors) and a Diags with File and Src set, holding every
// diagnostic found; Diags.Incomplete tells a REPL to read more input.
//
// The parser is hand-written recursive descent with one token of lookahead
// (plus speculative rewinds for casts and types). Each parse function quotes
// its rule from grammar.txt. After a syntax error it resynchronises at the
// next ';' or '}' of the current block, or at the next top-level item, so one
// run reports several independent mistakes.
func Parse(file string, src []byte) (*Program, *Diags) {
	d := &Diags{File: file, Src: src}
	p := &parser{lx: newLexer(src), d: d, lastErr: -1, noRecordAt: -1}
	p.next()
	prog := p.parseProgram()
	prog.File, prog.Src = file, src
	p.finish()
	return prog, d
}

// ParseStmts parses src as statements, the inside of a block without its
// braces: what a REPL runs once. Their spans, and those of the
// diagnostics, are in src itself.
func ParseStmts(file string, src []byte) (*Block, *Diags) {
	d := &Diags{File: file, Src: src}
	p := &parser{lx: newLexer(src), d: d, lastErr: -1, noRecordAt: -1}
	p.next()
	b := &Block{Span: span(p.tok.sp.Start, p.tok.sp.Start)}
	for {
		p.stmts(b)
		if p.tok.kind == tEOF {
			break
		}
		p.unexpected("a statement") // a '}' without its '{'
		p.next()
	}
	b.End = p.tok.sp.Start
	p.finish()
	return b, d
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 2500

// maxFolds bounds how deep chains (1 + 1 + ..., @a[1][1]..., x.a.b...)
// make one statement's tree, for the same reason: far beyond what anyone
// writes, and shallow enough for the compiler's recursive walks.
const maxFolds = 10000

type parser struct {
	lx     *lexer
	tok    token // current token
	prevSp Span  // span of the last consumed token
	d      *Diags

	nerr    int // parser errors reported
	nonEOF  int // ... of which not caused by the input ending early
	lastErr int // offset of the last error, to avoid cascades at one spot
	eofErr  bool

	opens      []token // unclosed '{', '(' and '[' being parsed, innermost last
	inPred     bool    // parsing a predicate: '/' followed by '{' ends it
	noRecordAt int     // offset of a '(' that opens a condition, not a record
	depth      int
	tooDeep    bool
	// folds counts the operators, indexes and fields a statement (or a
	// probe's predicate) chains in a loop: each makes the tree one level
	// deeper on the left without recursing here, but whoever walks the
	// tree recurses, so it is bounded too (maxFolds).
	folds int

	a arena
}

// slab hands out nodes from chunks, cutting per-node allocations: the
// common nodes are the bulk of a parse's garbage.
type slab[T any] []T

func (s *slab[T]) new(v T) *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, 64)
	}
	*s = append(*s, v)
	return &(*s)[len(*s)-1]
}

type arena struct {
	idents  slab[Ident]
	ints    slab[IntLit]
	strs    slab[StrLit]
	vars    slab[Var]
	maps    slab[MapRef]
	calls   slab[Call]
	binary  slab[Binary]
	unary   slab[Unary]
	fields  slab[Field]
	exprs   slab[ExprStmt]
	assigns slab[Assign]
}

// finish merges the lexer's errors, sorts everything by position and decides
// whether the input is merely incomplete.
func (p *parser) finish() {
	lexEOF := true
	for _, e := range p.lx.errs {
		p.d.List = append(p.d.List, Diag{Span: e.sp, Severity: Error, Msg: e.msg, Hints: e.hints})
		if !e.eof {
			lexEOF = false
		}
	}
	sort.SliceStable(p.d.List, func(i, j int) bool {
		return p.d.List[i].Span.Start.Offset < p.d.List[j].Span.Start.Offset
	})
	p.d.Incomplete = p.d.HasErrors() && p.nonEOF == 0 && lexEOF
}

// Token handling.

func (p *parser) next() {
	p.prevSp = p.tok.sp
	p.tok = p.lx.next()
}

func (p *parser) got(k tokKind) bool {
	if p.tok.kind == k {
		p.next()
		return true
	}
	return false
}

// peek returns the token after the current one without consuming anything.
func (p *parser) peek() token {
	s := p.lx.save()
	t := p.lx.next()
	p.lx.restore(s)
	return t
}

type parserState struct {
	lx                  lexState
	tok                 token
	prevSp              Span
	ndiag, nerr, nonEOF int
	lastErr             int
	eofErr              bool
	nopens              int
}

func (p *parser) save() parserState {
	return parserState{p.lx.save(), p.tok, p.prevSp, len(p.d.List), p.nerr, p.nonEOF, p.lastErr, p.eofErr, len(p.opens)}
}

func (p *parser) restore(s parserState) {
	p.lx.restore(s.lx)
	p.tok, p.prevSp = s.tok, s.prevSp
	p.d.List = p.d.List[:s.ndiag]
	p.nerr, p.nonEOF, p.lastErr, p.eofErr = s.nerr, s.nonEOF, s.lastErr, s.eofErr
	p.opens = p.opens[:s.nopens]
}

// rescan moves the lexer back to the start of the current token so that it
// can be read again in a raw mode (probe specs, C definitions).
func (p *parser) rescan() { p.lx.reset(p.tok.sp.Start) }

func (p *parser) open(t token) { p.opens = append(p.opens, t) }

func (p *parser) close() {
	if len(p.opens) > 0 {
		p.opens = p.opens[:len(p.opens)-1]
	}
}

// Diagnostics.

var noDiag Diag // target for suppressed diagnostics

// errorf reports an error at sp unless it would only echo an earlier one:
// the lexer already reported an invalid token, or another error sits at the
// same place, or the input ended and that was already said.
func (p *parser) errorf(sp Span, format string, args ...any) *Diag {
	atEOF := sp.Start.Offset >= len(p.lx.src)
	if sp.Start.Offset == p.lastErr || atEOF && p.eofErr || p.tooDeep {
		noDiag = Diag{}
		return &noDiag
	}
	if sp.Start.Offset == p.tok.sp.Start.Offset && p.tokBroken() {
		noDiag = Diag{}
		return &noDiag
	}
	if atEOF {
		p.eofErr = true
		for _, e := range p.lx.errs {
			if e.eof { // an unterminated string or comment already explains it
				noDiag = Diag{}
				return &noDiag
			}
		}
	}
	p.lastErr = sp.Start.Offset
	p.nerr++
	if !atEOF || len(p.opens) == 0 {
		p.nonEOF++
	}
	return p.d.Errorf(sp, format, args...)
}

// tokBroken reports whether the lexer already complained about the current
// token (an invalid character, an unterminated string), so that the parser
// does not pile a second message on it.
func (p *parser) tokBroken() bool {
	if p.tok.kind == tIllegal {
		return true
	}
	for i := len(p.lx.errs) - 1; i >= 0; i-- {
		e := p.lx.errs[i].sp.Start.Offset
		if e < p.tok.sp.Start.Offset {
			break
		}
		if e < p.tok.sp.End.Offset {
			return true
		}
	}
	return false
}

// unexpected reports the current token as unexpected where want was expected.
func (p *parser) unexpected(want string) *Diag {
	t := p.tok
	g := p.errorf(t.sp, "unexpected %s, expecting %s", t.describe(), want)
	if t.kind == tEOF && len(p.opens) > 0 {
		o := p.opens[len(p.opens)-1]
		g.HintAt(o.sp, "the '%s' at {at} is not closed", o.kind)
	}
	return g
}

// expect consumes a token of kind k or reports it missing.
func (p *parser) expect(k tokKind) (token, bool) {
	t := p.tok
	if p.got(k) {
		return t, true
	}
	p.unexpected("'" + k.String() + "'")
	return t, false
}

// expectClose consumes the closing bracket matching o.
func (p *parser) expectClose(o token, k tokKind, want string) Pos {
	if p.tok.kind == k {
		end := p.tok.sp.End
		p.next()
		return end
	}
	g := p.unexpected(want)
	if p.tok.kind != tEOF && o.sp.Start.Line != p.tok.sp.Start.Line {
		g.HintAt(o.sp, "to match the '%s' at {at}", o.kind)
	}
	return p.prevSp.End
}

// skipBalanced skips the current token, and everything up to its matching
// closer when it opens a bracket.
func (p *parser) skipBalanced() {
	depth := 0
	for {
		switch p.tok.kind {
		case tEOF:
			return
		case tLBrace, tLParen, tLBrack:
			depth++
		case tRBrace, tRParen, tRBrack:
			depth--
		}
		p.next()
		if depth <= 0 {
			return
		}
	}
}

// syncStmt skips to the end of a broken statement: past the next ';', or up
// to the '}' closing the current block.
func (p *parser) syncStmt() {
	for {
		switch p.tok.kind {
		case tEOF, tRBrace:
			return
		case tSemi:
			p.next()
			return
		case tLBrace, tLParen, tLBrack:
			p.skipBalanced()
		default:
			p.next()
		}
	}
}

// enter guards recursion depth; it reports false (once) when too deep.
func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		if !p.tooDeep {
			p.errorf(p.tok.sp, "program is nested too deeply")
			p.tooDeep = true
		}
		for p.tok.kind != tEOF {
			p.next()
		}
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

// fold counts one more level of a chain at t; it reports false (once)
// when the statement is too deep, and skips the rest of the input.
func (p *parser) fold(t token) bool {
	p.folds++
	if p.folds <= maxFolds {
		return true
	}
	if !p.tooDeep {
		p.errorf(t.sp, "expression nested too deeply: more than %d operators, indexes or fields chained in one statement", maxFolds)
		p.tooDeep = true
	}
	for p.tok.kind != tEOF {
		p.next()
	}
	return false
}

// freshFolds starts counting a statement's chains (fold); the returned
// function restores the enclosing count.
func (p *parser) freshFolds() func() {
	saved := p.folds
	p.folds = 0
	return func() { p.folds = saved }
}

func span(a, b Pos) Span { return Span{Start: a, End: b} }

// bad is the placeholder for an expression that failed to parse.
func (p *parser) bad() Expr { return &Ident{Span: Span{Start: p.tok.sp.Start, End: p.tok.sp.Start}} }

// Top level.

// program = [ shebang ] { preproc | cdecl | import | config | mapdecl | macro | probe | ";" } .
func (p *parser) parseProgram() *Program {
	prog := &Program{}
	for p.tok.kind != tEOF {
		t := p.tok
		switch {
		case t.kind == tShebang:
			if t.sp.Start.Offset == 0 {
				prog.Shebang = t.str
			} else {
				p.errorf(t.sp, "a #! line is only allowed at the very start of the script")
			}
			p.next()
		case t.kind == tPreproc:
			prog.Preamble = append(prog.Preamble, &CDecl{Span: t.sp, Text: t.str})
			p.next()
		case t.kind == tIdent && (t.text == "struct" || t.text == "union" || t.text == "enum") && p.cdeclAhead():
			p.rescan()
			text, sp := p.lx.scanCDecl()
			prog.Preamble = append(prog.Preamble, &CDecl{Span: sp, Text: text})
			p.next()
		case t.kind == tIdent && t.text == "config" && p.peek().kind == tAssign:
			prog.Config = append(prog.Config, p.parseConfig()...)
		case t.kind == tIdent && t.text == "import" && p.peek().kind == tString:
			prog.Imports = append(prog.Imports, p.parseImport())
		case t.kind == tIdent && t.text == "macro" && p.peek().kind == tIdent:
			prog.Macros = append(prog.Macros, p.parseMacro())
		case t.kind == tIdent && t.text == "fn" && p.peek().kind == tIdent:
			p.errorf(t.sp, "functions (fn) are not supported").Hint("use a macro instead")
			for p.tok.kind != tEOF && p.tok.kind != tLBrace {
				p.next()
			}
			p.skipBalanced()
		case t.kind == tLet:
			if md := p.parseMapDecl(); md != nil {
				prog.MapDecls = append(prog.MapDecls, md)
			}
		case t.kind == tIdent || t.kind == tPosParam:
			// A probe; "$1 { }" takes its whole attach point from $1.
			prog.Probes = append(prog.Probes, p.parseProbe())
		case t.kind == tSemi:
			p.next()
		case t.kind == tLBrace:
			p.errorf(t.sp, "expected a probe before '{'").Hint("a probe looks like: kprobe:do_nanosleep { ... }")
			p.skipBalanced()
		default:
			g := p.errorf(t.sp, "unexpected %s, expecting a probe", t.describe())
			if t.kind == tRBrace {
				g.Hint("is there one '}' too many?")
			}
			p.next()
			// Skip the rest of the garbage quietly, up to something that
			// can start a top-level item.
			for p.tok.kind != tEOF && p.tok.kind != tIdent && p.tok.kind != tLet && p.tok.kind != tPreproc {
				if p.tok.kind == tLBrace {
					p.skipBalanced()
					continue
				}
				p.next()
			}
		}
	}
	prog.Span = span(PosAt(p.lx.src, 0), p.tok.sp.End)
	return prog
}

func (p *parser) cdeclAhead() bool {
	s := p.lx.save()
	p.lx.off, p.lx.line, p.lx.col = p.tok.sp.Start.Offset, p.tok.sp.Start.Line, p.tok.sp.Start.Col
	ok := p.lx.looksLikeCDecl()
	p.lx.restore(s)
	return ok
}

// import = "import" string ";" .
func (p *parser) parseImport() *Import {
	start := p.tok.sp.Start
	p.next()
	imp := &Import{Path: p.tok.str}
	p.next()
	end := p.prevSp.End
	if !p.got(tSemi) {
		p.errorf(span(end, end), "missing ';' after import")
	}
	imp.Span = span(start, end)
	return imp
}

// config = "config" "=" "{" [ confentry { ";" confentry } [ ";" ] ] "}" [ ";" ] .
// confentry = ident "=" expr .
func (p *parser) parseConfig() []*Assign {
	defer p.freshFolds()()
	p.next() // config
	p.next() // =
	lb, ok := p.expect(tLBrace)
	if !ok {
		p.syncStmt()
		return nil
	}
	p.open(lb)
	defer p.close()
	var list []*Assign
	for p.tok.kind != tRBrace && p.tok.kind != tEOF {
		if p.got(tSemi) {
			continue
		}
		key := p.tok
		if key.kind != tIdent {
			p.unexpected("a config key")
			p.syncStmt()
			continue
		}
		p.next()
		if _, ok := p.expect(tAssign); !ok {
			p.syncStmt()
			continue
		}
		val := p.parseExpr()
		list = append(list, &Assign{
			Span: span(key.sp.Start, val.Sp().End),
			LHS:  &Ident{Span: key.sp, Name: key.text},
			Op:   "=",
			RHS:  val,
		})
		if p.tok.kind != tSemi && p.tok.kind != tRBrace {
			if p.tok.kind == tIdent {
				p.missingSemi("config entry")
			} else {
				p.unexpected("';' or '}'")
				p.syncStmt()
			}
		}
	}
	p.expectClose(lb, tRBrace, "'}'")
	p.got(tSemi)
	return list
}

// mapdecl = "let" map "=" ident "(" [ expr { "," expr } ] ")" [ ";" ] .
func (p *parser) parseMapDecl() *MapDecl {
	start := p.tok.sp.Start
	p.next() // let
	if p.tok.kind != tMap {
		p.unexpected("a map (only maps can be declared at the top level, e.g. let @m = hash(1024);)")
		p.syncStmt()
		return nil
	}
	md := &MapDecl{Name: p.tok.str}
	p.next()
	if _, ok := p.expect(tAssign); !ok {
		p.syncStmt()
		return nil
	}
	if p.tok.kind != tIdent {
		p.unexpected("a map kind such as hash or lruhash")
		p.syncStmt()
		return nil
	}
	md.Kind = p.tok.text
	p.next()
	lp, ok := p.expect(tLParen)
	if !ok {
		p.syncStmt()
		return nil
	}
	md.Args = p.parseArgs(lp, "")
	md.Span = span(start, p.prevSp.End)
	p.got(tSemi)
	return md
}

// macro = "macro" ident "(" [ param { "," param } ] ")" block .
// param = var | map | ident .
func (p *parser) parseMacro() *Macro {
	start := p.tok.sp.Start
	p.next() // macro
	m := &Macro{Name: p.tok.text}
	p.next()
	if lp, ok := p.expect(tLParen); ok {
		p.open(lp)
		for p.tok.kind != tRParen && p.tok.kind != tEOF {
			t := p.tok
			switch t.kind {
			case tVar:
				m.Params = append(m.Params, &Var{Span: t.sp, Name: t.str})
			case tMap:
				m.Params = append(m.Params, &MapRef{Span: t.sp, Name: t.str})
			case tIdent:
				m.Params = append(m.Params, &Ident{Span: t.sp, Name: t.text})
			default:
				p.unexpected("a macro parameter ($var, @map or name)")
			}
			p.next()
			if !p.got(tComma) {
				break
			}
		}
		m.Head = span(start, p.expectClose(lp, tRParen, "',' or ')'"))
		p.close()
	}
	if m.Head.End.Line == 0 {
		m.Head = span(start, p.prevSp.End)
	}
	for p.tok.kind != tLBrace && p.tok.kind != tEOF {
		p.unexpected("'{'")
		p.next()
	}
	m.Body = p.parseBlock()
	m.Span = span(start, m.Body.End)
	return m
}

// probe = spec { "," spec } [ "," ] [ "/" expr "/" ] block .
// spec: raw text, see lexer.scanSpec.
func (p *parser) parseProbe() *Probe {
	defer p.freshFolds()() // the predicate's chains
	pr := &Probe{}
	start := p.tok.sp.Start
	for {
		p.rescan()
		raw, sp := p.lx.scanSpec()
		if raw == "" {
			p.next()
			p.unexpected("a probe")
			break
		}
		prov, parts := splitSpec(raw)
		pr.Specs = append(pr.Specs, &ProbeSpec{Span: sp, Raw: raw, Provider: prov, Parts: parts})
		p.next()
		if p.tok.kind != tComma {
			break
		}
		p.next()
		if p.tok.kind == tLBrace || p.tok.kind == tDiv || p.tok.kind == tEOF {
			break // trailing comma
		}
	}
	if p.tok.kind == tDiv {
		p.next()
		p.inPred = true
		pr.Pred = p.parseExpr()
		p.inPred = false
		if p.tok.kind == tAssign {
			p.errorf(p.tok.sp, "'=' is assignment, not allowed in a predicate").Hint("use '==' to compare")
			for p.tok.kind != tEOF && !(p.tok.kind == tDiv && p.peek().kind == tLBrace) && p.tok.kind != tLBrace {
				p.next()
			}
		}
		if !p.got(tDiv) {
			p.unexpected("'/' to end the predicate")
		}
	}
	if p.tok.kind != tLBrace {
		g := p.unexpected("'{'")
		switch {
		case p.tok.kind == tIdent && p.prevSp.End.Offset < p.tok.sp.Start.Offset:
			g.Hint("separate several probes with ','")
		case p.tok.kind == tLParen && len(pr.Specs) == 1 && pr.Specs[0].Parts == nil:
			g.Hint("statements must be inside a probe body, e.g. BEGIN { %s(...) }", pr.Specs[0].Raw)
		}
		for p.tok.kind != tLBrace && p.tok.kind != tEOF {
			p.next()
		}
		if p.tok.kind == tEOF {
			pr.Body = &Block{Span: span(p.tok.sp.Start, p.tok.sp.Start)}
			pr.Span = span(start, p.tok.sp.Start)
			return pr
		}
	}
	pr.Body = p.parseBlock()
	pr.Span = span(start, pr.Body.End)
	return pr
}

// SplitSpec splits a raw attach point into its provider and parts, as the
// parser does (for attach points completed after parsing, e.g. from $1).
func SplitSpec(raw string) (string, []string) { return splitSpec(raw) }

// splitSpec splits a raw attach point on ':' outside double quotes, dropping
// the quotes and backslash escapes.
func splitSpec(raw string) (string, []string) {
	var fields []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			i++
			cur.WriteByte(raw[i])
		case c == '"':
			inQ = !inQ
		case c == ':' && !inQ:
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	fields = append(fields, cur.String())
	if len(fields) == 1 {
		return fields[0], nil
	}
	return fields[0], fields[1:]
}

// Statements.

// parseBody parses the block of an if, loop, macro or probe. When the '{'
// is missing it reports that and skips ahead to the '{' if one comes before
// the end of the statement.
func (p *parser) parseBody() *Block {
	if p.tok.kind != tLBrace {
		p.unexpected("'{'")
		for p.tok.kind != tLBrace {
			switch p.tok.kind {
			case tEOF, tSemi, tRBrace:
				return &Block{Span: span(p.prevSp.End, p.prevSp.End)}
			}
			p.skipBalanced()
		}
	}
	return p.parseBlock()
}

// block = "{" { stmt [ ";" ] } "}" .
func (p *parser) parseBlock() *Block {
	lb := p.tok
	b := &Block{Span: lb.sp}
	if lb.kind != tLBrace {
		p.unexpected("'{'")
		return b
	}
	if !p.enter() {
		return b
	}
	defer p.leave()
	p.next()
	p.open(lb)
	saved := p.inPred
	p.inPred = false
	p.stmts(b)
	b.End = p.expectClose(lb, tRBrace, "'}'")
	p.close()
	p.inPred = saved
	return b
}

// stmts parses statements into b up to a '}' or the end of the input.
func (p *parser) stmts(b *Block) {
	for p.tok.kind != tRBrace && p.tok.kind != tEOF {
		if p.got(tSemi) {
			b.Trailing = false
			continue
		}
		if t := p.tok; t.kind == tPreproc || t.kind == tShebang {
			p.errorf(t.sp, "%s must come before the probes", t.kind).Hint("move it to the top of the script")
			p.next()
			continue
		}
		first := p.tok.sp.Start.Offset
		nerr := p.nerr
		s := p.parseStmt()
		if s != nil {
			b.Stmts = append(b.Stmts, s)
		}
		b.Trailing = false
		switch p.tok.kind {
		case tSemi:
			p.next()
		case tRBrace:
			b.Trailing = s != nil && isValueStmt(s)
		case tEOF:
		default:
			switch {
			case s != nil && !needsSemi(s):
				// if, loops and blocks end with '}' and need no ';'
			case p.nerr > nerr:
				p.syncStmt() // already reported: skip the rest of it
			case canStartStmt(p.tok.kind):
				p.missingSemi("statement")
			default:
				p.unexpected("';' or '}'")
				p.syncStmt()
			}
		}
		if p.tok.sp.Start.Offset == first && p.tok.kind != tEOF && p.tok.kind != tRBrace {
			p.next() // always make progress
		}
	}
}

func (p *parser) missingSemi(what string) {
	end := p.prevSp.End
	for _, e := range p.lx.errs {
		if e.sp.Start.Offset >= p.prevSp.Start.Offset {
			return // a broken token (say, an unterminated string) explains it
		}
	}
	g := p.errorf(span(end, end), "missing ';' after %s", what)
	switch p.tok.text {
	case "elif", "elsif", "elseif":
		g.Hint("write 'else if'")
	default:
		g.Hint("put ';' between statements")
	}
}

func isValueStmt(s Stmt) bool {
	switch s.(type) {
	case *ExprStmt, *If, *Block:
		return true
	}
	return false
}

// needsSemi reports whether s must be followed by ';' or '}'.
func needsSemi(s Stmt) bool {
	switch s.(type) {
	case *If, *Block, *While, *Unroll, *For, nil:
		return false
	}
	return true
}

func canStartStmt(k tokKind) bool {
	switch k {
	case tIdent, tInt, tString, tVar, tPosParam, tParamCount, tMap, tLParen, tLBrace,
		tSub, tNot, tTilde, tMul, tAnd, tInc, tDec,
		tIf, tWhile, tUnroll, tFor, tBreak, tContinue, tReturn, tLet:
		return true
	}
	return false
}

// stmt = block | if | while | unroll | for | jump | let | simplestmt .
// while = "while" cond block .
// unroll = "unroll" cond block .
// jump = "break" | "continue" | "return" [ expr ] .
func (p *parser) parseStmt() Stmt {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	defer p.freshFolds()()
	t := p.tok
	switch t.kind {
	case tLBrace:
		return p.parseBlock()
	case tIf:
		return p.parseIf()
	case tWhile:
		cond, body, sp := p.parseLoop()
		return &While{Span: sp, Cond: cond, Body: body}
	case tUnroll:
		count, body, sp := p.parseLoop()
		return &Unroll{Span: sp, Count: count, Body: body}
	case tFor:
		return p.parseFor()
	case tBreak, tContinue:
		p.next()
		return &Jump{Span: t.sp, Kind: t.text}
	case tReturn:
		p.next()
		j := &Jump{Span: t.sp, Kind: "return"}
		if p.tok.kind != tSemi && p.tok.kind != tRBrace && p.tok.kind != tEOF {
			j.Value = p.parseExpr()
			j.End = j.Value.Sp().End
		}
		return j
	case tLet:
		return p.parseVarDecl()
	case tIdent:
		if t.text == "import" && p.peek().kind == tString {
			p.errorf(t.sp, "import is only allowed at the top level")
			p.next()
			p.next()
			return nil
		}
	}
	return p.parseSimpleStmt()
}

// simplestmt = expr [ assignop expr ] .
// assignop = "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<=" | ">>=" .
func (p *parser) parseSimpleStmt() Stmt {
	x := p.parseExpr()
	if !p.tok.kind.isAssign() {
		return p.a.exprs.new(ExprStmt{Span: x.Sp(), X: x})
	}
	opTok := p.tok
	p.next()
	if !assignable(x) {
		p.errorf(x.Sp(), "cannot assign to %s", describeExpr(x)).Hint("the left side of %s must be a $variable, @map, map element or field", opTok.text)
	}
	rhs := p.parseExpr()
	return p.a.assigns.new(Assign{Span: span(x.Sp().Start, rhs.Sp().End), LHS: x, Op: opTok.kind.String(), RHS: rhs})
}

func assignable(x Expr) bool {
	switch x.(type) {
	case *Var, *MapRef, *Ident, *Field, *Index:
		return true
	}
	return false
}

func describeExpr(x Expr) string {
	switch x := x.(type) {
	case *Call:
		return "a call to " + x.Name
	case *IntLit, *StrLit, *BoolLit:
		return "a literal"
	case *Binary, *Unary, *Ternary:
		return "an expression"
	case *PosParam:
		return "a positional parameter"
	case *Tuple:
		return "a tuple"
	case *Cast:
		return "a cast"
	}
	return "this"
}

// let = "let" var [ ":" ( typeof | type ) ] [ "=" expr ] .
func (p *parser) parseVarDecl() Stmt {
	start := p.tok.sp.Start
	p.next()
	if p.tok.kind != tVar {
		p.unexpected("a $variable")
		return nil
	}
	d := &VarDecl{Var: &Var{Span: p.tok.sp, Name: p.tok.str}}
	p.next()
	end := p.prevSp.End
	if p.got(tColon) {
		d.Type = p.parseTypeAnnotation()
		end = p.prevSp.End
	}
	if p.got(tAssign) {
		d.Value = p.parseExpr()
		end = d.Value.Sp().End
	}
	d.Span = span(start, end)
	return d
}

// if = "if" cond block [ "else" ( if | block ) ] .
func (p *parser) parseIf() *If {
	start := p.tok.sp.Start
	p.next()
	s := &If{Cond: p.parseCond()}
	s.Then = p.parseBody()
	s.Span = span(start, s.Then.End)
	if p.got(tElse) {
		if p.tok.kind == tIf {
			if !p.enter() {
				return s
			}
			e := p.parseIf()
			p.leave()
			s.Else = e
			s.End = e.End
		} else {
			e := p.parseBody()
			s.Else = e
			s.End = e.End
		}
	}
	return s
}

// parseLoop parses what follows "while" or "unroll": cond block. The span
// runs from the keyword to the block's end.
func (p *parser) parseLoop() (Expr, *Block, Span) {
	start := p.tok.sp.Start
	p.next()
	cond := p.parseCond()
	body := p.parseBody()
	return cond, body, span(start, body.End)
}

// cond = expr .   (usually parenthesised; "(x = 1)" is reported, not a record)
func (p *parser) parseCond() Expr {
	if p.tok.kind == tLParen {
		p.noRecordAt = p.tok.sp.Start.Offset
	}
	x := p.parseExpr()
	if p.tok.kind == tAssign {
		p.errorf(p.tok.sp, "'=' is assignment, not allowed in a condition").Hint("use '==' to compare")
		for p.tok.kind != tLBrace && p.tok.kind != tEOF && p.tok.kind != tRBrace {
			p.skipBalanced()
		}
	}
	return x
}

// skipFor recovers from a broken for header by skipping it (up to the ')'
// when it was parenthesised) and the loop body.
func (p *parser) skipFor(paren bool) {
	if paren {
		for p.tok.kind != tEOF && p.tok.kind != tRParen && p.tok.kind != tLBrace && p.tok.kind != tRBrace {
			p.skipBalanced()
		}
		p.got(tRParen)
	}
	for p.tok.kind != tEOF && p.tok.kind != tRBrace && p.tok.kind != tSemi {
		if p.tok.kind == tLBrace {
			p.skipBalanced()
			return
		}
		p.skipBalanced()
	}
}

// for = "for" ( "(" forhead ")" | forhead ) block .
// forhead = var ":" ( map | unary ".." unary ) .
func (p *parser) parseFor() Stmt {
	start := p.tok.sp.Start
	p.next()
	lp := p.tok
	paren := p.got(tLParen)
	if paren {
		n := len(p.opens)
		p.open(lp)
		defer func() { p.opens = p.opens[:n] }()
	}
	f := &For{}
	if p.tok.kind != tVar {
		p.unexpected("a $variable").Hint("loops look like: for ($kv : @map) { } or for ($i : 0..10) { }")
		p.skipFor(paren)
		return nil
	}
	f.Var = &Var{Span: p.tok.sp, Name: p.tok.str}
	p.next()
	if _, ok := p.expect(tColon); !ok {
		p.skipFor(paren)
		return nil
	}
	lo := p.parseUnary()
	if p.got(tDotDot) {
		f.Lo, f.Hi = lo, p.parseUnary()
	} else if m, ok := lo.(*MapRef); ok && m.Keys == nil {
		f.Map = m
	} else {
		p.errorf(lo.Sp(), "expected a map or a range lo..hi after ':'").Hint("e.g. for ($kv : @map) or for ($i : 0..10)")
		p.skipFor(paren)
		return nil
	}
	if paren {
		p.expectClose(lp, tRParen, "')'")
		p.close()
	}
	f.Body = p.parseBody()
	f.Span = span(start, f.Body.End)
	return f
}

// Expressions.

// expr = ternary .
func (p *parser) parseExpr() Expr { return p.parseTernary(p.parseBinary(1)) }

// ternary = binary [ "?" ( ":" expr | expr ":" expr ) ] .
func (p *parser) parseTernary(cond Expr) Expr {
	if p.tok.kind != tQuestion {
		return cond
	}
	// a ? b : c ? d : ... recurses here, not through parseUnary.
	if !p.enter() {
		return cond
	}
	defer p.leave()
	p.next()
	if p.got(tColon) {
		y := p.parseExpr()
		return &Binary{Span: span(cond.Sp().Start, y.Sp().End), Op: "?:", X: cond, Y: y}
	}
	then := p.parseExpr()
	if _, ok := p.expect(tColon); !ok {
		return &Ternary{Span: span(cond.Sp().Start, then.Sp().End), Cond: cond, Then: then, Else: p.bad()}
	}
	els := p.parseExpr()
	return &Ternary{Span: span(cond.Sp().Start, els.Sp().End), Cond: cond, Then: then, Else: els}
}

// binary = unary { binop unary } .   (precedence climbing, see binaryPrec)
func (p *parser) parseBinary(minPrec int) Expr {
	return p.parseBinaryFrom(p.parseUnary(), minPrec)
}

func (p *parser) parseBinaryFrom(x Expr, minPrec int) Expr {
	for {
		prec := binaryPrec[p.tok.kind]
		if prec == 0 || prec < minPrec {
			return x
		}
		if p.tok.kind == tDiv && p.inPred {
			// In a predicate, a '/' followed by '{' closes it.
			if k := p.peek().kind; k == tLBrace || k == tEOF {
				return x
			}
		}
		op := p.tok
		if !p.fold(op) {
			return x
		}
		p.next()
		y := p.parseBinary(prec + 1)
		x = p.a.binary.new(Binary{Span: span(x.Sp().Start, y.Sp().End), Op: op.kind.String(), X: x, Y: y})
	}
}

// unary = ( "!" | "~" | "-" | "*" | "&" | "++" | "--" ) unary | postfix .
func (p *parser) parseUnary() Expr {
	if !p.enter() {
		return p.bad()
	}
	defer p.leave()
	switch t := p.tok; t.kind {
	case tNot, tTilde, tSub, tMul, tAnd, tInc, tDec:
		p.next()
		x := p.parseUnary()
		return p.a.unary.new(Unary{Span: span(t.sp.Start, x.Sp().End), Op: t.kind.String(), X: x})
	}
	return p.parsePostfix(p.parsePrimary())
}

// postfix = primary { "." field | "->" field | "[" expr "]" | "++" | "--" } .
// field = ident | keyword | decimal .
func (p *parser) parsePostfix(x Expr) Expr {
	for {
		t := p.tok
		switch t.kind {
		case tDot, tArrow, tLBrack, tInc, tDec:
			if !p.fold(t) {
				return x
			}
		}
		switch t.kind {
		case tDot, tArrow:
			p.next()
			f := p.tok
			switch {
			case f.kind == tIdent || f.kind.isKeyword():
			case f.kind == tInt && isDecimal(f.text):
			default:
				p.unexpected("a field name after '" + t.text + "'")
				return x
			}
			p.next()
			x = p.a.fields.new(Field{Span: span(x.Sp().Start, f.sp.End), X: x, Name: f.text, Arrow: t.kind == tArrow})
		case tLBrack:
			p.next()
			p.open(t)
			saved := p.inPred
			p.inPred = false
			idx := p.parseExpr()
			p.inPred = saved
			end := p.expectClose(t, tRBrack, "']'")
			p.close()
			x = &Index{Span: span(x.Sp().Start, end), X: x, Index: idx}
		case tInc, tDec:
			p.next()
			x = &Unary{Span: span(x.Sp().Start, t.sp.End), Op: t.text, X: x, Postfix: true}
		default:
			return x
		}
	}
}

func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// primary = int | string | "true" | "false" | var | posparam | "$#" | mapref
//
//	| ident | call | typeof | paren | block | if .
func (p *parser) parsePrimary() Expr {
	t := p.tok
	switch t.kind {
	case tInt:
		p.next()
		return p.a.ints.new(IntLit{Span: t.sp, Val: t.num, Text: t.text, Unit: t.unit})
	case tString:
		p.next()
		return p.a.strs.new(StrLit{Span: t.sp, Val: t.str})
	case tVar:
		p.next()
		return p.a.vars.new(Var{Span: t.sp, Name: t.str})
	case tPosParam:
		p.next()
		return &PosParam{Span: t.sp, N: int(t.num)}
	case tParamCount:
		p.next()
		return &PosParam{Span: t.sp, Count: true}
	case tMap:
		return p.parseMapRef()
	case tIdent:
		if t.text == "typeof" && p.peek().kind == tLParen {
			return p.parseTypeOf()
		}
		p.next()
		if t.text == "true" || t.text == "false" {
			return &BoolLit{Span: t.sp, Val: t.text == "true"}
		}

		if p.tok.kind == tLParen {
			return p.parseCall(t)
		}
		return p.a.idents.new(Ident{Span: t.sp, Name: t.text})
	case tLParen:
		return p.parseParen()
	case tLBrace:
		return p.parseBlock()
	case tIf:
		return p.parseIf()
	}
	g := p.unexpected("an expression")
	if t.kind == tDiv && p.inPred {
		g.Hint("the predicate is empty")
	}
	return p.bad()
}

// mapref = map [ "[" expr { "," expr } "]" ] .
func (p *parser) parseMapRef() Expr {
	t := p.tok
	p.next()
	m := p.a.maps.new(MapRef{Span: t.sp, Name: t.str})
	if p.tok.kind != tLBrack {
		return m
	}
	lb := p.tok
	p.next()
	p.open(lb)
	saved := p.inPred
	p.inPred = false
	for {
		m.Keys = append(m.Keys, p.parseExpr())
		if !p.got(tComma) {
			break
		}
	}
	p.inPred = saved
	m.End = p.expectClose(lb, tRBrack, "',' or ']'")
	p.close()
	return m
}

// call = ident "(" [ arg { "," arg } [ "," ] ] ")" .
// arg = typeof | type | expr .   (types only where a type is expected, see parseArg)
func (p *parser) parseCall(name token) Expr {
	lp := p.tok
	p.next()
	c := p.a.calls.new(Call{Name: name.text})
	c.Args = p.parseArgs(lp, name.text)
	c.Span = span(name.sp.Start, p.prevSp.End)
	return c
}

// parseArgs parses call arguments after the '(' lp, through the ')'.
func (p *parser) parseArgs(lp token, fn string) []Expr {
	p.open(lp)
	saved := p.inPred
	p.inPred = false
	var args []Expr
	for p.tok.kind != tRParen && p.tok.kind != tEOF {
		args = append(args, p.parseArg(fn, len(args)))
		if !p.got(tComma) {
			break
		}
	}
	p.inPred = saved
	if p.tok.kind == tAssign && len(args) > 0 {
		p.errorf(p.tok.sp, "unexpected '=' in the arguments of %s", fn).Hint("use '==' to compare")
	}
	p.expectClose(lp, tRParen, "',' or ')'")
	p.close()
	return args
}

// parseArg parses one call argument. typeof(...) is accepted anywhere; the
// first argument of sizeof, offsetof and typeinfo may also be a bare type.
func (p *parser) parseArg(fn string, i int) Expr {
	if p.tok.kind == tIdent && p.tok.text == "typeof" && p.peek().kind == tLParen {
		if t := p.parseTypeOf(); t != nil {
			return t
		}
	}
	if i == 0 && (fn == "sizeof" || fn == "offsetof" || fn == "typeinfo") {
		st := p.save()
		if t, known, ok := p.parseTypeSpec(); ok && (known || t.Ptr > 0 || t.ArrLen != 0) &&
			(p.tok.kind == tRParen || p.tok.kind == tComma) {
			return t
		}
		p.restore(st)
	}
	return p.parseExpr()
}

// paren = "(" ")" | "(" record ")" | "(" ( type | typeof ) ")" unary | "(" expr { "," expr } [ "," ] ")" .
// record = ident "=" expr { "," ident "=" expr } [ "," ] .
func (p *parser) parseParen() Expr {
	lp := p.tok
	cond := lp.sp.Start.Offset == p.noRecordAt
	p.noRecordAt = -1
	p.next()
	p.open(lp)
	saved := p.inPred
	p.inPred = false
	defer func() { p.inPred = saved }()
	if p.tok.kind == tRParen {
		p.close()
		p.next()
		return &Tuple{Span: span(lp.sp.Start, p.prevSp.End)}
	}
	if !cond && p.tok.kind == tIdent && !isBuiltinVar(p.tok.text) && p.peek().kind == tAssign {
		return p.parseRecord(lp)
	}
	if p.tok.kind == tIdent && p.tok.text == "typeof" && p.peek().kind == tLParen {
		// (typeof(x))y is a cast; decide after parsing typeof once, without
		// backtracking over it.
		t := p.parseTypeOf()
		if p.tok.kind == tRParen && canStartOperand(p.peek().kind) {
			p.close()
			p.next()
			p.inPred = saved
			x := p.parseUnary()
			return &Cast{Span: span(lp.sp.Start, x.Sp().End), Type: t, X: x}
		}
		x := p.parseTernary(p.parseBinaryFrom(p.parsePostfix(t), 1))
		return p.finishParen(lp, x, cond)
	}
	if t, ok := p.tryCast(); ok {
		p.close()
		p.next() // ')'
		p.inPred = saved
		x := p.parseUnary()
		return &Cast{Span: span(lp.sp.Start, x.Sp().End), Type: t, X: x}
	}
	return p.finishParen(lp, p.parseExpr(), cond)
}

// finishParen parses the rest of a parenthesised expression or tuple after
// its first element x.
func (p *parser) finishParen(lp token, x Expr, cond bool) Expr {
	if p.tok.kind != tComma {
		if p.tok.kind == tAssign && cond {
			p.errorf(p.tok.sp, "'=' is assignment, not allowed in a condition").Hint("use '==' to compare")
			for p.tok.kind != tRParen && p.tok.kind != tEOF && p.tok.kind != tLBrace && p.tok.kind != tRBrace {
				p.skipBalanced()
			}
		}
		end := p.expectClose(lp, tRParen, "')'")
		p.close()
		return withSpan(x, span(lp.sp.Start, end))
	}
	tup := &Tuple{Elems: []Expr{x}}
	for p.got(tComma) {
		if p.tok.kind == tRParen {
			break
		}
		tup.Elems = append(tup.Elems, p.parseExpr())
	}
	end := p.expectClose(lp, tRParen, "',' or ')'")
	p.close()
	tup.Span = span(lp.sp.Start, end)
	return tup
}

// withSpan widens a parenthesised expression's span to cover the parens, so
// diagnostics about it underline what the user wrote.
func withSpan(x Expr, sp Span) Expr {
	if s, ok := x.(interface{ setSpan(Span) }); ok && sp.End.Offset >= sp.Start.Offset {
		s.setSpan(sp)
	}
	return x
}

func (p *parser) parseRecord(lp token) Expr {
	tup := &Tuple{}
	seen := map[string]bool{}
	for p.tok.kind != tRParen && p.tok.kind != tEOF {
		name := p.tok
		if name.kind != tIdent {
			p.unexpected("a field name")
			break
		}
		p.next()
		if _, ok := p.expect(tAssign); !ok {
			break
		}
		if seen[name.text] {
			p.errorf(name.sp, "duplicate field %s in record", name.text)
		}
		seen[name.text] = true
		tup.Names = append(tup.Names, name.text)
		tup.Elems = append(tup.Elems, p.parseExpr())
		if !p.got(tComma) {
			break
		}
	}
	end := p.expectClose(lp, tRParen, "',' or ')'")
	p.close()
	tup.Span = span(lp.sp.Start, end)
	return tup
}

// tryCast checks whether "(" type ")" starts a cast: the type must be
// followed by ')' and a token that can start an operand. A bare unknown name
// like (x) is a cast only when what follows cannot continue an expression
// ((x)-1 is a subtraction, (my_t)arg0 a cast). On success the current token
// is the ')'; otherwise nothing is consumed.
func (p *parser) tryCast() (*TypeName, bool) {
	st := p.save()
	t, known, ok := p.parseTypeSpec()
	if ok && p.tok.kind == tRParen {
		next := p.peek().kind
		plain := !known && t.Ptr == 0 && t.ArrLen == 0
		if canStartOperand(next) && !(plain && (next == tSub || next == tMul || next == tAnd || next == tInc || next == tDec)) {
			return t, true
		}
	}
	p.restore(st)
	return nil, false
}

func canStartOperand(k tokKind) bool {
	switch k {
	case tIdent, tInt, tString, tVar, tPosParam, tParamCount, tMap, tLParen,
		tSub, tNot, tTilde, tMul, tAnd, tInc, tDec:
		return true
	}
	return false
}

// parseTypeAnnotation parses the type after "let $x:".
func (p *parser) parseTypeAnnotation() *TypeName {
	if p.tok.kind == tIdent && p.tok.text == "typeof" && p.peek().kind == tLParen {
		if t := p.parseTypeOf(); t != nil {
			return t
		}
	}
	t, _, ok := p.parseTypeSpec()
	if !ok {
		p.unexpected("a type")
		return &TypeName{Span: span(p.tok.sp.Start, p.tok.sp.Start)}
	}
	return t
}

// typeof = "typeof" "(" ( type | expr ) ")" .
func (p *parser) parseTypeOf() *TypeName {
	start := p.tok.sp.Start
	p.next() // typeof
	lp := p.tok
	p.next()
	p.open(lp)
	t := &TypeName{Name: "typeof"}
	st := p.save()
	if p.tok.kind == tIdent && p.tok.text == "typeof" && p.peek().kind == tLParen {
		t.TypeOf = p.parseTypeOf()
	} else if in, known, ok := p.parseTypeSpec(); ok && (known || in.Ptr > 0 || in.ArrLen != 0) && p.tok.kind == tRParen {
		t.TypeOf = in
	} else {
		p.restore(st)
		t.TypeOf = p.parseExpr()
	}
	end := p.expectClose(lp, tRParen, "')'")
	p.close()
	t.Span = span(start, end)
	return t
}

// type = ( ( "struct" | "union" | "enum" ) ident | ctype | ident ) { "*" } [ "[" [ int ] "]" ] .
// ctype = ( "unsigned" | "signed" | "long" | "short" ) { "int" | "char" | "long" | "short" | "unsigned" | "signed" } .
//
// parseTypeSpec reports no errors: ok is false when the tokens do not form a
// type, and known tells whether the name is certainly a type (a builtin or C
// type, or struct/union/enum), as opposed to any identifier.
func (p *parser) parseTypeSpec() (t *TypeName, known, ok bool) {
	first := p.tok
	if first.kind != tIdent || isBuiltinVar(first.text) || first.text == "true" || first.text == "false" {
		return nil, false, false
	}
	t = &TypeName{Name: first.text}
	p.next()
	switch {
	case first.text == "struct" || first.text == "union" || first.text == "enum":
		if p.tok.kind != tIdent {
			return nil, false, false
		}
		t.Name += " " + p.tok.text
		known = true
		p.next()
	case first.text == "unsigned" || first.text == "signed" || first.text == "long" || first.text == "short":
		known = true
		for p.tok.kind == tIdent && cTypeWords[p.tok.text] {
			t.Name += " " + p.tok.text
			p.next()
		}
	default:
		known = isTypeName(first.text)
	}
	for p.tok.kind == tMul {
		t.Ptr++
		p.next()
	}
	if p.tok.kind == tLBrack {
		p.next()
		switch p.tok.kind {
		case tRBrack:
			t.ArrLen = -1
		case tInt:
			if p.tok.num == 0 || p.tok.num > 1<<31 || p.tok.unit != "" {
				return nil, false, false
			}
			t.ArrLen = int(p.tok.num)
			p.next()
		default:
			return nil, false, false
		}
		if p.tok.kind != tRBrack {
			return nil, false, false
		}
		p.next()
	}
	t.Span = span(first.sp.Start, p.prevSp.End)
	return t, known, true
}

var cTypeWords = map[string]bool{"int": true, "char": true, "long": true, "short": true, "unsigned": true, "signed": true}

// typeNames are names that are certainly types where a type may appear.
var typeNames = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"bool": true, "string": true, "void": true, "char": true, "short": true, "int": true, "long": true,
	"float": true, "double": true, "buffer": true, "inet": true, "timestamp": true,
	"u8": true, "u16": true, "u32": true, "u64": true, "s8": true, "s16": true, "s32": true, "s64": true,
	"__u8": true, "__u16": true, "__u32": true, "__u64": true, "__s8": true, "__s16": true, "__s32": true, "__s64": true,
	"__be16": true, "__be32": true, "__be64": true, "__le16": true, "__le32": true, "__le64": true,
}

func isTypeName(s string) bool {
	return typeNames[s] || strings.HasSuffix(s, "_t") && len(s) > 2
}

// builtinVars are the builtin values, names the grammar treats apart: a
// parenthesised one is never a cast type, nor a record's field, nor a
// macro's parameter. They are the value rows of the compiler's builtin
// table, which lang cannot import (compiler's TestBuiltinNamesMatchLang
// keeps the two the same); argN and sargN follow a pattern.
var builtinVars = map[string]bool{
	"pid": true, "tid": true, "uid": true, "gid": true, "nsecs": true, "elapsed": true, "cpu": true,
	"comm": true, "kstack": true, "ustack": true, "retval": true, "func": true, "probe": true,
	"curtask": true, "rand": true, "cgroup": true, "cpid": true, "args": true, "ctx": true,
	"numaid": true, "jiffies": true, "ncpus": true, "ppid": true, "usermode": true, "username": true,
	"probetype": true,
}

// BuiltinValues lists the builtin values' names but argN and sargN, sorted.
func BuiltinValues() []string {
	names := make([]string, 0, len(builtinVars))
	for name := range builtinVars {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func isBuiltinVar(s string) bool {
	if builtinVars[s] || strings.HasPrefix(s, "__builtin_") {
		return true
	}
	for _, pre := range []string{"arg", "sarg"} {
		if strings.HasPrefix(s, pre) && isDecimal(s[len(pre):]) {
			return true
		}
	}
	return false
}

// IsBuiltinName reports whether s names a builtin value (pid, comm, arg0,
// __builtin_cpu...).
func IsBuiltinName(s string) bool { return isBuiltinVar(s) }
