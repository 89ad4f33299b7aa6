package lang

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// roundTrip parses src, prints it, parses the output and checks that both
// ASTs are equal (spans aside) and that printing is idempotent.
func roundTrip(t *testing.T, name, src string) bool {
	t.Helper()
	p, d := Parse(name, []byte(src))
	if d.HasErrors() {
		t.Errorf("%s: does not parse:\n%s", name, d.Format())
		return false
	}
	out := Print(p)
	p2, d2 := Parse(name+" (printed)", []byte(out))
	if d2.HasErrors() {
		t.Errorf("%s: printed program does not parse:\n%s\n%s", name, out, d2.Format())
		return false
	}
	if a, b := Dump(p), Dump(p2); a != b {
		t.Errorf("%s: round trip changed the AST\nsource:\n%s\nprinted:\n%s\nbefore: %s\nafter:  %s", name, src, out, a, b)
		return false
	}
	if out2 := Print(p2); out2 != out {
		t.Errorf("%s: printing is not idempotent:\n%s\n---\n%s", name, out, out2)
	}
	return true
}

func TestPrintRoundTripTables(t *testing.T) {
	for _, tt := range exprTests {
		roundTrip(t, tt.src, "BEGIN { "+tt.src+" }")
		roundTrip(t, tt.src+"; x", "BEGIN { "+tt.src+"; x }")
	}
	for _, tt := range stmtTests {
		roundTrip(t, tt.src, "BEGIN { "+tt.src+" }")
	}
	for _, tt := range programTests {
		roundTrip(t, tt.src, tt.src)
	}
}

func TestPrintRoundTripTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bt")
	if len(files) == 0 {
		t.Fatal("no testdata/*.bt")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, f, string(src))
	}
}

// bpftrace's own runtime tests ($BPFSH_BPFTRACE_SUITE): every PROG line
// should parse and round-trip.
func TestBpftraceRuntimeProgs(t *testing.T) {
	dir := privtest.RequireSuite(t)
	files, _ := filepath.Glob(dir + "/*")
	var progs []string
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "PROG ") {
				progs = append(progs, filepath.Base(f)+": "+strings.TrimPrefix(line, "PROG "))
			}
		}
		fh.Close()
	}
	scripts, _ := filepath.Glob(dir + "/scripts/*.bt")
	if len(progs) == 0 {
		t.Fatalf("no PROG lines in %s", dir)
	}
	parsed := 0
	for _, prog := range progs {
		name, src, _ := strings.Cut(prog, ": ")
		if _, d := Parse(name, []byte(src)); d.HasErrors() {
			t.Logf("does not parse: %s\n%s", src, d.Format())
			continue
		}
		parsed++
		roundTrip(t, name+": "+src, src)
	}
	for _, f := range scripts {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, f, string(src))
	}
	t.Logf("%d of %d PROG lines parse (%.1f%%); %d scripts", parsed, len(progs), 100*float64(parsed)/float64(len(progs)), len(scripts))
	if parsed*100 < len(progs)*95 {
		t.Errorf("only %d of %d PROG lines parse", parsed, len(progs))
	}
}

