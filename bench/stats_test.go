package main

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestRatioAndLinearity(t *testing.T) {
	b := &bench{s: newStore()}
	for _, v := range []float64{1, 2, 3} {
		b.s.add("x", "x", "ms", "bpfsh", v)
		b.s.add("x", "x", "ms", "bpftrace", 10*v)
	}
	if r, ok := b.s.ratio("x"); !ok || r != 0.1 {
		t.Errorf("ratio = %v, %v; want 0.1", r, ok)
	}
	// 10 ms fixed + 1 ms per 100 lines: perfectly linear.
	for _, n := range []int{100, 1000, 5000} {
		b.s.add("6."+itoa(n)+".wall", "", "s", "bpfsh", 0.010+float64(n)*0.00001)
	}
	if l, ok := b.linearity("bpfsh", "wall"); !ok || math.Abs(l-1) > 1e-9 {
		t.Errorf("linearity = %v, %v; want 1", l, ok)
	}
}

func itoa(n int) string {
	return map[int]string{100: "100", 1000: "1000", 5000: "5000"}[n]
}

func TestHelperLine(t *testing.T) {
	m := helperRE.FindStringSubmatch("calls=2000000 wall_ns=413901069 cpu_ns=412013847 best_wall_ns=19969445 best_cpu_ns=19916475 chunk=100000")
	if m == nil || m[1] != "2000000" || m[6] != "100000" {
		t.Fatalf("helper line not parsed: %q", m)
	}
}

func TestLostLines(t *testing.T) {
	if m := lostBpftraceRE.FindStringSubmatch("Lost 4419 events"); m == nil || m[1] != "4419" {
		t.Errorf("bpftrace loss line not parsed: %q", m)
	}
	if m := lostBpfshRE.FindStringSubmatch("WARNING: 524226 events lost (ring buffer full)"); m == nil || m[1] != "524226" {
		t.Errorf("bpfsh loss line not parsed: %q", m)
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"bpfsh", "-e", `t:x { printf("a\n"); }`, "it's"})
	want := `bpfsh -e 't:x { printf("a\n"); }' 'it'\''s'`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}
