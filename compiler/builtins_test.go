package compiler

import (
	"fmt"
	"testing"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestBuiltinNamesMatchLang keeps lang's builtin value names (which the
// grammar needs and lang, below compiler, cannot read from the table) the
// same as the table's value rows.
func TestBuiltinNamesMatchLang(t *testing.T) {
	values := map[string]bool{}
	for _, b := range builtinRows() {
		if b.form&formValue == 0 {
			continue
		}
		values[b.name] = true
		if !lang.IsBuiltinName(b.name) {
			t.Errorf("%s is a value in the builtin table, not in lang's builtinVars", b.name)
		}
	}
	for _, name := range lang.BuiltinValues() {
		if !values[name] {
			t.Errorf("%s is in lang's builtinVars, not a value in the builtin table", name)
		}
	}
}

// TestBuiltinRows checks that each row can do what its form says.
func TestBuiltinRows(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range builtinRows() {
		if seen[b.name] {
			t.Errorf("%s: two rows", b.name)
		}
		seen[b.name] = true
		switch {
		case b.form == 0:
			t.Errorf("%s: no form", b.name)
		case b.todo:
			if b.value != nil || b.check != nil || b.emit != nil || b.operand != nil {
				t.Errorf("%s: not supported yet, but has code", b.name)
			}
			if b.ctx && b.form != formValue {
				t.Errorf("%s: only values come from a probe's context", b.name)
			}
			continue
		}
		if b.form&formValue != 0 && (b.typ == nil || b.value == nil) {
			t.Errorf("%s: a value without a type or code", b.name)
		}
		if b.form&formFunc != 0 && (b.check == nil) == (b.operand == nil || b.result == nil) {
			t.Errorf("%s: a function needs a check, or an operand and a result", b.name)
		}
		if b.form&(formCall|formStmt) != 0 && b.emit == nil {
			t.Errorf("%s: a function without code", b.name)
		}
		if lookupBuiltin(b.name) == nil {
			t.Errorf("%s: not indexed", b.name)
		}
	}
}

// TestCodegenReadsItsOwnScope: a probe's names and constants are the ones
// its checker resolved, whatever probe was checked last. (Code generation
// used to fold setsockopt()'s level with the last-checked probe's names:
// SOL_TCP became 0 when a BEGIN followed the sockops probe.)
func TestCodegenReadsItsOwnScope(t *testing.T) {
	const sockops = `sockops { setsockopt(SOL_TCP, TCP_BPF_IW, 10); }`
	var want string
	for i, src := range []string{sockops, sockops + ` BEGIN { }`} {
		obj, d := compile(t, src)
		if d.HasErrors() {
			t.Fatalf("%s: %v", src, d)
		}
		var got string
		for _, ins := range obj.Programs[0].Spec.Instructions {
			got += fmt.Sprintln(ins) // without the source lines, which differ
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("%s: the sockops program changed:\n%s\nwant\n%s", src, got, want)
		}
	}
}

// TestProbeType: probetype is "special" for bpftrace's own probes, else the
// provider's name, usb's included (bpfsh runs those itself too).
func TestProbeType(t *testing.T) {
	for name, want := range map[string]string{"BEGIN": "special", "END": "special", "self": "special",
		"tracepoint": "tracepoint", "interval": "interval", "usb": "usb", "kprobe": "kprobe"} {
		prov, ok := probes.Lookup(name)
		if !ok {
			t.Fatalf("no provider %s", name)
		}
		if got := probeType(prov); got != want {
			t.Errorf("probetype of %s: %q, want %q", name, got, want)
		}
	}
}
