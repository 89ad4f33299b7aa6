package lang

import (
	"strings"
	"testing"
)

// longChains are statements whose trees are deep on the left: the parser
// loops over them, but whoever walks the tree recurses.
func longChains(n int) map[string]string {
	return map[string]string{
		"operators": "BEGIN { $x = 1" + strings.Repeat(" + 1", n) + "; exit(); }",
		"indexes":   "BEGIN { $x = @a" + strings.Repeat("[1]", n) + "; }",
		"fields":    "BEGIN { $x = curtask" + strings.Repeat(".a", n) + "; }",
		"predicate": "t:a:b /1" + strings.Repeat(" || 1", n) + "/ { }",
		"ternaries": "BEGIN { $x = 1" + strings.Repeat(" ? 1 : 1", n) + "; }",
	}
}

// TestLongChainsBounded: 300,000 chained terms are one positioned error,
// "expression nested too deeply", found in bounded time and memory (Go's
// stack overflow is fatal: recover cannot catch it); a chain of 9,000 parses
// (of ternaries, which nest on the right, 2,000).
func TestLongChainsBounded(t *testing.T) {
	for name, src := range longChains(300000) {
		prog, d := Parse("long.bt", []byte(src))
		if prog == nil || !d.HasErrors() {
			t.Errorf("%s: 300000 terms parse without an error", name)
			continue
		}
		if len(d.List) != 1 || !strings.Contains(d.List[0].Msg, "nested too deeply") || d.List[0].Span.Start.Line != 1 {
			t.Errorf("%s: want one positioned 'nested too deeply', got:\n%.2000s", name, d.Format())
		}
		if out := d.Format(); len(out) > 2000 {
			t.Errorf("%s: %d bytes of diagnostics for one error", name, len(out))
		}
	}
	for name, src := range longChains(9000) {
		if name == "ternaries" {
			// Nested on the right: bounded by the nesting limit (2500).
			src = longChains(2000)[name]
		}
		if _, d := Parse("long.bt", []byte(src)); d.HasErrors() {
			t.Errorf("%s: 9000 terms: %.2000s", name, d.Format())
		}
	}
}

// TestDiagnosticsCapped: at most 20 diagnostics are shown, then how many
// more there were; a very long source line is shown as a window around
// the column, so one diagnostic's text is bounded too.
func TestDiagnosticsCapped(t *testing.T) {
	src := "BEGIN { " + strings.Repeat("$x = 1 +; ", 5000) + "}"
	d := &Diags{File: "many.bt", Src: []byte(src)}
	for i := 0; i < 5000; i++ {
		off := 8 + i*10 + 8
		d.Errorf(Span{Start: PosAt(d.Src, off), End: PosAt(d.Src, off+1)}, "error %d", i)
	}
	out := d.Format()
	if n := strings.Count(out, ": error: "); n != 20 {
		t.Errorf("%d errors shown, want 20", n)
	}
	if !strings.Contains(out, "many.bt: too many errors: 4980 more diagnostics not shown") {
		t.Errorf("no 'too many errors' line:\n%s", out)
	}
	if len(out) > 20*500 {
		t.Errorf("%d bytes for 20 diagnostics", len(out))
	}
	// The window keeps the caret under the column it names.
	lines := strings.Split(out, "\n")
	for i := 0; i+2 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "many.bt:1:") || strings.Contains(lines[i], "too many") {
			continue
		}
		shown, caret := lines[i+1], lines[i+2]
		c := strings.IndexByte(caret, '^')
		if c < 0 || c >= len(shown) || shown[c] != ';' || len(shown) > maxLineShown+6 {
			t.Fatalf("caret not under the ';' of a clipped line:\n%s\n%s\n%s", lines[i], shown, caret)
		}
	}
}

func TestClipLine(t *testing.T) {
	short, c, e := clipLine("abc", 2, 3)
	if short != "abc" || c != 2 || e != 3 {
		t.Errorf("a short line changed: %q %d %d", short, c, e)
	}
	long := strings.Repeat("a", 1000) + "X" + strings.Repeat("b", 1000)
	got, c, e := clipLine(long, 1001, 1500)
	if !strings.HasPrefix(got, "...") || !strings.HasSuffix(got, "...") || got[c-1] != 'X' || e > len(got)+1 {
		t.Errorf("clipLine: col %d end %d in %q", c, e, got)
	}
	got, c, _ = clipLine(long, 1, 2)
	if strings.HasPrefix(got, "...") || c != 1 || got[0] != 'a' {
		t.Errorf("clipLine at the start: col %d in %q", c, got)
	}
}
