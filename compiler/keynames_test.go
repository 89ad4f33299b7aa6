package compiler

import (
	"strings"
	"testing"
)

// Map key names become metrics labels: builtins and $vars by name, other
// expressions by position.
func TestKeyNames(t *testing.T) {
	for src, want := range map[string]string{
		`BEGIN { @m[comm, pid] = count(); }`:        "comm,pid",
		`BEGIN { $x = 1; @m[$x, 1 + 2] = sum(3); }`: "x,key1",
		`BEGIN { @m[pid, pid] = 1; }`:               "pid,key1",
		`BEGIN { @m[(pid, tid)] = 1; }`:             "key0",
		`BEGIN { @m[pid] = 1; @m[tid] = 2; }`:       "key0",
		`BEGIN { @m[cpu] = 1; @m[cpu]++; }`:         "cpu",
		`BEGIN { @m = 1; }`:                         "",
		`BEGIN { @m[str("a")] = hist(1); }`:         "key0",
	} {
		obj, diags := compile(t, src)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", src, diags.Format())
		}
		if got := strings.Join(obj.Maps[0].KeyNames, ","); got != want {
			t.Errorf("%s: key names %q, want %q", src, got, want)
		}
	}
}
