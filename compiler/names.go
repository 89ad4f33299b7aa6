package compiler

import "sort"

// Names lists the builtins and functions a script may use, each sorted: the
// REPL completes them.
func Names() (builtinNames, funcNames []string) {
	seen := map[string]bool{}
	for _, name := range []string{"curtask", "args"} {
		seen[name] = true
		builtinNames = append(builtinNames, name)
	}
	for name := range builtins {
		if !seen[name] {
			builtinNames = append(builtinNames, name)
		}
	}
	for name := range funcs {
		seen[name] = true
		funcNames = append(funcNames, name)
	}
	for _, name := range stdlib.Names() {
		if !seen[name] {
			funcNames = append(funcNames, name)
		}
	}
	sort.Strings(builtinNames)
	sort.Strings(funcNames)
	return builtinNames, funcNames
}
