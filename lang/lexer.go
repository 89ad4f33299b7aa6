package lang

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// lexErr is a diagnostic found while scanning. eof marks errors caused only
// by the input ending early (unterminated string or comment), which make a
// REPL ask for another line instead of failing.
type lexErr struct {
	sp    Span
	msg   string
	hints []Hint
	eof   bool
}

// lexer turns source bytes into tokens on demand. The parser drives it one
// token at a time and may rewind it (speculative parses, probe specs and C
// definitions are rescanned in their own raw modes), so errors are kept here
// and dropped on rewind, then handed to the parser at the end.
type lexer struct {
	src       []byte
	s         string // src as a string: token texts are substrings, not copies
	off       int
	line, col int
	prev      tokKind // kind of the last token returned by next
	errs      []lexErr
}

// lexState is a point the lexer can be rewound to.
type lexState struct {
	off, line, col int
	prev           tokKind
	nerr           int
}

func newLexer(src []byte) *lexer {
	return &lexer{src: src, s: string(src), line: 1, col: 1, prev: tSemi}
}

func (lx *lexer) pos() Pos { return Pos{Offset: lx.off, Line: lx.line, Col: lx.col} }

func (lx *lexer) save() lexState {
	return lexState{off: lx.off, line: lx.line, col: lx.col, prev: lx.prev, nerr: len(lx.errs)}
}

func (lx *lexer) restore(s lexState) {
	lx.off, lx.line, lx.col, lx.prev = s.off, s.line, s.col, s.prev
	if s.nerr < len(lx.errs) {
		lx.errs = lx.errs[:s.nerr]
	}
}

// reset moves the lexer back to p (a position it has already passed),
// forgetting errors found at or after it.
func (lx *lexer) reset(p Pos) {
	lx.off, lx.line, lx.col = p.Offset, p.Line, p.Col
	n := len(lx.errs)
	for n > 0 && lx.errs[n-1].sp.Start.Offset >= p.Offset {
		n--
	}
	lx.errs = lx.errs[:n]
}

func (lx *lexer) errorf(start, end Pos, eof bool, format string, args ...any) *lexErr {
	lx.errs = append(lx.errs, lexErr{sp: Span{Start: start, End: end}, msg: fmt.Sprintf(format, args...), eof: eof})
	return &lx.errs[len(lx.errs)-1]
}

func (e *lexErr) hint(format string, args ...any) *lexErr {
	e.hints = append(e.hints, Hint{Text: fmt.Sprintf(format, args...)})
	return e
}

// peekc returns the byte i positions ahead, or 0 past the end.
func (lx *lexer) peekc(i int) byte {
	if lx.off+i < len(lx.src) {
		return lx.src[lx.off+i]
	}
	return 0
}

// advance moves past one character, keeping line and column (runes, tabs to
// the next multiple of 8) in step with PosAt.
func (lx *lexer) advance() {
	if lx.off >= len(lx.src) {
		return
	}
	c := lx.src[lx.off]
	switch {
	case c == '\n':
		lx.line++
		lx.col = 1
		lx.off++
	case c == '\t':
		lx.col += 8 - (lx.col-1)%8
		lx.off++
	case c < utf8.RuneSelf:
		lx.col++
		lx.off++
	default:
		_, n := utf8.DecodeRune(lx.src[lx.off:])
		lx.off += n
		lx.col++
	}
}

func (lx *lexer) advanceN(n int) {
	for i := 0; i < n; i++ {
		lx.advance()
	}
}

// scanWhile advances over the bytes for which ok holds and returns them.
func (lx *lexer) scanWhile(ok func(byte) bool) string {
	s := lx.off
	for lx.off < len(lx.src) && ok(lx.src[lx.off]) {
		lx.advance()
	}
	return lx.s[s:lx.off]
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isHexDigit(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// skipLayout skips whitespace and comments.
func (lx *lexer) skipLayout() {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == ' ':
			lx.off++
			lx.col++
		case c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.advance()
		case c == '/' && lx.peekc(1) == '/':
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance()
			}
		case c == '/' && lx.peekc(1) == '*':
			start := lx.pos()
			lx.advanceN(2)
			for {
				if lx.off >= len(lx.src) {
					end := start
					end.Offset += 2
					end.Col += 2
					lx.errorf(start, end, true, "unterminated comment").hint("a '/*' comment must be closed with '*/'")
					return
				}
				if lx.src[lx.off] == '*' && lx.peekc(1) == '/' {
					lx.advanceN(2)
					break
				}
				lx.advance()
			}
		default:
			return
		}
	}
}

