package session

import (
	"strings"

	"github.com/bpfsh/bpfsh/lang"
)

// diagnostics renders diags against the chunks they fall in. A chunk shows
// only its own text, so each diagnostic's spans, and the places its hints
// name, move from the accumulated source into the chunk's text.
func (s *Session) diagnostics(list []lang.Diag, chunks []*chunk) *Diagnostics {
	var b strings.Builder
	for _, c := range chunks {
		d := &lang.Diags{File: c.file, Src: []byte(c.show)}
		for _, g := range list {
			g = g.AtRoot() // chunks show only their own text
			if owner(g, chunks) != c {
				continue
			}
			if g.Span.Start.Line > 0 {
				g.Hints = c.relocateHints(g.Hints)
				g.Span = c.relocate(g.Span)
			}
			d.List = append(d.List, g)
		}
		b.WriteString(d.Format())
	}
	return &Diagnostics{Text: b.String()}
}

// owner is the chunk a diagnostic points into; unpositioned ones belong to the last.
func owner(g lang.Diag, chunks []*chunk) *chunk {
	if g.Span.Start.Line == 0 {
		return chunks[len(chunks)-1]
	}
	own := chunks[0]
	for _, c := range chunks {
		if c.start <= g.Span.Start.Offset {
			own = c
		}
	}
	return own
}

// relocateHints moves the places hints name into the chunk's text, when
// they lie in it.
func (c *chunk) relocateHints(hints []lang.Hint) []lang.Hint {
	out := make([]lang.Hint, len(hints))
	for i, h := range hints {
		if h.At != nil && h.At.Exp == nil && c.holds(h.At.Start.Offset) {
			sp := c.relocate(*h.At)
			h.At = &sp
		}
		out[i] = h
	}
	return out
}

// holds reports whether offset off of the accumulated source is in what
// the user wrote of c.
func (c *chunk) holds(off int) bool {
	return off >= c.start+c.shift && off <= c.start+c.shift+len(c.show)
}

// relocate moves sp from the accumulated source into the chunk's text.
func (c *chunk) relocate(sp lang.Span) lang.Span {
	at := func(p lang.Pos) lang.Pos {
		off := max(0, min(p.Offset-c.start-c.shift, len(c.show)))
		return lang.PosAt([]byte(c.show), off)
	}
	sp.Start, sp.End = at(sp.Start), at(sp.End)
	if sp.End.Offset < sp.Start.Offset {
		sp.End = sp.Start
	}
	return sp
}
