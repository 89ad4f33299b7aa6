package runtime

import (
	"testing"
	"time"
)

// Times converted apart stay exactly as far apart (strftime's %f).
func TestMonoToWallKeepsDistances(t *testing.T) {
	a := monoToWall(1000)
	time.Sleep(time.Millisecond)
	if d := monoToWall(1000 + 123000).Sub(a); d != 123*time.Microsecond {
		t.Errorf("123µs apart became %v", d)
	}
	if d := time.Since(monoToWall(monotonicNS())); d < -time.Second || d > time.Second {
		t.Errorf("now converts to %v ago", d)
	}
}
