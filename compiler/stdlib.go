package compiler

import (
	_ "embed"
	"strings"

	"github.com/bpfsh/bpfsh/lang"
)

// bpfsh's standard library: macros written in the language itself, built
// into the binary and parsed only when a program uses one of their names.

//go:embed stdlib/base.bt
var stdlibBase []byte

var stdlib = lang.NewLibrary("stdlib/base.bt", stdlibBase)

// isCompilerName reports whether the compiler itself implements name as a
// builtin or function, so that a call which fits none of the macros of that
// name is not an error (macro cpu(x) leaves cpu() alone).
func isCompilerName(name string) bool {
	name = strings.TrimPrefix(name, "__builtin_")
	return lookupBuiltin(name) != nil || lang.IsBuiltinName(name)
}
