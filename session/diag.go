package session

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/bpfsh/bpfsh/lang"
)

// diagnostics renders diags against the chunks they fall in.
func (s *Session) diagnostics(list []lang.Diag, chunks []*chunk, full string) *Diagnostics {
	var b strings.Builder
	for _, c := range chunks {
		d := &lang.Diags{File: c.file, Src: []byte(c.show)}
		for _, g := range list {
			g = g.AtRoot() // chunks show only their own text
			if owner(g, chunks) != c {
				continue
			}
			if g.Span.Start.Line > 0 {
				if c.shift > 0 && g.Span.Start.Offset >= c.start+c.shift+len(c.show) {
					// The wrapper's closing tokens: the user's text just ended.
					for _, tok := range []string{"unexpected '}'", "unexpected ')'"} {
						if strings.HasPrefix(g.Msg, tok) {
							g.Msg = "unexpected end of input" + g.Msg[len(tok):]
						}
					}
				}
				g.Hints = relocateHints(g.Hints, c, full)
				g.Span.Start = c.relocate(g.Span.Start)
				g.Span.End = c.relocate(g.Span.End)
				if g.Span.End.Offset < g.Span.Start.Offset {
					g.Span.End = g.Span.Start
				}
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

// Compiled on first use: nothing at start-up.
var hintPos = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+), column (\d+)`) })

// relocateHints rewrites "line L, column C" in hints from the accumulated
// source to the chunk's own text.
func relocateHints(hints []string, c *chunk, full string) []string {
	out := make([]string, len(hints))
	for i, h := range hints {
		out[i] = hintPos().ReplaceAllStringFunc(h, func(m string) string {
			sm := hintPos().FindStringSubmatch(m)
			line, _ := strconv.Atoi(sm[1])
			col, _ := strconv.Atoi(sm[2])
			off, ok := offsetAt(full, line, col)
			if !ok || off < c.start+c.shift || off > c.start+c.shift+len(c.show) {
				return m
			}
			p := c.relocate(lang.Pos{Offset: off})
			return fmt.Sprintf("line %d, column %d", p.Line, p.Col)
		})
	}
	return out
}

// offsetAt is the byte offset of a line and column (as lang.PosAt counts them).
func offsetAt(src string, line, col int) (int, bool) {
	l, c := 1, 1
	for i, r := range src {
		if l == line && c >= col {
			return i, c == col
		}
		switch r {
		case '\n':
			if l == line {
				return 0, false
			}
			l++
			c = 1
		case '\t':
			c += 8 - (c-1)%8
		default:
			c++
		}
	}
	return len(src), l == line && c == col
}

func (c *chunk) relocate(p lang.Pos) lang.Pos {
	off := p.Offset - c.start - c.shift
	off = max(0, min(off, len(c.show)))
	return lang.PosAt([]byte(c.show), off)
}