// The canonical form, pinned.
func TestPrintCanonical(t *testing.T) {
	src := `#!/usr/bin/env bpftrace
#include <x.h>
struct A { int x; };
config = { max_strlen = 8 }
let @m = hash(10);
macro inc($x) { $x += 1; $x }
k:f,t:a:b /pid == 1 && (a / 2 > 1)/ { @[comm]=count(); if (1) {exit()} else if ($x) {} else { $y = (1, "a\n") } }
BEGIN { while ($i < 3) { $i++ } for ($kv : @m) { print($kv) } for ($i : 0..3) { } unroll (2) { } return }
END { if (x) { a } ; }
`
	want := `#!/usr/bin/env bpftrace
#include <x.h>
struct A { int x; };
config = {
	max_strlen = 8;
}
let @m = hash(10);
macro inc($x) {
	$x += 1;
	$x
}

k:f, t:a:b /(pid == 1 && a / 2 > 1)/ {
	@[comm] = count();
	if (1) {
		exit()
	} else if ($x) { } else {
		$y = (1, "a\n");
	}
}

BEGIN {
	while ($i < 3) {
		$i++
	}
	for ($kv : @m) {
		print($kv)
	}
	for ($i : 0..3) { }
	unroll (2) { }
	return;
}

END {
	if (x) {
		a
	};
}
`
	p, d := Parse("t", []byte(src))
	if d.HasErrors() {
		t.Fatal(d.Format())
	}
	if got := Print(p); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// Hand-built ASTs the parser cannot produce directly still print to source
// that parses back to the same tree.
func TestPrintHandBuilt(t *testing.T) {
	one := &IntLit{Val: 1, Text: "1"}
	neg := &Unary{Op: "-", X: one}
	exprs := []Expr{
		&Cast{Type: &TypeName{Name: "my_t"}, X: neg},
		&Cast{Type: &TypeName{Name: "int8"}, X: neg},
		&Field{X: one, Name: "0"},
		&Unary{Op: "-", X: neg},
		&Unary{Op: "&", X: &Unary{Op: "&", X: &Var{Name: "x"}}},
		&Unary{Op: "-", X: &Unary{Op: "--", X: &Var{Name: "x"}}},
		&Binary{Op: "-", X: one, Y: &Binary{Op: "-", X: one, Y: one}},
		&Binary{Op: "?:", X: &Ternary{Cond: one, Then: one, Else: one}, Y: &Binary{Op: "?:", X: one, Y: one}},
		&Ternary{Cond: &Ternary{Cond: one, Then: one, Else: one}, Then: one, Else: one},
		&Tuple{Elems: []Expr{one}},
		&Tuple{},
		&Tuple{Elems: []Expr{one}, Names: []string{"a"}},
		&Index{X: &Binary{Op: "+", X: one, Y: one}, Index: one},
		&StrLit{Val: "\x00\xff\"\\\t\r\n€"},
	}
	for _, e := range exprs {
		stmt := &ExprStmt{X: e}
		src := "BEGIN { " + StmtString(stmt) + " }"
		p, d := Parse("t", []byte(src))
		if d.HasErrors() {
			t.Errorf("%s: %s", src, d.Format())
			continue
		}
		if got, want := Dump(p.Probes[0].Body.Stmts[0]), Dump(stmt); got != want {
			t.Errorf("%s:\n got  %s\n want %s", src, got, want)
		}
	}
	// Statements whose expression starts with a block or if.
	for _, x := range []Expr{
		&Binary{Op: "+", X: &Block{Stmts: []Stmt{&ExprStmt{X: one}}, Trailing: true}, Y: one},
		&Field{X: &If{Cond: one, Then: &Block{}}, Name: "x"},
	} {
		prog := &Program{Probes: []*Probe{{Specs: []*ProbeSpec{{Raw: "BEGIN", Provider: "BEGIN"}}, Body: &Block{Stmts: []Stmt{
			&ExprStmt{X: x}, &Assign{LHS: &Var{Name: "v"}, Op: "=", RHS: x},
		}}}}}
		src := Print(prog)
		p, d := Parse("t", []byte(src))
		if d.HasErrors() {
			t.Errorf("%s: %s", src, d.Format())
			continue
		}
		if got, want := Dump(p), Dump(prog); got != want {
			t.Errorf("%s:\n got  %s\n want %s", src, got, want)
		}
	}
}

// Every position the parser produces agrees with PosAt.
func TestSpansMatchPosAt(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.bt (%v)", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, d := Parse(f, src)
		if d.HasErrors() {
			t.Errorf("%s: does not parse:\n%s", f, d.Format())
			continue
		}
		checkSpans(t, f, src, p)
	}
}

func checkSpans(t testing.TB, name string, src []byte, root Node) {
	t.Helper()
	pos := posTable(src)
	Walk(root, func(n Node) bool {
		sp := n.Sp()
		for _, p := range []Pos{sp.Start, sp.End} {
			if p.Offset < 0 || p.Offset >= len(pos) || pos[p.Offset] != p {
				t.Errorf("%s: %T at offset %d has %d:%d, PosAt says %+v", name, n, p.Offset, p.Line, p.Col, PosAt(src, p.Offset))
				return false
			}
		}
		if sp.End.Offset < sp.Start.Offset {
			t.Errorf("%s: %T span ends before it starts: %+v", name, n, sp)
		}
		return true
	})
}

// posTable gives PosAt(src, i) for every offset i up to len(src), in one
// pass (offsets inside a multibyte rune get a zero Pos).
func posTable(src []byte) []Pos {
	tab := make([]Pos, len(src)+1)
	line, col := 1, 1
	for i, r := range string(src) {
		tab[i] = Pos{Offset: i, Line: line, Col: col}
		line, col = NextPos(line, col, r)
	}
	tab[len(src)] = Pos{Offset: len(src), Line: line, Col: col}
	return tab
}
