package session

import (
	"testing"

	"github.com/bpfsh/bpfsh/compiler"
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
