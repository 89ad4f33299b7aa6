package compiler

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
)

// TestCDefLayout checks struct and union layouts against what a C compiler
// gives (sizes and member offsets in bits).
func TestCDefLayout(t *testing.T) {
	tests := []struct {
		src     string
		name    string
		size    int
		offsets string // "name@bits[:width]" for each member
	}{
		{`struct a { int x; char y; int z; }`, "struct a", 12, "x@0 y@32 z@64"},
		{`struct a { int x; char y; int z; } __attribute__((packed))`, "struct a", 9, "x@0 y@32 z@40"},
		{`struct a { char c; long l; short s; };`, "struct a", 24, "c@0 l@64 s@128"},
		{`struct a { unsigned long long x0:1; unsigned long long x1:1; unsigned long long x2:2; }`, "struct a", 8, "x0@0:1 x1@1:1 x2@2:2"},
		{`struct a { char c; int b:30; int d:4; }`, "struct a", 12, "c@0 b@32:30 d@64:4"},
		{`struct a { unsigned char p[3]; u16 n[2][2]; }`, "struct a", 12, "p@0 n@32"},
		{`union u { char c; long l; int a[3]; }`, "union u", 16, "c@0 l@0 a@0"},
		{`struct a { struct a *next; unsigned int v; }`, "struct a", 16, "next@0 v@64"},
		{`struct a { int x, *p, y; }`, "struct a", 24, "x@0 p@64 y@128"},
	}
	for _, tt := range tests {
		ty := defineC(t, tt.src).types[tt.name]
		if ty == nil {
			t.Errorf("%s: %s not defined", tt.src, tt.name)
			continue
		}
		size, _ := btf.Sizeof(ty)
		if size != tt.size {
			t.Errorf("%s: sizeof %s = %d, want %d", tt.src, tt.name, size, tt.size)
		}
		var members []btf.Member
		switch u := ty.(type) {
		case *btf.Struct:
			members = u.Members
		case *btf.Union:
			members = u.Members
		}
		var got []string
		for _, m := range members {
			s := m.Name + "@" + itoa(int(m.Offset))
			if m.BitfieldSize > 0 {
				s += ":" + itoa(int(m.BitfieldSize))
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != tt.offsets {
			t.Errorf("%s: members %s, want %s", tt.src, g, tt.offsets)
		}
	}
}

// defineC reads src's C definitions.
func defineC(t *testing.T, src string) *cdefs {
	t.Helper()
	prog, diags := lang.Parse("test.bt", []byte(src+" BEGIN { exit(); }"))
	if diags.HasErrors() {
		t.Fatalf("parse %q:\n%s", src, diags.Format())
	}
	c := &compiler{prog: prog, opts: Options{Env: testEnv}, cdefs: newCdefs()}
	for _, d := range prog.Preamble {
		c.cdecl(d, diags)
	}
	if diags.HasErrors() {
		t.Fatalf("%s:\n%s", src, diags.Format())
	}
	return c.cdefs
}

func TestEnumDefinitions(t *testing.T) {
	got := defineC(t, `enum E { A = 5, B, C = B << 2 | 1, D = -(1 + 1), F, }; enum { X = 0x10, Y = 010 }`)
	want := map[string]int64{"A": 5, "B": 6, "C": 25, "D": -2, "F": -1, "X": 16, "Y": 8}
	for name, v := range want {
		if ev, ok := got.values[name]; !ok || int64(ev.val) != v {
			t.Errorf("%s = %d (%v), want %d", name, int64(ev.val), ok, v)
		}
	}
	if got.values["A"].enum != got.enums["E"] || got.values["X"].enum.Name != "" {
		t.Errorf("enumerators are not tied to their enums")
	}
}

func TestCDefErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`enum E { A, A } BEGIN { }`, "test.bt:1:13: error: enumerator A is defined twice"},
		{`enum E { A = } BEGIN { }`, "test.bt:1:14: error: C definition: expected a constant, found \"}\""},
		{`enum E { A } enum E { B } BEGIN { }`, "test.bt:1:19: error: enum E is defined twice"},
		{`struct s { int x int y; } BEGIN { }`, "test.bt:1:18: error: C definition: expected ';', found \"int\""},
		{`struct s { nosuch_t x; } BEGIN { }`, "test.bt:1:12: error: C definition: unknown type \"nosuch_t\""},
		{`struct s { short char x; } BEGIN { }`, "test.bt:1:12: error: C definition: unknown type \"short char\""},
		{"#define F(x) x\nBEGIN { }", "test.bt:1:1: error: not supported yet: #define with parameters"},
		{"#ifndef BPFTRACE_HAVE_BTF\n#error no\n#endif\n#error yes // why\nBEGIN { }", "test.bt:4:1: error: #error yes\n"},
		{"#if 1\n#line 3\n#endif\nBEGIN { }", "test.bt:2:1: error: not supported yet: the preprocessor directive #line"},
		{"#if X\nBEGIN { }", "test.bt:1:1: error: unterminated #if: the preamble ends before its #endif"},
		{"#endif\nBEGIN { }", "test.bt:1:1: error: #endif without #if"},
		{`BEGIN { print((enum nosuch)1); }`, "test.bt:1:16: error: unknown type enum nosuch"},
	}
	wantErrors(t, tests)
}

// Programs using bools, enums, C definitions and indexing load into the
// real verifier.
var typedPrograms = []string{
	`enum Foo { ONE = 1, TWO } struct p { int a; int b; } BEGIN { @e[ONE] = TWO; $e = (enum Foo)1; printf("%s %d", $e, $e); $q = (struct p *)curtask; @b = $q->b > 0; }`,
	`BEGIN { $s = "hello"; $n = "ll"; $i = 3; print((strcontains($s, $n), strcontains(comm, "bpf"), $s[$i], $s[1], (bool)$i, !$i, 1 < 2 && true)); }`,
	`t:syscalls:sys_enter_openat { @[str(args.filename)] = strcontains(str(args.filename), str(args.filename, 8)); }`,
	`BEGIN { $a = (int16[4])(uint64)nsecs; $i = 2; @[$a] = (uint8[])"ab"; print(($a[$i], $a[1], (bool[2])(uint16)1)); }`,
	`let @h = lruhash(10); let @c = percpulruhash(5); BEGIN { @h[1] = 2; @c[comm] = count(); printf("%d %d %d", len(@h), len(@c), strlen(comm)); }`,
}

func TestTypedProgramsVerify(t *testing.T) {
	eachCompiled(t, typedPrograms, func(src string, obj *Object) {
		if !privtest.Enabled() {
			return
		}
		if err := verify(obj); err != nil {
			t.Errorf("%s:\n%+v", src, err)
		}
	})
}