// next scans the next token in normal (expression) mode.
func (lx *lexer) next() token {
	lx.skipLayout()
	start := lx.pos()
	t := token{kind: tEOF}
	if lx.off < len(lx.src) {
		lx.scan(&t, start)
	}
	t.sp = Span{Start: start, End: lx.pos()}
	t.text = lx.s[start.Offset:lx.off]
	lx.prev = t.kind
	return t
}

func (lx *lexer) scan(t *token, start Pos) {
	c := lx.src[lx.off]
	switch {
	case isIdentStart(c):
		for lx.off < len(lx.src) && isIdentChar(lx.src[lx.off]) {
			lx.off++
			lx.col++
		}
		t.kind = keyword(lx.s[start.Offset:lx.off])
	case isDigit(c):
		lx.number(t, start)
	case c == '"':
		lx.str(t, start)
	case c == '$':
		lx.dollar(t, start)
	case c == '@':
		lx.advance()
		t.kind = tMap
		if lx.off < len(lx.src) && isIdentStart(lx.src[lx.off]) {
			t.str = lx.scanWhile(isIdentChar)
		}
	case c == '#':
		t.kind = tPreproc
		if lx.peekc(1) == '!' {
			t.kind = tShebang
		}
		for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
			// A backslash at the end of a #define line continues it.
			if t.kind == tPreproc && lx.src[lx.off] == '\\' && (lx.peekc(1) == '\n' || lx.peekc(1) == '\r' && lx.peekc(2) == '\n') {
				lx.advance()
				if lx.src[lx.off] == '\r' {
					lx.advance()
				}
			}
			lx.advance()
		}
		t.str = strings.TrimRight(lx.s[start.Offset:lx.off], " \t\r")
	default:
		lx.operator(t, start)
	}
}

// opsByFirstByte lists the operator and punctuation tokens by their first
// byte, longest first, from their texts in kindText: the lexer takes the
// first that matches (maximal munch), so "<<=" wins over "<<" and "<".
var opsByFirstByte = func() (tab [utf8.RuneSelf][]tokKind) {
	for k := tAdd; k <= tRBrace; k++ {
		c := kindText[k][0]
		tab[c] = append(tab[c], k)
	}
	for _, ks := range tab {
		sort.SliceStable(ks, func(i, j int) bool { return len(kindText[ks[i]]) > len(kindText[ks[j]]) })
	}
	return tab
}()

// operator scans punctuation, longest match first.
func (lx *lexer) operator(t *token, start Pos) {
	t.kind = tIllegal
	if c := lx.src[lx.off]; c < utf8.RuneSelf {
		rest := lx.s[lx.off:]
		for _, k := range opsByFirstByte[c] {
			if strings.HasPrefix(rest, kindText[k]) {
				t.kind = k
				lx.advanceN(len(kindText[k]))
				return
			}
		}
	}
	r, _ := utf8.DecodeRune(lx.src[lx.off:])
	if r == '\'' {
		// 'x' or 'abc': a C character literal or a single-quoted string.
		if i := strings.IndexAny(lx.s[lx.off+1:], "'\n"); i >= 0 && lx.s[lx.off+1+i] == '\'' {
			lx.advanceN(i + 2)
			lx.errorf(start, lx.pos(), false, "single quotes are not supported").hint("strings are written in double quotes: \"text\"")
			return
		}
	}
	lx.advance()
	// One error for a run of junk (binary data, a pasted symbol), not one
	// per character.
	more := 0
	for lx.off < len(lx.src) && invalidStart(lx.src[lx.off]) {
		lx.advance()
		more++
	}
	e := lx.errorf(start, lx.pos(), false, "invalid character %s", quoteRune(r))
	if more > 0 {
		e.msg += fmt.Sprintf(" (and %d more)", more)
	}
	switch r {
	case '\'':
		e.hint("strings are written in double quotes: \"text\"")
	case '\\':
		e.hint("a backslash is only valid inside a string")
	}
}

// invalidStart reports whether c cannot start any token.
func invalidStart(c byte) bool {
	switch {
	case c >= utf8.RuneSelf || c == 0x7f:
		return true
	case c < ' ':
		return c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v'
	}
	return c == '`' || c == '\'' || c == '\\'
}

func quoteRune(r rune) string {
	if r == '\'' {
		return `"'"`
	}
	return strconv.QuoteRune(r)
}

