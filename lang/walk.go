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
		each(n.Preamble, add)
		each(n.Imports, add)
		each(n.Config, add)
		each(n.MapDecls, add)
		each(n.Macros, add)
		each(n.Probes, add)
	case *MapDecl:
		each(n.Args, add)
	case *Macro:
		each(n.Params, add)
		add(n.Body)
	case *Probe:
		each(n.Specs, add)
		add(n.Pred)
		add(n.Body)
	case *Block:
		each(n.Stmts, add)
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
		each(n.Keys, add)
	case *Call:
		each(n.Args, add)
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
		each(n.Elems, add)
	case *TypeName:
		add(n.TypeOf)
	}
}

// each calls add with every node of a child list.
func each[T Node](xs []T, add func(Node)) {
	for _, x := range xs {
		add(x)
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
