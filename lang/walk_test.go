package lang

import (
	"fmt"
	"strings"
	"testing"
)

func TestWalkSourceOrder(t *testing.T) {
	src := `BEGIN { @x[1] = (int8)$a + f(2, "s"); }
macro m($p) { $p }
struct S { int a; }
k:f /pid/ { if (1) { return } else { $y = -3 } }`
	p, d := Parse("t", []byte(src))
	if d.HasErrors() {
		t.Fatal(d.Format())
	}
	var got []string
	Walk(p, func(n Node) bool {
		s := fmt.Sprintf("%T", n)[len("*lang."):]
		switch n := n.(type) {
		case *Probe, *Macro:
			s += "@" + fmt.Sprint(n.Sp().Start.Line)
		case *IntLit:
			s += ":" + n.Text
		}
		got = append(got, s)
		return true
	})
	want := "Program Probe@1 ProbeSpec Block Assign MapRef IntLit:1 Binary Cast TypeName Var Call IntLit:2 StrLit " +
		"Macro@2 Var Block ExprStmt Var CDecl Probe@4 ProbeSpec Ident Block If IntLit:1 Block Jump Block Assign Var Unary IntLit:3"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}

	// Returning false skips a node's children.
	var n int
	Walk(p, func(x Node) bool {
		n++
		_, isProbe := x.(*Probe)
		return !isProbe
	})
	if n != 9 { // program, 2 probes, the C definition, macro + its 4 descendants
		t.Errorf("visited %d nodes", n)
	}

	calls := Inspect[*Call](p)
	if len(calls) != 1 || calls[0].Name != "f" {
		t.Errorf("Inspect: %v", calls)
	}

	WalkPath(p, func(x Node, parents []Node) bool {
		if j, ok := x.(*Jump); ok {
			var path []string
			for _, q := range parents {
				path = append(path, fmt.Sprintf("%T", q)[len("*lang."):])
			}
			if s := strings.Join(path, "/"); s != "Program/Probe/Block/If/Block" {
				t.Errorf("path to %s: %s", j.Kind, s)
			}
		}
		return true
	})
}

// Typed nil children (an absent else, a range loop's nil map) are skipped.
func TestWalkNil(t *testing.T) {
	var nilBlock *Block
	f := &For{Var: &Var{Name: "i"}, Lo: &IntLit{Text: "0"}, Hi: &IntLit{Text: "1"}, Body: nilBlock}
	n := 0
	Walk(&If{Cond: &Ident{Name: "x"}, Then: &Block{Stmts: []Stmt{f}}, Else: nilBlock}, func(Node) bool { n++; return true })
	if n != 7 {
		t.Errorf("visited %d nodes, want 7", n)
	}
	Walk(nil, func(Node) bool { t.Error("visited nil"); return true })
}

// A program's copy with an origin carries it on every node, so it can join
// another program and still render against its own text.
func TestCopyOrigin(t *testing.T) {
	src := `#define N 2
config = { max_strlen = 64 }
let @m = hash(N);
macro twice(x) { x * 2 }
kprobe:f, t:a:b /pid == 1/ { $x = (uint8)twice(@m[comm, 1].a); if ($x) { print(($x, "s")); } else { $y = $x ? 1 : 2; } }`
	prog, d := Parse("p.bt", []byte(src))
	if d.HasErrors() {
		t.Fatal(d.Format())
	}
	origin := &Expansion{File: "p.bt", Src: prog.Src}
	cp := prog.Copy(origin)
	n := 0
	Walk(cp, func(nd Node) bool {
		if _, ok := nd.(*Program); !ok && nd.Sp().Exp != origin {
			t.Errorf("%T at %v has no origin", nd, nd.Sp().Start)
		}
		n++
		return true
	})
	if n < 30 {
		t.Errorf("walked %d nodes of the copy, want them all", n)
	}
	whole := &Program{}
	whole.Add(cp)
	whole.Add(prog.Copy(nil))
	if len(whole.Probes) != 2 || whole.Probes[1].Specs[0].Sp().Exp != nil {
		t.Errorf("Add: %d probes; a copy without origin keeps the spans as parsed", len(whole.Probes))
	}
}
