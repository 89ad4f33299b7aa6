package lang

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diag is one message about a span of the source.
type Diag struct {
	Span     Span
	Severity Severity
	Msg      string
	Hints    []Hint
	Notes    []Note // other places worth showing, each with its source line
}

// Hint is advice shown after a diagnostic. A hint about another place (an
// unclosed bracket, a definition) keeps the place as a span, At, and writes
// it into Text's "{at}" only when rendered: whoever moves the diagnostic's
// spans (the REPL, into the text the user typed) moves the hint's too.
type Hint struct {
	Text string
	At   *Span
}

// hintAt marks where a Hint's place goes in its text.
const hintAt = "{at}"

// String renders the hint, its place as "line L, column C".
func (h Hint) String() string {
	if h.At == nil {
		return h.Text
	}
	return strings.Replace(h.Text, hintAt, fmt.Sprintf("line %d, column %d", h.At.Start.Line, h.At.Start.Col), 1)
}

// Note is a secondary message about another span, shown after a diagnostic.
type Note struct {
	Span Span
	Msg  string
}

// Diags collects diagnostics; it is an error when it holds at least one Error.
type Diags struct {
	File string
	Src  []byte
	List []Diag
	// Incomplete is set by Parse when every error comes from the input ending
	// inside an unclosed '{', '(' or '[', a string or a block comment: a REPL
	// should read another line and parse again.
	Incomplete bool
}

// Errorf adds an error at span.
func (d *Diags) Errorf(sp Span, format string, args ...any) *Diag {
	d.List = append(d.List, Diag{Span: sp, Severity: Error, Msg: fmt.Sprintf(format, args...)})
	return &d.List[len(d.List)-1]
}

