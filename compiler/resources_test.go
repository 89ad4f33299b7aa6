package compiler

import "testing"

// TestRecordsShared: the resource pass gives identical records one id, so
// a probe's attach points share its records, and so do calls whose records
// have the same layout; different layouts keep their own.
func TestRecordsShared(t *testing.T) {
	for _, tc := range []struct {
		src           string
		progs, events int
	}{
		{`t:syscalls:sys_enter_getpid, t:syscalls:sys_enter_getppid, t:syscalls:sys_enter_gettid { printf("x %d\n", pid); }`, 3, 1},
		{`BEGIN { printf("x %d\n", 1); printf("x %d\n", 2); printf("y %d\n", 3); }`, 1, 2},
		{`BEGIN { $a = ("hi", 1); print($a); print(("by", 3)); print((1, 2)); }`, 1, 2},
		{`BEGIN { errorf("e"); errorf("e"); }`, 1, 2}, // by location: they print where they are
		{`BEGIN { unroll(3) { printf("u\n"); } }`, 1, 1},
	} {
		obj, diags := compile(t, tc.src)
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", tc.src, diags.Format())
		}
		if len(obj.Programs) != tc.progs || len(obj.Printfs) != tc.events {
			t.Errorf("%s: %d programs, %d records; want %d, %d", tc.src, len(obj.Programs), len(obj.Printfs), tc.progs, tc.events)
		}
	}
}
