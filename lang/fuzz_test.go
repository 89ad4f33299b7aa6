package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that a rejected input always
// gets a positioned diagnostic, and that an accepted one prints back to
// source that parses to the same tree.
func FuzzParse(f *testing.F) {
	for _, tt := range lexTests {
		f.Add(tt.src)
	}
	for _, tt := range exprTests {
		f.Add("BEGIN { " + tt.src + " }")
	}
	for _, tt := range stmtTests {
		f.Add("k:f /x/ { " + tt.src + " }")
	}
	for _, tt := range programTests {
		f.Add(tt.src)
	}
	for _, tt := range errorTests {
		f.Add(tt.src)
	}
	// Long chains (deep trees on the left) and inputs full of errors.
	for _, src := range longChains(20000) {
		f.Add(src)
	}
	f.Add("BEGIN { $x = @a" + strings.Repeat("[1]", 3000) + "; }")
	f.Add("BEGIN { " + strings.Repeat("$x = 1 +; ) ", 200) + "}")
	files, _ := filepath.Glob("testdata/*.bt")
	for _, file := range files {
		src, _ := os.ReadFile(file)
		f.Add(string(src))
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, d := Parse("fuzz", []byte(src))
		if p == nil || d == nil {
			t.Fatal("nil result")
		}
		pos := posTable([]byte(src))
		for _, g := range d.List {
			if g.Span.Start.Line <= 0 {
				t.Fatalf("diagnostic without a position: %+v", g)
			}
			if o := g.Span.Start.Offset; o < 0 || o > len(src) || pos[o] != g.Span.Start {
				t.Fatalf("diagnostic %q at %+v, PosAt says %+v", g.Msg, g.Span.Start, PosAt([]byte(src), o))
			}
		}
		if d.HasErrors() {
			if d.Incomplete && len(src) > 0 && d.List[0].Span.Start.Offset > len(src) {
				t.Fatalf("diagnostic past the end")
			}
			_ = d.Format()
			return
		}
		if d.Incomplete {
			t.Fatal("Incomplete without errors")
		}
		checkSpans(t, "fuzz", []byte(src), p)
		out := Print(p)
		p2, d2 := Parse("printed", []byte(out))
		if d2.HasErrors() {
			t.Fatalf("printed program does not parse:\n%s\n%s", out, d2.Format())
		}
		if a, b := Dump(p), Dump(p2); a != b {
			t.Fatalf("round trip changed the AST\nprinted:\n%s\nbefore: %s\nafter:  %s", out, a, b)
		}
	})
}