// Warnf adds a warning at span.
func (d *Diags) Warnf(sp Span, format string, args ...any) *Diag {
	d.List = append(d.List, Diag{Span: sp, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
	return &d.List[len(d.List)-1]
}

// Hint appends a hint to the diagnostic and returns it, for chaining.
func (g *Diag) Hint(format string, args ...any) *Diag {
	g.Hints = append(g.Hints, Hint{Text: fmt.Sprintf(format, args...)})
	return g
}

// HintAt appends a hint about the place sp, which goes where the text
// says {at}, and returns the diagnostic.
func (g *Diag) HintAt(sp Span, format string, args ...any) *Diag {
	g.Hints = append(g.Hints, Hint{Text: fmt.Sprintf(format, args...), At: &sp})
	return g
}

// Note appends a note about another span and returns the diagnostic.
func (g *Diag) Note(sp Span, format string, args ...any) *Diag {
	g.Notes = append(g.Notes, Note{Span: sp, Msg: fmt.Sprintf(format, args...)})
	return g
}

// AtRoot returns the diagnostic moved out of macro expansions to the call
// in the program's own text that they came from (naming the macros), with
// its notes turned into hints that give their positions: for renderers
// that can show only the program's text, like the REPL's.
func (g Diag) AtRoot() Diag {
	if e := g.Span.Exp; e != nil && e.Macro != "" {
		var names []string
		for ; e != nil && e.Macro != ""; e = e.Call.Exp {
			names = append(names, e.Macro)
		}
		g.Msg = fmt.Sprintf("%s (in macro %s)", g.Msg, strings.Join(names, ", used by "))
		g.Span = g.Span.Root()
	}
	hints := append([]Hint(nil), g.Hints...)
	for _, n := range g.Notes {
		if n.Span.Exp == nil && n.Span.Start.Line > 0 {
			sp := n.Span
			hints = append(hints, Hint{Text: n.Msg + ": " + hintAt, At: &sp})
		} else {
			hints = append(hints, Hint{Text: n.Msg})
		}
	}
	g.Hints, g.Notes = hints, nil
	return g
}

// HasErrors reports whether any diagnostic is an error.
func (d *Diags) HasErrors() bool {
	if d == nil {
		return false
	}
	for _, g := range d.List {
		if g.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns d as an error when it holds errors, else nil.
func (d *Diags) Err() error {
	if d.HasErrors() {
		return d
	}
	return nil
}

// Error renders every diagnostic, sorted by position.
func (d *Diags) Error() string { return d.Format() }

// Format renders every diagnostic (errors and warnings) sorted by position:
//
//	file:line:col: error: message
//	source line
//	    ~~~~~~
//	hint: ...
func (d *Diags) Format() string {
	list := append([]Diag(nil), d.List...)
	// Code expanded from a macro sorts at the call it came from.
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].Span.Root().Start.Offset < list[j].Span.Root().Start.Offset
	})
	var b strings.Builder
	for i, g := range list {
		if i == maxShown {
			fmt.Fprintf(&b, "%s: too many errors: %d more diagnostics not shown\n", d.fileName(), len(list)-maxShown)
			break
		}
		d.formatOne(&b, g)
	}
	return b.String()
}

// maxShown is how many diagnostics Format shows: the first ones, in source
// order, are the ones to fix first, and a hostile script cannot make
// bpfsh write gigabytes of them.
const maxShown = 20

func (d *Diags) fileName() string {
	if d.File == "" {
		return "stdin"
	}
	return d.File
}

// Warnings renders only the warnings.
func (d *Diags) Warnings() string {
	w := &Diags{File: d.File, Src: d.Src}
	for _, g := range d.List {
		if g.Severity == Warning {
			w.List = append(w.List, g)
		}
	}
	return w.Format()
}

func (d *Diags) formatOne(b *strings.Builder, g Diag) {
	d.located(b, g.Span, g.Severity.String(), g.Msg)
	for _, h := range g.Hints {
		fmt.Fprintf(b, "hint: %s\n", h)
	}
	for _, n := range g.Notes {
		d.located(b, n.Span, "note", n.Msg)
	}
	// Errors in expanded code also show the calls that expanded it.
	for e := g.Span.Exp; e != nil && e.Macro != ""; e = e.Call.Exp {
		d.located(b, e.Call, "note", "in expansion of macro "+e.Macro)
	}
}

// located writes "file:line:col: kind: msg", the source line and a caret
// line underlining sp.
func (d *Diags) located(b *strings.Builder, sp Span, kind, msg string) {
	file, src := sp.Origin(d.File, d.Src)
	if file == "" {
		file = "stdin"
	}
	st := sp.Start
	if st.Line == 0 {
		fmt.Fprintf(b, "%s: %s: %s\n", file, kind, msg)
		return
	}
	fmt.Fprintf(b, "%s:%d:%d: %s: %s\n", file, st.Line, st.Col, kind, msg)
	if line, start := LineAt(src, st.Offset); line != "" || start >= 0 {
		exp := expandTabs(line)
		// Underline from the start column to the end of the span on this line.
		col, endCol := st.Col, st.Col+1
		if sp.End.Line == st.Line && sp.End.Col > st.Col {
			endCol = sp.End.Col
		} else if sp.End.Line > st.Line {
			endCol = utf8.RuneCountInString(exp) + 1
		}
		exp, col, endCol = clipLine(exp, col, endCol)
		b.WriteString(exp)
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", col-1))
		b.WriteByte('^')
		if n := endCol - col - 1; n > 0 {
			b.WriteString(strings.Repeat("~", n))
		}
		b.WriteByte('\n')
	}
}

// maxLineShown is the most of a source line a diagnostic shows: a longer
// line is cut to a window around the column, marked "..." where cut.
const maxLineShown = 160

// clipLine cuts line to maxLineShown runes around column col, and moves
// col and endCol (the underline's end, exclusive) into the cut line.
func clipLine(line string, col, endCol int) (string, int, int) {
	n := utf8.RuneCountInString(line)
	if n <= maxLineShown {
		return line, col, endCol
	}
	r := []rune(line)
	from := max(0, min(col-1-maxLineShown/3, n-maxLineShown))
	to := min(n, from+maxLineShown)
	out := string(r[from:to])
	shift := from
	if from > 0 {
		out = "..." + out
		shift -= 3
	}
	if to < n {
		out += "..."
	}
	col -= shift
	endCol = min(endCol-shift, to-shift+1)
	return out, col, max(endCol, col+1)
}

// LineAt returns the source line containing offset and the offset its line starts at.
func LineAt(src []byte, off int) (string, int) {
	if off < 0 || off > len(src) {
		return "", -1
	}
	start := off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end := off
	for end < len(src) && src[end] != '\n' {
		end++
	}
	return strings.TrimRight(string(src[start:end]), "\r"), start
}

func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

// PosAt computes the Pos of a byte offset in src (columns count runes, tabs
// advance to the next multiple of 8, as expandTabs renders them).
func PosAt(src []byte, off int) Pos {
	line, col := 1, 1
	for _, r := range string(src[:min(off, len(src))]) {
		line, col = NextPos(line, col, r)
	}
	return Pos{Offset: off, Line: line, Col: col}
}

// NextPos is the line and column after the rune r at line, col.
func NextPos(line, col int, r rune) (int, int) {
	switch r {
	case '\n':
		return line + 1, 1
	case '\t':
		return line, col + 8 - (col-1)%8
	}
	return line, col + 1
}
