// Package cpp is the small C preprocessor that reads the headers a script
// #includes, for their integer constants: object-like macros whose value
// is an integer expression or another macro, and the enumerators the
// headers define. It follows #include (nested, with guards and #pragma
// once), #define/#undef and #if/#ifdef/#ifndef/#elif/#else/#endif as far
// as it can evaluate them (defined(), integer arithmetic, comparisons and
// logic on macros; an unknown name is 0, as in cpp). Function-like macros
// are remembered as defined and never expanded. Types are not its job:
// they come from the kernel's BTF.
package cpp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Preprocessor holds the macros and enumerators read so far.
type Preprocessor struct {
	// Path is where <name> is looked for, in order; "name" is looked for
	// in the including file's directory first.
	Path []string
	// ReadFile reads a header (os.ReadFile when nil).
	ReadFile func(string) ([]byte, error)

	macros map[string]*macro
	enums  map[string]int64
	once   map[string]bool // files with #pragma once, read already
	depth  int
	// cond is the top-level source's conditional stack (Directive).
	cond []cond
}

type macro struct {
	body []token
	fn   bool // function-like: defined, never expanded
}

// cond is one open #if: whether its current branch is taken, whether one
// was, and whether the enclosing text is active at all.
type cond struct {
	taken, done, outer bool
}

// maxDepth bounds nested #includes (a header that includes itself without
// a guard).
const maxDepth = 64

// New returns a preprocessor searching path, with predef's macros
// defined ("NAME" or "NAME=VALUE").
func New(path []string, predef ...string) *Preprocessor {
	p := &Preprocessor{Path: path, macros: map[string]*macro{}, enums: map[string]int64{}, once: map[string]bool{}}
	for _, d := range predef {
		name, val, ok := strings.Cut(d, "=")
		if !ok {
			val = "1"
		}
		p.Define(name, val)
	}
	return p
}

// Define defines the object-like macro name as value.
func (p *Preprocessor) Define(name, value string) {
	p.macros[name] = &macro{body: lex(value)}
}

// Defined reports whether name is a macro.
func (p *Preprocessor) Defined(name string) bool { return p.macros[name] != nil }

// Int is the value of name as an integer constant: an object-like macro
// whose expansion is an integer expression, or an enumerator of the
// headers read.
func (p *Preprocessor) Int(name string) (int64, bool) {
	if m := p.macros[name]; m != nil {
		if m.fn {
			return 0, false
		}
		toks := p.expand([]token{{kind: tIdent, text: name}}, map[string]bool{}, false)
		return p.eval(toks, false)
	}
	v, ok := p.enums[name]
	return v, ok
}

// NotFoundError says a header is on none of the search path's directories.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("header %s not found", e.Name)
}

// Include reads the header spec names ("<linux/fs.h>" or "\"my.h\"",
// the latter looked for in dir first) and everything it includes. Only
// the named header must exist: what it includes in turn is read when
// found (bpfsh has no compiler's own headers, like <stddef.h>).
func (p *Preprocessor) Include(spec, dir string) error {
	path, err := p.find(spec, dir)
	if err != nil {
		return err
	}
	return p.file(path)
}

// find resolves an include spec to a file.
func (p *Preprocessor) find(spec, dir string) (string, error) {
	spec = strings.TrimSpace(spec)
	if len(spec) < 3 || !(spec[0] == '<' && spec[len(spec)-1] == '>' || spec[0] == '"' && spec[len(spec)-1] == '"') {
		return "", fmt.Errorf("#include expects <FILE> or \"FILE\"")
	}
	name := spec[1 : len(spec)-1]
	dirs := p.Path
	if spec[0] == '"' {
		if filepath.IsAbs(name) {
			dirs = []string{""}
		} else {
			dirs = append([]string{dir}, dirs...)
		}
	}
	for _, d := range dirs {
		path := filepath.Join(d, name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			return path, nil
		}
	}
	return "", &NotFoundError{Name: spec}
}

// file reads one header: its directives, and its active text for enums.
func (p *Preprocessor) file(path string) error {
	if p.once[path] {
		return nil
	}
	if p.depth >= maxDepth {
		return fmt.Errorf("#include nested too deeply (%s)", path)
	}
	read := p.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	if err != nil {
		return err
	}
	p.depth++
	defer func() { p.depth-- }()
	var conds []cond
	var text []token
	for _, line := range logicalLines(string(data)) {
		active := len(conds) == 0 || conds[len(conds)-1].taken
		if d, ok := directive(line); ok {
			if p.conditional(d, &conds) || !active {
				continue
			}
			word, rest := d.word, d.rest
			switch word {
			case "include":
				// What a header includes need not exist here.
				if inc, err := p.find(p.includeSpec(rest), filepath.Dir(path)); err == nil {
					_ = p.file(inc)
				}
			case "pragma":
				if strings.TrimSpace(rest) == "once" {
					p.once[path] = true
				}
			default:
				p.defineDirective(word, rest)
			}
			continue
		}
		if active {
			text = append(text, lex(line)...)
		}
	}
	p.enumerators(text)
	return nil
}