// dollar scans $name, $N and $#.
func (lx *lexer) dollar(t *token, start Pos) {
	lx.advance()
	c := lx.peekc(0)
	switch {
	case c == '#':
		lx.advance()
		t.kind = tParamCount
	case isDigit(c):
		t.kind = tPosParam
		n, err := strconv.ParseUint(lx.scanWhile(isDigit), 10, 31)
		switch {
		case err != nil:
			lx.errorf(start, lx.pos(), false, "positional parameter %s is too large", lx.src[start.Offset:lx.off])
		case n == 0:
			lx.errorf(start, lx.pos(), false, "positional parameters start at $1").hint("$# is the number of parameters")
		}
		t.num = n
	case isIdentStart(c):
		t.kind = tVar
		t.str = lx.scanWhile(isIdentChar)
	default:
		t.kind = tIllegal
		lx.errorf(start, lx.pos(), false, "'$' must be followed by a variable name, a parameter number or '#'")
	}
}

// durationUnits are the suffixes that make an integer a duration literal.
var durationUnits = map[string]bool{"ns": true, "us": true, "ms": true, "s": true, "m": true, "h": true, "d": true}

// intSuffixes are C-style type suffixes bpftrace accepts on integers.
var intSuffixes = map[string]bool{"u": true, "ul": true, "ull": true, "l": true, "ll": true}

// number scans an integer literal: decimal (with '_' separators and an
// optional exponent, 1e6), 0x hex, 0b binary, 0-prefixed octal, followed by an
// optional duration unit (ns us ms s m h d) or C suffix (u ul ull l ll).
func (lx *lexer) number(t *token, start Pos) {
	t.kind = tInt
	base := 10
	c1 := lx.peekc(1)
	switch {
	case lx.src[lx.off] == '0' && (c1 == 'x' || c1 == 'X') && isHexDigit(lx.peekc(2)):
		base = 16
		lx.advanceN(2)
	case lx.src[lx.off] == '0' && (c1 == 'b' || c1 == 'B') && (lx.peekc(2) == '0' || lx.peekc(2) == '1'):
		base = 2
		lx.advanceN(2)
	}
	ds := lx.off
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		if c == '_' || isDigit(c) || base == 16 && isHexDigit(c) {
			lx.advance()
			continue
		}
		break
	}
	digits := lx.s[ds:lx.off]
	var exp string
	if base == 10 && (lx.peekc(0) == 'e' || lx.peekc(0) == 'E') && isDigit(lx.peekc(1)) {
		lx.advance()
		exp = lx.scanWhile(func(c byte) bool { return isDigit(c) || c == '_' })
	}
	digitsEnd := lx.pos()
	ss := lx.pos()
	suffix := lx.scanWhile(isIdentChar)
	text := lx.s[start.Offset:lx.off]

	if strings.HasSuffix(digits, "_") || strings.HasSuffix(exp, "_") || strings.Contains(text, "__") {
		lx.errorf(start, digitsEnd, false, "misplaced '_' in integer %s", text).hint("'_' may only separate digits, as in 1_000_000")
	}
	switch {
	case suffix == "":
	case durationUnits[suffix] && base == 10:
		t.unit = suffix
	case intSuffixes[strings.ToLower(suffix)]:
	default:
		e := lx.errorf(ss, lx.pos(), false, "invalid suffix %q on integer %s", suffix, text)
		if base == 10 {
			e.hint("duration units are ns, us, ms, s, m, h and d (e.g. 100ms)")
		}
	}

	clean := strings.ReplaceAll(digits, "_", "")
	if base == 10 && len(clean) > 1 && clean[0] == '0' {
		base = 8
		clean = clean[1:]
		if i := strings.IndexAny(clean, "89"); i >= 0 {
			lx.errorf(start, digitsEnd, false, "invalid digit %q in octal integer %s", clean[i], text).hint("a leading 0 makes an integer octal")
			clean = ""
		}
	}
	if clean != "" {
		v, err := strconv.ParseUint(clean, base, 64)
		if err == nil && exp != "" {
			e, err2 := strconv.ParseUint(strings.ReplaceAll(exp, "_", ""), 10, 32)
			for i := uint64(0); err2 == nil && i < e && v != 0; i++ {
				hi, lo := bits.Mul64(v, 10)
				if hi != 0 {
					err2 = strconv.ErrRange
				}
				v = lo
			}
			err = err2
		}
		if err != nil {
			lx.errorf(start, lx.pos(), false, "integer %s is too large", text).hint("the largest integer is 18446744073709551615")
			v = 0
		}
		t.num = v
	}

	// bpftrace has no floating point; say so instead of failing on ".5"
	// later. After a '.', digits are a tuple index ($t.0.1), not a fraction.
	if base == 10 && suffix == "" && lx.prev != tDot && lx.peekc(0) == '.' && isDigit(lx.peekc(1)) {
		lx.advance()
		lx.scanWhile(isIdentChar)
		lx.errorf(start, lx.pos(), false, "floating-point numbers are not supported").hint("use integers in a smaller unit, e.g. 1500ms instead of 1.5s")
	}
}

