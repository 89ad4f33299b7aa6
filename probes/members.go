package probes

import (
	"sort"

	"github.com/cilium/ebpf/btf"
)

// Members lists the field names of kernel struct root (e.g. "task_struct"),
// or of the struct reached from it through the fields in path (pointers
// followed), sorted; members of anonymous structs and unions are inlined.
// The REPL completes curtask->... with it.
func (e *Env) Members(root string, path []string) ([]string, error) {
	spec, err := e.KernelBTF()
	if err != nil {
		return nil, err
	}
	var s *btf.Struct
	if err := spec.TypeByName(root, &s); err != nil {
		return nil, err
	}
	var t btf.Type = s
	for _, name := range path {
		m, ok := flatMember(t, name)
		if !ok {
			return nil, errorf("%s has no field %s", typeString(t), name)
		}
		t = m.Type
	}
	var names []string
	for _, m := range flatMembers(t) {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names, nil
}

// btfComposite returns the struct or union t is, or points to; nil otherwise.
func btfComposite(t btf.Type) btf.Type {
	t = btf.UnderlyingType(t)
	if p, ok := t.(*btf.Pointer); ok {
		t = btf.UnderlyingType(p.Target)
	}
	switch t.(type) {
	case *btf.Struct, *btf.Union:
		return t
	}
	return nil
}

// flatMembers lists t's members, those of anonymous structs and unions inlined.
func flatMembers(t btf.Type) []btf.Member {
	var ms []btf.Member
	switch t := btfComposite(t).(type) {
	case *btf.Struct:
		ms = t.Members
	case *btf.Union:
		ms = t.Members
	}
	var out []btf.Member
	for _, m := range ms {
		if m.Name == "" {
			out = append(out, flatMembers(m.Type)...)
			continue
		}
		out = append(out, m)
	}
	return out
}

func flatMember(t btf.Type, name string) (btf.Member, bool) {
	for _, m := range flatMembers(t) {
		if m.Name == name {
			return m, true
		}
	}
	return btf.Member{}, false
}