// includeSpec expands a computed #include (#include MACRO) when its
// operand is not already <...> or "...".
func (p *Preprocessor) includeSpec(rest string) string {
	rest = strings.TrimSpace(rest)
	if rest == "" || rest[0] == '<' || rest[0] == '"' {
		return rest
	}
	var b strings.Builder
	for _, t := range p.expand(lex(rest), map[string]bool{}, false) {
		b.WriteString(t.text)
	}
	return b.String()
}

// defineDirective handles #define and #undef (other directives of a
// header, like #error and #warning, are not this reader's business).
func (p *Preprocessor) defineDirective(word, rest string) {
	switch word {
	case "define":
		rest = strings.TrimLeft(rest, " \t")
		n := identLen(rest)
		if n == 0 {
			return
		}
		name := rest[:n]
		if n < len(rest) && rest[n] == '(' {
			p.macros[name] = &macro{fn: true}
			return
		}
		p.macros[name] = &macro{body: lex(rest[n:])}
	case "undef":
		delete(p.macros, strings.TrimSpace(rest))
	}
}

// Directive handles one directive line of the top-level source (the
// script): a conditional, #define or #undef. It returns false for other
// directives, which the caller handles (#include) when Active.
func (p *Preprocessor) Directive(line string) (bool, error) {
	d, ok := directive(strings.Join(logicalLines(line), " "))
	if !ok {
		return false, nil
	}
	switch d.word {
	case "if", "ifdef", "ifndef", "elif", "else", "endif":
		if (d.word == "elif" || d.word == "else" || d.word == "endif") && len(p.cond) == 0 {
			return true, fmt.Errorf("#%s without #if", d.word)
		}
		p.conditional(d, &p.cond)
		return true, nil
	case "define", "undef":
		if p.Active() {
			p.defineDirective(d.word, d.rest)
		}
		return true, nil
	}
	return false, nil
}

// Active reports whether the top-level source's text at this point is
// compiled (every enclosing #if taken).
func (p *Preprocessor) Active() bool {
	return len(p.cond) == 0 || p.cond[len(p.cond)-1].taken
}

// Unterminated reports whether an #if of the top-level source is open.
func (p *Preprocessor) Unterminated() bool { return len(p.cond) > 0 }

// conditional updates conds for a conditional directive, reporting
// whether d was one.
func (p *Preprocessor) conditional(d dir, conds *[]cond) bool {
	st := *conds
	active := len(st) == 0 || st[len(st)-1].taken
	switch d.word {
	case "if", "ifdef", "ifndef":
		c := cond{outer: active}
		if active {
			switch d.word {
			case "if":
				c.taken = p.condition(d.rest)
			case "ifdef":
				c.taken = p.Defined(firstIdent(d.rest))
			default:
				c.taken = !p.Defined(firstIdent(d.rest))
			}
		}
		c.done = c.taken
		*conds = append(st, c)
	case "elif", "else":
		if len(st) == 0 {
			return true
		}
		c := &st[len(st)-1]
		c.taken = c.outer && !c.done && (d.word == "else" || p.condition(d.rest))
		c.done = c.done || c.taken
	case "endif":
		if len(st) > 0 {
			*conds = st[:len(st)-1]
		}
	default:
		return false
	}
	return true
}

// condition evaluates an #if expression: defined() first, then macros,
// then unknown names (and calls of function-like macros) as 0.
func (p *Preprocessor) condition(expr string) bool {
	toks := p.resolveDefined(lex(expr))
	toks = p.expand(toks, map[string]bool{}, true)
	v, ok := p.eval(toks, true)
	return ok && v != 0
}

// resolveDefined replaces defined X and defined(X) with 1 or 0.
func (p *Preprocessor) resolveDefined(toks []token) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tIdent || t.text != "defined" {
			out = append(out, t)
			continue
		}
		var name string
		if i+1 < len(toks) && toks[i+1].text == "(" {
			if i+3 < len(toks) && toks[i+3].text == ")" {
				name = toks[i+2].text
			}
			i += 3
		} else if i+1 < len(toks) {
			name = toks[i+1].text
			i++
		}
		v := "0"
		if p.Defined(name) {
			v = "1"
		}
		out = append(out, token{kind: tNum, text: v})
	}
	return out
}

