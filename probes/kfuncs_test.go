package probes

import (
	"strings"
	"testing"
)

func TestCompilerSuffix(t *testing.T) {
	for s, want := range map[string]bool{
		".isra.0": true, ".constprop.0": true, ".constprop.0.isra.0": true, ".part.3": true, ".cold": true,
		".part.0.cold": true, ".llvm.1234567": true, ".cold.1": true, "": false, ".isra": false, "_isra.0": false,
		".isra.x": false, ".other.0": false, "2": false, ".": false,
	} {
		if got := compilerSuffix(s); got != want {
			t.Errorf("compilerSuffix(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestNearestNames(t *testing.T) {
	var syms []KernelFunction
	for _, n := range []string{"vfs_read", "vfs_readv", "vfs_write", "tcp_v4_connect", "tcp_v6_connect", "udp_connect", "vfs_read", "do_sys_open"} {
		syms = append(syms, KernelFunction{Name: n})
	}
	all := func(KernelFunction) bool { return true }
	for _, tc := range []struct{ name, want string }{
		{"vfs_reed", "vfs_read vfs_readv"}, // distance 1 then 2, each once
		{"tcp_v5_connect", "tcp_v4_connect tcp_v6_connect"},
		{"vfs_rite", "vfs_write"},
		{"completely_unrelated", ""},
		{"do_sys_openat2", "do_sys_open"},
	} {
		if got := strings.Join(nearestNames(tc.name, syms, all, 3), " "); got != tc.want {
			t.Errorf("nearestNames(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := editDistance("kitten", "sitting", 10); got != 3 {
		t.Errorf("editDistance(kitten, sitting) = %d, want 3", got)
	}
	if got := editDistance("abcdefgh", "zzzzzzzz", 2); got != 3 {
		t.Errorf("editDistance past its limit = %d, want limit+1", got)
	}
}
