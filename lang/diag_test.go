package lang

import (
	"testing"
)

// Three mistakes, three diagnostics, each with its line, column and caret:
// one on a tab-indented line, one after multibyte UTF-8 text.
func TestDiagnosticsFormat(t *testing.T) {
	src := "BEGIN {\n" +
		"\tprintf(\"héllo %d\\n\", 1) $x = 2;\n" +
		"\t@a[\"ünïcödé\", 2] = 3 +;\n" +
		"}\n" +
		"// ✓ déjà vu\n" +
		"END { $y = 1.5; }\n"
	_, d := Parse("three.bt", []byte(src))
	want := `three.bt:2:32: error: missing ';' after statement
        printf("héllo %d\n", 1) $x = 2;
                               ^
hint: put ';' between statements
three.bt:3:31: error: unexpected ';', expecting an expression
        @a["ünïcödé", 2] = 3 +;
                              ^
three.bt:6:12: error: floating-point numbers are not supported
END { $y = 1.5; }
           ^~~
hint: use integers in a smaller unit, e.g. 1500ms instead of 1.5s
`
	if got := d.Format(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(d.List) != 3 || d.Incomplete {
		t.Errorf("%d diagnostics, incomplete %v", len(d.List), d.Incomplete)
	}
	for _, g := range d.List {
		if p := PosAt([]byte(src), g.Span.Start.Offset); p != g.Span.Start {
			t.Errorf("%s: position %+v, PosAt says %+v", g.Msg, g.Span.Start, p)
		}
	}
}

// Hints point back at what is unclosed, and say '==' where '=' was typed.
func TestDiagnosticHints(t *testing.T) {
	tests := []struct{ src, want string }{
		{"kprobe:f /pid = 1/ { }", `t:1:15: error: '=' is assignment, not allowed in a predicate
kprobe:f /pid = 1/ { }
              ^
hint: use '==' to compare
`},
		{"BEGIN {\n  if (x) {\n    print(1);\n", `t:4:1: error: unexpected end of input, expecting '}'

^
hint: the '{' at line 2, column 10 is not closed
`},
		{"BEGIN {\n  print(1,\n    2;\n}", `t:3:6: error: unexpected ';', expecting ',' or ')'
    2;
     ^
hint: to match the '(' at line 2, column 8
`},
		{"BEGIN { $s = \"abc\\q\"; }", `t:1:18: error: unknown escape sequence '\q'
BEGIN { $s = "abc\q"; }
                 ^~
hint: valid escapes are \n \t \r \" \\ \xHH and \NNN (octal)
`},
		{"BEGIN { $s = \"abc }", `t:1:14: error: unterminated string
BEGIN { $s = "abc }
             ^~~~~~
hint: add the closing '"'
`},
		{"BEGIN { print(1) } }", `t:1:20: error: unexpected '}', expecting a probe
BEGIN { print(1) } }
                   ^
hint: is there one '}' too many?
`},
		{"kprobe:a kprobe:b { }", `t:1:10: error: unexpected identifier 'kprobe', expecting '{'
kprobe:a kprobe:b { }
         ^~~~~~
hint: separate several probes with ','
`},
		{"exit()", `t:1:5: error: unexpected '(', expecting '{'
exit()
    ^
hint: statements must be inside a probe body, e.g. BEGIN { exit(...) }
`},
	}
	for _, tt := range tests {
		_, d := Parse("t", []byte(tt.src))
		if got := d.Format(); got != tt.want {
			t.Errorf("%q:\ngot:\n%s\nwant:\n%s", tt.src, got, tt.want)
		}
	}
}

// The REPL keeps reading while the only problem is unclosed input.
func TestIncomplete(t *testing.T) {
	tests := []struct {
		src        string
		incomplete bool
	}{
		{"BEGIN {", true},
		{"BEGIN { printf(\"x\",", true},
		{"BEGIN { @x[1,", true},
		{"BEGIN { \"abc", true},
		{"BEGIN { } /* comment", true},
		{"struct X { int a;", true},
		{"config = { a = 1;", true},
		{"macro m($x) { $x", true},
		{"k:f /pid/ { if (1) { for ($i : 0..2) {", true},
		{"uprobe:\"/bin/x", true},
		{"BEGIN { x y", false},         // a real error before the end
		{"BEGIN { printf(\"x\"", true}, // still inside '('
		{"BEGIN { \"abc\n", false},     // a string cannot span lines
		{"BEGIN { } }", false},
		{"BEGIN", false},
		{"BEGIN { }", false},
		{"", false},
	}
	for _, tt := range tests {
		_, d := Parse("t", []byte(tt.src))
		if d.Incomplete != tt.incomplete {
			t.Errorf("%q: Incomplete = %v, want %v\n%s", tt.src, d.Incomplete, tt.incomplete, d.Format())
		}
		if !d.HasErrors() && tt.incomplete {
			t.Errorf("%q: no errors", tt.src)
		}
	}
}
