package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/probes"
	bpfrt "github.com/bpfsh/bpfsh/runtime"
)

// Errors in what the user typed point into it, whatever the session wraps
// it in, and so do the places their hints name. (Input that does not
// compile never reaches the kernel: no root needed.)
func TestDiagnostics(t *testing.T) {
	tests := []struct{ src, want string }{
		{"print(1,\n  2;", `stdin:2:4: error: unexpected ';', expecting ',' or ')'
  2;
   ^
hint: to match the '(' at line 1, column 6
`},
		{"$x = ;\n@y[1", `stdin:1:6: error: unexpected ';', expecting an expression
$x = ;
     ^
stdin:2:5: error: unexpected end of input, expecting ',' or ']'
@y[1
    ^
hint: the '[' at line 2, column 3 is not closed
`},
		{"@x = 1; }", `stdin:1:9: error: unexpected '}', expecting a statement
@x = 1; }
        ^
`},
		{"$x = nosuch(1)", `stdin:1:6: error: unknown function nosuch()
$x = nosuch(1)
     ^~~~~~~~~
`},
	}
	for _, tc := range tests {
		env := probes.SystemEnv()
		s := New(compiler.Options{Env: env}, bpfrt.Options{Env: env})
		err := s.Eval("stdin", tc.src)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Eval(%q):\n%s\nwant\n%s", tc.src, got, tc.want)
		}
	}
}

// Chunks are parsed once and compiled together: a diagnostic points into
// the chunk it is about, with that chunk's name, lines and columns, also
// when a later chunk expands a macro an earlier one defined; :save
// reproduces every chunk as typed (macros too), detached probes commented.
func TestChunks(t *testing.T) {
	privtest.Require(t)
	env := probes.SystemEnv()
	var out bytes.Buffer
	s := New(compiler.Options{Env: env}, bpfrt.Options{Env: env, Out: &out})
	defer s.Close()
	if _, _, err := s.Add("first.bt", "macro half(x) { x / \"s\" }\n\nBEGIN { @a = 1; }\ni:s:100 { @b = 1; }"); err != nil {
		t.Fatal(err)
	}
	check := func(err error, want string) {
		t.Helper()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("got\n%s\nwant it to begin with\n%s", got, want)
		}
	}
	check(s.Eval("second", "half(4)"), `first.bt:1:17: error: / cannot be applied to int64 and string[2]
macro half(x) { x / "s" }
                ^~~~~~~
hint: strings support only == and !=
second:1:1: note: in expansion of macro half
half(4)
^~~~~~~
`)
	_, _, err := s.Add("third", "\nBEGIN { @a = \"str\"; }")
	check(err, `third:2:9: error: @a holds int64, cannot store string[4]
BEGIN { @a = "str"; }
        ^~~~~~~~~~
`)
	check(s.Eval("fourth", "@a + 1"), "")
	if out.String() != "2\n" {
		t.Errorf("@a + 1 printed %q, want 2", out.String())
	}
	blocks := s.Blocks()
	if len(blocks) != 2 {
		t.Fatalf("%d blocks, want 2: the BEGIN and the interval", len(blocks))
	}
	if err := s.Detach(blocks[1].ID); err != nil {
		t.Fatal(err)
	}
	want := "macro half(x) { x / \"s\" }\n\nBEGIN { @a = 1; }\n// detached:\n// i:s:100 { @b = 1; }\n"
	if got := s.Source(); got != want {
		t.Errorf("Source() =\n%s\nwant\n%s", got, want)
	}
}