// str scans a double-quoted string, decoding C escapes.
func (lx *lexer) str(t *token, start Pos) {
	t.kind = tString
	lx.advance()
	var b []byte
	for {
		if lx.off >= len(lx.src) {
			lx.errorf(start, lx.pos(), true, "unterminated string").hint("add the closing '\"'")
			break
		}
		c := lx.src[lx.off]
		if c == '"' {
			lx.advance()
			break
		}
		if c == '\n' {
			lx.errorf(start, lx.pos(), false, "unterminated string").hint("a string cannot span lines; write \\n for a newline")
			break
		}
		if c != '\\' {
			s := lx.off
			lx.advance()
			b = append(b, lx.src[s:lx.off]...)
			continue
		}
		es := lx.pos()
		lx.advance()
		if lx.off >= len(lx.src) {
			continue // reported as unterminated above
		}
		e := lx.src[lx.off]
		switch e {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '"':
			b = append(b, '"')
		case '\\':
			b = append(b, '\\')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := 0
			for i := 0; i < 3 && lx.off < len(lx.src) && '0' <= lx.src[lx.off] && lx.src[lx.off] <= '7'; i++ {
				v = v*8 + int(lx.src[lx.off]-'0')
				lx.advance()
			}
			if v > 255 {
				lx.errorf(es, lx.pos(), false, "octal escape %s is out of range", lx.src[es.Offset:lx.off]).hint("octal escapes go up to \\377")
			}
			b = append(b, byte(v))
			continue
		case 'x', 'X':
			lx.advance()
			v, n := 0, 0
			for ; n < 2 && lx.off < len(lx.src) && isHexDigit(lx.src[lx.off]); n++ {
				d, _ := strconv.ParseUint(string(lx.src[lx.off]), 16, 8)
				v = v*16 + int(d)
				lx.advance()
			}
			if n == 0 {
				lx.errorf(es, lx.pos(), false, "\\x must be followed by hex digits").hint("write a byte as \\xHH, e.g. \\x1b")
			} else {
				b = append(b, byte(v))
			}
			continue
		case '\n':
			lx.errorf(es, lx.pos(), false, "unknown escape sequence: backslash at end of line").hint("a string cannot span lines; write \\n for a newline")
			continue
		default:
			r, _ := utf8.DecodeRune(lx.src[lx.off:])
			lx.advance()
			lx.errorf(es, lx.pos(), false, "unknown escape sequence '\\%c'", r).hint(`valid escapes are \n \t \r \" \\ \xHH and \NNN (octal)`)
			continue
		}
		lx.advance()
	}
	t.str = string(b)
}

// Raw scanning modes used by the parser at the top level.

// specChar reports whether c may appear in a probe spec outside quotes.
func specChar(c byte) bool {
	return isIdentChar(c) || strings.IndexByte("_.-+*@~$[]?", c) >= 0
}

// pathChar reports whether c may appear in a path segment when looking
// ahead for a ':' (see scanSpec).
func pathChar(c byte) bool {
	return isIdentChar(c) || strings.IndexByte("_.-+*/@~", c) >= 0
}

