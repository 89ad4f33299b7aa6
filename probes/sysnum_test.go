package probes

import (
	"runtime"
	"testing"
)

// syscallNumber searches syscallNumbers by halves: the table must be
// sorted by name, each name once. On x86-64 a few numbers pin it to the
// kernel's, under the names the tracepoints carry.
func TestSyscallNumbersSorted(t *testing.T) {
	for i := 1; i < len(syscallNumbers); i++ {
		if a, b := syscallNumbers[i-1].name, syscallNumbers[i].name; a >= b {
			t.Errorf("syscallNumbers: %q before %q", a, b)
		}
	}
	if runtime.GOARCH != "amd64" {
		return
	}
	for name, want := range map[string]int{"_sysctl": 156, "read": 0, "newfstat": 5, "openat": 257, "writev": 20, "file_setattr": 469, "fstat": -1, "nosuch": -1} {
		nr, ok := syscallNumber(name)
		if !ok {
			nr = -1
		}
		if nr != want {
			t.Errorf("syscallNumber(%q) = %d, %v; want %d", name, nr, ok, want)
		}
	}
}
