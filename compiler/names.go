package compiler

import "sort"

// Names lists the builtins and functions a script may use, each sorted: the
// REPL completes them. A probe's context defines some values (args).
func Names() (builtinNames, funcNames []string) {
	seen := map[string]bool{}
	for _, b := range builtinRows() {
		if b.todo && !b.ctx {
			continue
		}
		if b.form&formValue != 0 {
			builtinNames = append(builtinNames, b.name)
		}
		if b.form&formFunc != 0 {
			seen[b.name] = true
			funcNames = append(funcNames, b.name)
		}
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