// scanSpec scans one probe attach point as raw text, like
// "uprobe:/bin/bash:readline" or "t:syscalls:sys_enter_*". Whitespace, ',',
// '{' and most punctuation end it. A '/' belongs to the spec when it starts
// a ':'-separated segment, when the segment already is a path (starts with
// '/' or '.' or holds a '/'), or when the path characters after it reach
// another ':' ("uprobe:bin/app:main"); otherwise it starts the predicate.
// Double quotes protect any character except a newline.
func (lx *lexer) scanSpec() (string, Span) {
	lx.skipLayout()
	start := lx.pos()
	segStart := lx.off
	path := false
loop:
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == '"':
			qs := lx.pos()
			lx.advance()
			for lx.off < len(lx.src) && lx.src[lx.off] != '"' && lx.src[lx.off] != '\n' {
				if lx.src[lx.off] == '\\' && lx.peekc(1) != '\n' && lx.peekc(1) != 0 {
					lx.advance()
				}
				lx.advance()
			}
			if lx.off >= len(lx.src) || lx.src[lx.off] != '"' {
				lx.errorf(qs, lx.pos(), lx.off >= len(lx.src), "unterminated quoted name in probe").hint("add the closing '\"'")
				break loop
			}
			lx.advance()
		case c == ':':
			lx.advance()
			segStart = lx.off
			path = lx.peekc(0) == '/' || lx.peekc(0) == '.'
		case c == '/':
			switch {
			case path || lx.off == segStart && segStart > start.Offset:
				path = true
			case lx.peekc(1) == '/' || lx.peekc(1) == '*':
				break loop // a comment
			case lx.colonAhead(lx.off + 1):
				path = true
			default:
				break loop // the predicate
			}
			lx.advance()
		case c == '\\' && lx.off+1 < len(lx.src) && lx.src[lx.off+1] > ' ':
			lx.advanceN(2)
		case specChar(c):
			lx.advance()
		default:
			break loop
		}
	}
	return lx.s[start.Offset:lx.off], Span{Start: start, End: lx.pos()}
}

func (lx *lexer) colonAhead(i int) bool {
	for i < len(lx.src) && pathChar(lx.src[i]) {
		i++
	}
	return i < len(lx.src) && lx.src[i] == ':'
}

// looksLikeCDecl reports whether the text at the lexer's position (a struct,
// union or enum keyword) is a C definition: the keyword, then identifiers and
// balanced (...) or [...] groups, then '{'. "struct:probe" is not.
func (lx *lexer) looksLikeCDecl() bool {
	s := lx.save()
	defer lx.restore(s)
	lx.scanWhile(isIdentChar)
	for i := 0; i < 16; i++ {
		lx.skipLayout()
		if lx.off >= len(lx.src) {
			return false
		}
		c := lx.src[lx.off]
		switch {
		case c == '{':
			return true
		case isIdentStart(c):
			lx.scanWhile(isIdentChar)
		case c == '(' || c == '[':
			if !lx.skipBalanced(c) {
				return false
			}
		default:
			return false
		}
	}
	return false
}

// skipBalanced skips a (...) or [...] group starting at the lexer position.
func (lx *lexer) skipBalanced(open byte) bool {
	closer := byte(')')
	if open == '[' {
		closer = ']'
	}
	depth := 0
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		lx.advance()
		switch c {
		case open:
			depth++
		case closer:
			depth--
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// scanCDecl scans a C struct/union/enum definition verbatim: everything up to
// the matching '}', then any __attribute__((...)) groups and an optional ';'.
func (lx *lexer) scanCDecl() (string, Span) {
	start := lx.pos()
	depth := 0
	opened := false
	for lx.off < len(lx.src) && !(opened && depth == 0) {
		c := lx.src[lx.off]
		switch {
		case c == '/' && (lx.peekc(1) == '/' || lx.peekc(1) == '*'):
			lx.skipLayout()
			continue
		case c == '"' || c == '\'':
			lx.advance()
			for lx.off < len(lx.src) && lx.src[lx.off] != c && lx.src[lx.off] != '\n' {
				if lx.src[lx.off] == '\\' {
					lx.advance()
				}
				lx.advance()
			}
		case c == '{':
			depth++
			opened = true
		case c == '}':
			depth--
		}
		lx.advance()
	}
	if depth > 0 {
		lx.errorf(start, lx.pos(), true, "unterminated C definition: missing '}'")
	}
	end := lx.save()
	for {
		lx.skipLayout()
		if !strings.HasPrefix(lx.s[lx.off:min(lx.off+13, len(lx.src))], "__attribute__") ||
			lx.off+13 < len(lx.src) && isIdentChar(lx.src[lx.off+13]) {
			break
		}
		lx.advanceN(13)
		lx.skipLayout()
		if lx.peekc(0) != '(' || !lx.skipBalanced('(') {
			as := lx.pos()
			lx.errorf(as, as, lx.off >= len(lx.src), "expected ((...)) after __attribute__")
			end = lx.save()
			break
		}
		end = lx.save()
	}
	lx.restore(end)
	lx.skipLayout()
	if lx.peekc(0) == ';' {
		lx.advance()
		end = lx.save()
	}
	lx.restore(end)
	return lx.s[start.Offset:lx.off], Span{Start: start, End: lx.pos()}
}
