package lang

import (
	"reflect"
	"sort"
)

// Walk visits n and every node below it in source order, depth first. When
// fn returns false the node's children are skipped. Nil children are not
// visited.
func Walk(n Node, fn func(Node) bool) {
	if isNil(n) || !fn(n) {
		return
	}
	if _, ok := n.(*Program); ok {
		for _, c := range Children(n) {
			Walk(c, fn)
		}
		return
	}
	eachChild(n, func(c Node) { Walk(c, fn) })
}

// WalkPath is Walk with the chain of ancestors of each node (outermost
// first; empty for n itself). The slice is reused: copy it to keep it.
func WalkPath(n Node, fn func(n Node, parents []Node) bool) {
	var stack []Node
	var walk func(Node)
	walk = func(n Node) {
		if isNil(n) || !fn(n, stack) {
			return
		}
		stack = append(stack, n)
		for _, c := range Children(n) {
			walk(c)
		}
		stack = stack[:len(stack)-1]
	}
	walk(n)
}

// Inspect returns every node below root (root included) of type T, in
// source order: Inspect[*Call](prog) lists all calls.
func Inspect[T Node](root Node) []T {
	var out []T
	Walk(root, func(n Node) bool {
		if t, ok := n.(T); ok {
			out = append(out, t)
		}
		return true
	})
	return out
}

// Children returns the direct children of n in source order.
func Children(n Node) []Node {
	var cs []Node
	eachChild(n, func(c Node) { cs = append(cs, c) })
	if _, ok := n.(*Program); ok {
		// The program keeps items in lists by kind; restore source order.
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].Sp().Start.Offset < cs[j].Sp().Start.Offset })
	}
	return cs
}

// eachChild calls visit with each direct child of n that is not nil, in
// source order (a Program's: by kind; Children sorts them). It allocates
// nothing, for walks over large programs.
func eachChild(n Node, visit func(Node)) {
	add := func(c Node) {
		if !isNil(c) {
			visit(c)
		}
	}
	switch n := n.(type) {
	case *Program:
		for _, x := range n.Preamble {
			add(x)
		}
		for _, x := range n.Imports {
			add(x)
		}
		for _, x := range n.Config {
			add(x)
		}
		for _, x := range n.MapDecls {
			add(x)
		}
		for _, x := range n.Macros {
			add(x)
		}
		for _, x := range n.Probes {
			add(x)
		}
	case *MapDecl:
		for _, x := range n.Args {
			add(x)
		}
	case *Macro:
		for _, x := range n.Params {
			add(x)
		}
		add(n.Body)
	case *Probe:
		for _, x := range n.Specs {
			add(x)
		}
		add(n.Pred)
		add(n.Body)
	case *Block:
		for _, x := range n.Stmts {
			add(x)
		}
	case *ExprStmt:
		add(n.X)
	case *Assign:
		add(n.LHS)
		add(n.RHS)
	case *VarDecl:
		add(n.Var)
		add(n.Type)
		add(n.Value)
	case *If:
		add(n.Cond)
		add(n.Then)
		add(n.Else)
	case *Unroll:
		add(n.Count)
		add(n.Body)
	case *While:
		add(n.Cond)
		add(n.Body)
	case *For:
		add(n.Var)
		add(n.Map)
		add(n.Lo)
		add(n.Hi)
		add(n.Body)
	case *Jump:
		add(n.Value)
	case *MapRef:
		for _, x := range n.Keys {
			add(x)
		}
	case *Call:
		for _, x := range n.Args {
			add(x)
		}
	case *Binary:
		add(n.X)
		add(n.Y)
	case *Unary:
		add(n.X)
	case *Ternary:
		add(n.Cond)
		add(n.Then)
		add(n.Else)
	case *Field:
		add(n.X)
	case *Index:
		add(n.X)
		add(n.Index)
	case *Cast:
		add(n.Type)
		add(n.X)
	case *Tuple:
		for _, x := range n.Elems {
			add(x)
		}
	case *TypeName:
		add(n.TypeOf)
	}
}

// isNil reports whether n is nil or a typed nil pointer in an interface.
func isNil(n Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