// expand replaces object-like macros in toks (each at most once on any
// path: hide holds those being expanded). In a condition, a function-like
// macro's call becomes 0.
func (p *Preprocessor) expand(toks []token, hide map[string]bool, inCond bool) []token {
	var out []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		m := p.macros[t.text]
		if t.kind != tIdent || m == nil || hide[t.text] {
			out = append(out, t)
			continue
		}
		if m.fn {
			if inCond && i+1 < len(toks) && toks[i+1].text == "(" {
				i = skipParens(toks, i+1)
				out = append(out, token{kind: tNum, text: "0"})
				continue
			}
			out = append(out, t)
			continue
		}
		hide[t.text] = true
		out = append(out, p.expand(m.body, hide, inCond)...)
		delete(hide, t.text)
	}
	return out
}

// skipParens returns the index of the ')' closing the '(' at toks[i].
func skipParens(toks []token, i int) int {
	return min(topLevel(toks, i, ")"), len(toks)-1)
}

// topLevel returns the index of the first token from i on that is text and
// outside the parentheses opened from i on (a ')' closes them), or
// len(toks).
func topLevel(toks []token, i int, text string) int {
	depth := 0
	for ; i < len(toks); i++ {
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth == 0 && toks[i].text == text {
			return i
		}
	}
	return len(toks)
}

// enumerators records the enumerators of every enum { ... } in a
// header's active text whose values it can evaluate.
func (p *Preprocessor) enumerators(text []token) {
	for i := 0; i+1 < len(text); i++ {
		if text[i].text != "enum" {
			continue
		}
		j := i + 1
		if text[j].kind == tIdent {
			j++
		}
		if j >= len(text) || text[j].text != "{" {
			continue
		}
		end := j + 1
		for end < len(text) && text[end].text != "}" {
			end++
		}
		p.enumBody(text[j+1 : end])
		i = end
	}
}

// enumBody evaluates "A = 1, B, C = A + 4" in order.
func (p *Preprocessor) enumBody(body []token) {
	next, ok := int64(0), true
	for len(body) > 0 {
		k := topLevel(body, 0, ",")
		item := body[:k]
		body = body[min(k+1, len(body)):]
		if len(item) == 0 || item[0].kind != tIdent {
			continue
		}
		name := item[0].text
		if len(item) > 2 && item[1].text == "=" {
			next, ok = p.eval(p.expand(item[2:], map[string]bool{}, false), false)
		}
		if ok {
			if _, macro := p.macros[name]; !macro || p.selfDefined(name) {
				p.enums[name] = next
			}
			next++
		}
	}
}

// selfDefined reports whether name is a macro for itself (glibc's
// "# define DT_REG DT_REG" after the enumerator).
func (p *Preprocessor) selfDefined(name string) bool {
	m := p.macros[name]
	return m != nil && len(m.body) == 1 && m.body[0].text == name
}

// dir is one directive: #word rest.
type dir struct{ word, rest string }

// directive splits a logical line that is a directive.
func directive(line string) (dir, bool) {
	s := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(s, "#") {
		return dir{}, false
	}
	s = strings.TrimLeft(s[1:], " \t")
	n := identLen(s)
	return dir{word: s[:n], rest: s[n:]}, true
}

func firstIdent(s string) string {
	s = strings.TrimSpace(s)
	return s[:identLen(s)]
}

func identLen(s string) int {
	n := 0
	for n < len(s) && (isIdentChar(s[n]) && (n > 0 || s[n] < '0' || s[n] > '9')) {
		n++
	}
	return n
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// logicalLines splits source into lines with continuations joined and
// comments replaced by a space (strings and characters kept whole).
func logicalLines(src string) []string {
	var lines []string
	var b strings.Builder
	inComment := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inComment:
			if c == '*' && i+1 < len(src) && src[i+1] == '/' {
				inComment = false
				i++
				b.WriteByte(' ')
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i++
		case c == '\n':
			lines = append(lines, b.String())
			b.Reset()
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			inComment = true
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			switch {
			case j >= len(src): // unterminated (a backslash may have skipped past the end)
				j = len(src) - 1
			case src[j] == '\n': // unterminated: up to the end of the line
				j--
			}
			b.WriteString(src[i : j+1])
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return append(lines, b.String())
}
