package compiler

import (
	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/lang"
)

// Map declarations: `let @a = lruhash(100);` at the top of a script picks
// a map's BPF type and its maximum number of keys; the key and value types
// still come from how the script uses the map. Aggregations (count(),
// sum(), ...) need a per-CPU kind, other values a plain one, as in bpftrace.

// mapKinds are the kinds a declaration may name.
var mapKinds = map[string]struct {
	typ    ebpf.MapType
	perCPU bool
}{
	"hash":          {ebpf.Hash, false},
	"lruhash":       {ebpf.LRUHash, false},
	"percpuhash":    {ebpf.PerCPUHash, true},
	"percpulruhash": {ebpf.LRUCPUHash, true},
}

// mapDecl is a checked declaration.
type mapDecl struct {
	decl *lang.MapDecl
	kind string
	max  int
}

// mapDecls checks the declarations.
func (c *compiler) mapDecls(prog *lang.Program, diags *lang.Diags) {
	c.decls = map[string]*mapDecl{}
	for _, d := range prog.MapDecls {
		name := "@" + d.Name
		if prev, dup := c.decls[d.Name]; dup {
			diags.Errorf(d.Span, "%s is declared twice", name).Hint("first declared at line %d", prev.decl.Span.Start.Line)
			continue
		}
		if _, ok := mapKinds[d.Kind]; !ok {
			diags.Errorf(d.Span, "unknown map kind %q", d.Kind).Hint("known: hash, lruhash, percpuhash, percpulruhash")
			continue
		}
		if len(d.Args) != 1 {
			diags.Errorf(d.Span, "%s() takes one argument, the maximum number of keys: let %s = %s(1024);", d.Kind, name, d.Kind)
			continue
		}
		n, ok := c.constInt(d.Args[0])
		if !ok || n < 1 || n > 1<<24 {
			diags.Errorf(d.Args[0].Sp(), "a map's maximum number of keys must be a constant from 1 to %d", 1<<24)
			continue
		}
		c.decls[d.Name] = &mapDecl{decl: d, kind: d.Kind, max: int(n)}
	}
}

// checkMapDecls reports declared maps the script never uses and
// declarations whose kind does not fit the values stored.
func (c *compiler) checkMapDecls(maps map[string]*mapInfo, diags *lang.Diags) {
	for _, d := range c.prog.MapDecls {
		md := c.decls[d.Name]
		if md == nil {
			continue
		}
		mi := maps[d.Name]
		if mi == nil {
			diags.Warnf(d.Span, "unused map: @%s is declared but never used", d.Name)
			continue
		}
		if agg := mi.val.IsAgg(); agg != mapKinds[md.kind].perCPU {
			want := "hash or lruhash"
			if agg {
				want = "percpuhash or percpulruhash"
			}
			diags.Errorf(mi.first, "@%s is declared as %s, but holds %s values, which need a %s map", d.Name, md.kind, mi.val, want).
				Hint("declared at line %d", d.Span.Start.Line)
		}
	}
}

// declaredSpec applies a declaration to a map's spec.
func (c *compiler) declaredSpec(name string, mi *mapInfo, spec *ebpf.MapSpec) {
	md := c.decls[name]
	if md == nil || mi.key == nil {
		// Keyless maps hold one value whatever their kind.
		return
	}
	kind := mapKinds[md.kind]
	spec.Type = kind.typ
	spec.MaxEntries = uint32(md.max)
	if mi.val.IsHist() {
		spec.MaxEntries = uint32(md.max) * 16 // one entry per (key, bucket)
	}
	if mi.val.Kind == KTseries {
		spec.MaxEntries = tseriesEntries(md.max, mi.val.Intervals)
	}
	if spec.Type == ebpf.LRUHash || spec.Type == ebpf.LRUCPUHash {
		spec.Flags = 0 // LRU maps are always preallocated
	}
}
