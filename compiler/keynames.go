package compiler

import (
	"strconv"

	"github.com/bpfsh/bpfsh/lang"
)

// keyNames names a map's key parts for the runtime's metrics labels, as
// ebpf_exporter names labels after what a key holds: a builtin by its name
// (comm, pid), a $var by the variable's name, anything else keyN by its
// position. A name used twice becomes keyN too, so labels stay distinct.
func keyNames(keys []lang.Expr) []string {
	if keys == nil {
		return nil
	}
	names := make([]string, len(keys))
	seen := map[string]bool{}
	for i, e := range keys {
		name := ""
		switch e := e.(type) {
		case *lang.Ident:
			name = e.Name
		case *lang.Var:
			name = e.Name
		case *lang.Call:
			if len(e.Args) == 0 {
				name = e.Name // comm(), pid(): the builtin's call form
			}
		}
		if !IsLabelName(name) || seen[name] {
			name = "key" + strconv.Itoa(i)
		}
		seen[name] = true
		names[i] = name
	}
	return names
}

// agreeNames merges the key names of two uses of a map: a part that two
// uses name differently (@m[pid] here, @m[tid] there) is keyN.
func agreeNames(a, b []string) []string {
	if len(a) != len(b) {
		return a // the checker reports the mismatched keys
	}
	var out []string
	for i := range a {
		if a[i] != b[i] {
			if out == nil {
				out = append([]string(nil), a...)
			}
			out[i] = "key" + strconv.Itoa(i)
		}
	}
	if out == nil {
		return a
	}
	return out
}

// IsLabelName reports whether s is a Prometheus label name that a key part
// (or a label the user adds) may take: [a-zA-Z_][a-zA-Z0-9_]*, not
// reserved (__…), and not keyN, which is a key position's.
func IsLabelName(s string) bool {
	if s == "" || len(s) >= 2 && s[:2] == "__" {
		return false
	}
	if len(s) > 3 && s[:3] == "key" {
		if _, err := strconv.Atoi(s[3:]); err == nil {
			return false
		}
	}
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
