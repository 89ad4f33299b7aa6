package compiler

import (
	_ "embed"
	"strings"

	"github.com/bpfsh/bpfsh/lang"
)

// import "stdlib/NAME"; brings in a module of bpfsh's library: macros that
// stand in for what bpftrace's stdlib modules provide (there often in C,
// which bpfsh does not compile). stdlib/base is always there.

//go:embed stdlib/test.bt
var stdlibTest []byte

var stdlibModules = map[string]*lang.Library{
	"stdlib/test": lang.NewLibrary("stdlib/test.bt", stdlibTest),
}

// imports adds the imported modules' macros to the program's.
func (c *compiler) imports(prog *lang.Program, diags *lang.Diags) {
	seen := map[string]bool{}
	for _, imp := range prog.Imports {
		path := strings.TrimSuffix(imp.Path, "/")
		if path == "stdlib" || path == "stdlib/base" || path == "stdlib/base.bt" {
			continue // always there
		}
		lib, ok := stdlibModules[path]
		if !ok {
			d := diags.Errorf(imp.Span, "unable to find import %q", imp.Path)
			if strings.HasPrefix(path, "stdlib/") {
				d.Hint("bpfsh's library has stdlib/base (always imported) and %s", strings.Join(sortedKeys(stdlibModules), ", "))
			} else {
				d.Hint("bpfsh imports modules of its library (stdlib/...), not files")
			}
			continue
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		if ld := lib.Diags(); ld.HasErrors() {
			diags.Errorf(imp.Span, "%s does not parse (a bpfsh bug):\n%s", path, ld.Format())
			continue
		}
		for _, name := range lib.Names() {
			prog.Macros = append(prog.Macros[:len(prog.Macros):len(prog.Macros)], lib.Macros(name)...)
		}
	}
}
