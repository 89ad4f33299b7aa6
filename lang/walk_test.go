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
