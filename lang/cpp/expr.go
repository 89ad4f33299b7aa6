package cpp

import (
	"strconv"
	"strings"
)

// Tokens of a line, and the integer expressions of #if and of macro
// values over them.

type tokKind int

const (
	tPunct tokKind = iota
	tIdent
	tNum
	tChar
	tString
)

type token struct {
	kind tokKind
	text string
}

var puncts = []string{"<<=", ">>=", "...", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "##", "->", "++", "--"}

// lex splits one logical line (comments gone) into tokens.
func lex(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case isIdentChar(c) && (c < '0' || c > '9'):
			n := identLen(s[i:])
			out = append(out, token{tIdent, s[i : i+n]})
			i += n
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{tNum, s[i:j]})
			i = j
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			kind := tChar
			if c == '"' {
				kind = tString
			}
			out = append(out, token{kind, s[i:j]})
			i = j
		default:
			n := 1
			for _, p := range puncts {
				if strings.HasPrefix(s[i:], p) {
					n = len(p)
					break
				}
			}
			out = append(out, token{tPunct, s[i : i+n]})
			i += n
		}
	}
	return out
}

// eval evaluates toks as a C integer constant expression. In a condition
// (#if) an identifier left after expansion is 0; in a value it makes the
// value unknown.
func (p *Preprocessor) eval(toks []token, inCond bool) (int64, bool) {
	e := &evaluator{toks: toks, inCond: inCond, enums: p.enums}
	v := e.ternary()
	return v, !e.bad && e.i == len(toks) && len(toks) > 0
}

type evaluator struct {
	toks   []token
	i      int
	inCond bool
	bad    bool
	enums  map[string]int64
}

func (e *evaluator) peek() string {
	if e.i < len(e.toks) {
		return e.toks[e.i].text
	}
	return ""
}

func (e *evaluator) accept(s string) bool {
	if e.peek() == s && e.i < len(e.toks) && e.toks[e.i].kind == tPunct {
		e.i++
		return true
	}
	return false
}

func (e *evaluator) ternary() int64 {
	c := e.binary(0)
	if !e.accept("?") {
		return c
	}
	a := e.ternary()
	if !e.accept(":") {
		e.bad = true
		return 0
	}
	b := e.ternary()
	if c != 0 {
		return a
	}
	return b
}

// levels of the binary operators, loosest first.
var levels = [][]string{
	{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<", "<=", ">", ">="}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
}

func (e *evaluator) binary(level int) int64 {
	if level == len(levels) {
		return e.unary()
	}
	v := e.binary(level + 1)
	for {
		op := ""
		for _, o := range levels[level] {
			if e.accept(o) {
				op = o
				break
			}
		}
		if op == "" {
			return v
		}
		w := e.binary(level + 1)
		v = e.apply(op, v, w)
	}
}

func (e *evaluator) apply(op string, v, w int64) int64 {
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	switch op {
	case "||":
		return b(v != 0 || w != 0)
	case "&&":
		return b(v != 0 && w != 0)
	case "|":
		return v | w
	case "^":
		return v ^ w
	case "&":
		return v & w
	case "==":
		return b(v == w)
	case "!=":
		return b(v != w)
	case "<":
		return b(v < w)
	case "<=":
		return b(v <= w)
	case ">":
		return b(v > w)
	case ">=":
		return b(v >= w)
	case "<<":
		return v << uint(w&63)
	case ">>":
		return v >> uint(w&63)
	case "+":
		return v + w
	case "-":
		return v - w
	case "*":
		return v * w
	}
	if w == 0 {
		e.bad = true
		return 0
	}
	if op == "/" {
		return v / w
	}
	return v % w
}

func (e *evaluator) unary() int64 {
	switch {
	case e.accept("-"):
		return -e.unary()
	case e.accept("+"):
		return e.unary()
	case e.accept("~"):
		return ^e.unary()
	case e.accept("!"):
		if e.unary() == 0 {
			return 1
		}
		return 0
	case e.accept("("):
		if bits, ok := e.cast(); ok {
			return truncate(e.unary(), bits)
		}
		v := e.ternary()
		if !e.accept(")") {
			e.bad = true
		}
		return v
	}
	return e.primary()
}

// cast reads "TYPE)" after a '(' when the parenthesis holds a type: the
// bits of an unsigned type narrower than 64 (0 for any other type).
func (e *evaluator) cast() (int, bool) {
	j := e.i
	unsigned, bits := false, 0
	for ; j < len(e.toks) && e.toks[j].kind == tIdent; j++ {
		w := e.toks[j].text
		switch {
		case w == "unsigned" || w == "__u32" || w == "u32" || w == "uint32_t" || w == "__u16" || w == "__u8":
			unsigned = true
			bits = map[string]int{"__u16": 16, "__u8": 8}[w]
			if bits == 0 {
				bits = 32
			}
		case w == "long" || w == "__u64" || w == "u64" || w == "uint64_t" || w == "size_t":
			bits = 64
		case w == "int" || w == "signed" || w == "char" || w == "short" || w == "const" ||
			strings.HasPrefix(w, "__s") || strings.HasSuffix(w, "_t"):
		default:
			return 0, false
		}
	}
	if j == e.i || j >= len(e.toks) || e.toks[j].text != ")" {
		return 0, false
	}
	e.i = j + 1
	if !unsigned {
		bits = 0
	}
	return bits, true
}

func truncate(v int64, bits int) int64 {
	if bits == 0 || bits >= 64 {
		return v
	}
	return int64(uint64(v) & (1<<uint(bits) - 1))
}

func (e *evaluator) primary() int64 {
	if e.i >= len(e.toks) {
		e.bad = true
		return 0
	}
	t := e.toks[e.i]
	e.i++
	switch t.kind {
	case tNum:
		v, ok := parseInt(t.text)
		if !ok {
			e.bad = true
		}
		return v
	case tChar:
		v, ok := parseChar(t.text)
		if !ok {
			e.bad = true
		}
		return v
	case tIdent:
		if v, ok := e.enums[t.text]; ok && !e.inCond {
			return v
		}
		if !e.inCond {
			e.bad = true
		}
		return 0
	}
	e.bad = true
	return 0
}

// parseInt reads a C integer literal (0x, 0b, octal, u/l suffixes).
func parseInt(s string) (int64, bool) {
	s = strings.TrimRight(s, "uUlL")
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 2 && (s[:2] == "0b" || s[:2] == "0B"):
		s, base = s[2:], 2
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	u, err := strconv.ParseUint(s, base, 64)
	return int64(u), err == nil
}

// parseChar reads a character constant: 'a', '\n', '\0', '\x1b'.
func parseChar(s string) (int64, bool) {
	if len(s) < 3 || s[len(s)-1] != '\'' {
		return 0, false
	}
	r, _, tail, err := strconv.UnquoteChar(s[1:len(s)-1], '\'')
	if err != nil || tail != "" {
		if n, err := strconv.ParseUint(s[2:len(s)-1], 8, 8); err == nil && s[1] == '\\' {
			return int64(n), true
		}
		return 0, false
	}
	return int64(r), true
}
