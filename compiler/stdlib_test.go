package compiler

import (
	"testing"

	"github.com/bpfsh/bpfsh/lang"
)

// The built-in library parses, each of its macros is listed, and a program
// that uses none of them does not parse it.
func TestStdlib(t *testing.T) {
	lib := lang.NewLibrary(stdlib.File, stdlib.Src)
	if _, diags := compile(t, `BEGIN { printf("%d\n", pid); exit(); }`); diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	if d := lib.Diags(); len(d.List) > 0 {
		t.Fatalf("stdlib/base.bt:\n%s", d.Format())
	}
	for _, name := range lib.Names() {
		if len(lib.Macros(name)) == 0 {
			t.Errorf("%s is listed but not defined", name)
		}
	}
	for _, want := range []string{"assert", "ppid"} {
		if !lib.Has(want) {
			t.Errorf("no macro %s", want)
		}
	}
}
