package probes

import (
	"fmt"
	"testing"
)

// KernelBefore compares the running kernel's major.minor release.
func TestKernelBefore(t *testing.T) {
	e := SystemEnv()
	var major, minor int
	if n, _ := fmt.Sscanf(e.KernelRelease(), "%d.%d", &major, &minor); n != 2 {
		t.Fatalf("release %q does not parse", e.KernelRelease())
	}
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{
		{major, minor, false}, {major, minor + 1, true}, {major + 1, 0, true},
		{major, max(minor-1, 0), false}, {major - 1, 99, false}, {2, 6, false},
	} {
		if got := e.KernelBefore(tc.major, tc.minor); got != tc.want {
			t.Errorf("running %d.%d: KernelBefore(%d, %d) = %v", major, minor, tc.major, tc.minor, got)
		}
	}
}
