package compiler

import (
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// Integer typedefs (size_t, uint64_t, pid_t, ...) from the script's C
// definitions or the kernel's BTF work in casts and declarations like the
// integer types they name: (uint64_t)1, let $a: typeof(size_t) = 1.

// typedefInt resolves a typedef name to its integer (or enum) type.
func (k *checker) typedefInt(tn *lang.TypeName) (*Type, bool) {
	if tn.Ptr > 0 || tn.ArrLen > 0 || tn.Name == "" || strings.ContainsAny(tn.Name, " *") {
		return nil, false
	}
	var t btf.Type
	if user, ok := k.c.cdefs.types[tn.Name]; ok {
		t = user
	} else {
		var td *btf.Typedef
		if err := k.c.opts.Env.FindType(tn.Name, &td); err == nil {
			t = td
		} else if t = k.anyIntTypedef(tn.Name); t == nil {
			return nil, false
		}
	}
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		if u.Encoding == btf.Bool {
			return tBool, true
		}
		return intType(int(u.Size), u.Encoding == btf.Signed || u.Encoding == btf.Char), true
	case *btf.Enum:
		return enumType(u), true
	}
	return nil, false
}

// anyIntTypedef finds an integer typedef among several of the same name
// (the kernel's BTF has more than one u8, all of them __u8).
func (k *checker) anyIntTypedef(name string) btf.Type {
	spec, err := k.c.opts.Env.KernelBTF()
	if err != nil {
		return nil
	}
	types, err := spec.AnyTypesByName(name)
	if err != nil {
		return nil
	}
	for _, t := range types {
		if td, ok := t.(*btf.Typedef); ok {
			if _, ok := btf.UnderlyingType(td).(*btf.Int); ok {
				return td
			}
		}
	}
	return nil
}
