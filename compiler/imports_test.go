package compiler

import "testing"

// TestStdlibModules: every importable module parses and compiles when used.
func TestStdlibModules(t *testing.T) {
	for path, lib := range stdlibModules {
		if d := lib.Diags(); d.HasErrors() {
			t.Errorf("%s:\n%s", path, d.Format())
		}
	}
	if _, diags := compile(t, `import "stdlib/test"; BEGIN { print(__always_true()); }`); diags.HasErrors() {
		t.Error(diags.Format())
	}
	_, diags := compile(t, `import "stdlib/none"; BEGIN { exit(); }`)
	if !diags.HasErrors() {
		t.Error("an unknown module imported without an error")
	}
}
