package compiler

import (
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
)

func compileTS(t *testing.T, src, dummy string) (*Object, *lang.Diags) {
	t.Helper()
	prog, diags := lang.Parse("test.bt", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse %q:\n%s", src, diags.Format())
	}
	return Compile(prog, Options{Env: testEnv, DummyTSMap: dummy})
}

// tseriesPrograms use tseries() with the dummy clock (@ts), in interval
// probes, in loops, with large keys in scratch memory.
var tseriesPrograms = []string{
	`BEGIN { @ts = (uint64)0; } i:ms:1 { $i = (uint64)0; while ($i < 100) { @a = tseries($i % 10, 100ms, 5); @ts += 10000000; $i++; } clear(@ts); exit(); }`,
	`BEGIN { @ts = (uint64)0; } i:ms:1 { $i = 0; while ($i < 10) { @a["one"] = tseries(5, 100ms, 10, "min"); @b[$i, "x"] = tseries(-$i, 1s, 3, "max"); @c = tseries($i, 100ms, 4, "avg"); @d[comm] = tseries((uint8)$i, 2s, 7, "sum"); @ts += 100000000; $i++; } exit(); }`,
	`config = { on_stack_limit = 0 } BEGIN { @ts = (uint64)5; @a[comm, str("k")] = tseries(1, 1s, 3); @b = tseries(nsecs, 100ms, 1000000, "max"); }`,
	`config = { max_strlen = 400 } BEGIN { @ts = (uint64)5; @a[str("x"), str("y")] = tseries(7, 3000000000, 2, "avg"); }`,
}

func TestTseriesVerifier(t *testing.T) {
	var objs []*Object
	for _, src := range tseriesPrograms {
		obj, diags := compileTS(t, src, "@ts")
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
			continue
		}
		objs = append(objs, obj)
	}
	// The real clock: boot time plus the TAI offset patched in at load.
	obj, diags := compileTS(t, `i:ms:10 { @a[cpu] = tseries(1, 100ms, 5, "sum"); @b = tseries(nsecs, 1s, 60); }`, "")
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	patched := false
	for _, k := range obj.Patches {
		patched = patched || k == PatchTAIOffset
	}
	if !patched {
		t.Errorf("no TAI offset patch: %v", obj.Patches)
	}
	objs = append(objs, obj)
	privtest.Require(t)
	for i, obj := range objs {
		if err := verify(obj); err != nil {
			t.Errorf("program %d:\n%+v", i, err)
		}
	}
}

func TestTseriesMapSpec(t *testing.T) {
	obj, diags := compileTS(t, `BEGIN { @a = tseries(1, 1s, 5); @b[comm] = tseries(1, 1s, 3, "avg"); @c[1] = tseries(1, 1s, 100000); }`, "")
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	want := map[string]string{
		"@a": "PerCPUHash key 16 value 24 entries 5 flags 0",
		"@b": "PerCPUHash key 24 value 24 entries 12288 flags 0",
		"@c": "PerCPUHash key 16 value 24 entries 100000 flags 1",
	}
	for _, m := range obj.Maps {
		s := m.Spec
		got := strings.Join([]string{s.Type.String(), "key", itoa(int(s.KeySize)), "value", itoa(int(s.ValueSize)),
			"entries", itoa(int(s.MaxEntries)), "flags", itoa(int(s.Flags))}, " ")
		if got != want[m.Name] {
			t.Errorf("%s: %s, want %s", m.Name, got, want[m.Name])
		}
		if !m.PerCPU {
			t.Errorf("%s: not per-CPU", m.Name)
		}
	}
}

func TestTseriesErrors(t *testing.T) {
	tests := []struct {
		src, dummy string
		want       []string
	}{
		{`BEGIN { @a = tseries(1, 0, 5); }`, "", []string{"1:25: error: tseries()'s interval must be at least 1ns (0 provided)"}},
		{`BEGIN { @a = tseries(1, 1s, 0); }`, "", []string{"1:29: error: tseries() needs at least 1 interval (0 provided)"}},
		{`BEGIN { @a = tseries(1, 1s, 1000001); }`, "", []string{"keeps at most 1000000 intervals (1000001 provided)"}},
		{`BEGIN { @a = tseries(1, 1s, 5, "median"); }`, "", []string{"1:32: error: tseries() aggregates with one of avg, max, min, sum (\"median\" provided)"}},
		{`BEGIN { $n = 5; @a = tseries(1, 1s, $n); }`, "", []string{"1:37: error: tseries()'s number of intervals must be a constant"}},
		{`BEGIN { $d = 5; @a = tseries(1, $d, 5); }`, "", []string{"1:33: error: tseries()'s interval must be a constant, like 100ms"}},
		{`BEGIN { @a = tseries("x", 1s, 5); }`, "", []string{"1:22: error: tseries() needs an integer, not string[2]"}},
		{`BEGIN { @a = tseries(1, 1s); }`, "", []string{"tseries() takes 3 to 4 arguments, got 2"}},
		{`BEGIN { @a = tseries(1, 1s, 5); $x = @a; }`, "", []string{"1:38: error: @a holds a time series, which has no value to read", "hint: print(@a) shows it"}},
		{`BEGIN { @a = tseries(1, 1s, 5); @a = tseries(1, 2s, 5); }`, "", []string{"@a holds tseries(1s, 5), cannot store tseries(2s, 5)"}},
		{`BEGIN { @a = tseries(1, 1s, 5); @a = tseries(1, 1s, 5, "sum"); }`, "", []string{"@a holds tseries(1s, 5), cannot store tseries(1s, 5, \"sum\")"}},
		{`BEGIN { @a[1] = tseries(1, 1s, 5); for ($kv : @a) { } }`, "", []string{"not supported yet: for over @a (tseries(1s, 5))"}},
		{`BEGIN { $x = tseries(1, 1s, 5); }`, "", []string{"tseries() is an aggregation: assign it to a map"}},
		{`BEGIN { @a[1] = tseries(1, 1s, 5); delete(@a, 1); }`, "", []string{"not supported yet: delete() on a time series"}},
		{`BEGIN { @a[1] = tseries(1, 1s, 5); $n = len(@a); }`, "", []string{"not supported yet: len() of a time series"}},
		{`BEGIN { @a = tseries(1, 1s, 5); }`, "@nope", []string{"1:14: error: BPFTRACE_DUMMY_TS_MAP names @nope, a map this script does not use"}},
		{`BEGIN { @s["k"] = 1; @a = tseries(1, 1s, 5); }`, "@s", []string{"BPFTRACE_DUMMY_TS_MAP names @s, which is not a scalar integer map"}},
	}
	for _, tt := range tests {
		_, diags := compileTS(t, tt.src, tt.dummy)
		if !diags.HasErrors() {
			t.Errorf("%s: compiled without errors", tt.src)
			continue
		}
		wantInOrder(t, tt.src, diags.Format(), tt.want)
	}
}

func TestDurString(t *testing.T) {
	for ns, want := range map[int64]string{1e9: "1s", 100e6: "100ms", 1500: "1500ns", 2000: "2us", 7: "7ns", 90e9: "90s"} {
		if got := durString(ns); got != want {
			t.Errorf("durString(%d) = %s, want %s", ns, got, want)
		}
	}
}
