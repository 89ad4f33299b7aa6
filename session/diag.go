package session

import (
	"strings"

	"github.com/bpfsh/bpfsh/lang"
)

// diagnostics renders diags, each against the chunk it points into (its
// spans carry the chunk's file and text), the chunks in the order typed
// and the new one, c, last.
func (s *Session) diagnostics(list []lang.Diag, c *chunk) *Diagnostics {
	var b strings.Builder
	for _, ch := range append(append([]*chunk(nil), s.chunks...), c) {
		d := &lang.Diags{File: c.prog.File, Src: c.prog.Src}
		for _, g := range list {
			if s.owner(g, c) == ch {
				d.List = append(d.List, g)
			}
		}
		b.WriteString(d.Format())
	}
	return &Diagnostics{Text: b.String()}
}

// owner is the chunk a diagnostic points into: one typed before carries
// its origin (at the call, for code expanded from a macro), the new one c
// none; unpositioned ones belong to c.
func (s *Session) owner(g lang.Diag, c *chunk) *chunk {
	exp := g.Span.Root().Exp
	for _, ch := range s.chunks {
		if exp == ch.origin {
			return ch
		}
	}
	return c
}
