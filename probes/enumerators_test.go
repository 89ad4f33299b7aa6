package probes

import (
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestEnumerator finds enumerators in a raw blob whose enums sit among
// types of every size class, so a wrong step in the scan would miss them.
func TestEnumerator(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	types := []btf.Type{
		&btf.Struct{Name: "s", Size: 8, Members: []btf.Member{{Name: "a", Type: i32}, {Name: "b", Type: i32, Offset: 32}}},
		&btf.Array{Index: i32, Type: i32, Nelems: 3},
		&btf.Enum{Name: "small", Size: 4, Signed: true, Values: []btf.EnumValue{{Name: "S_ONE", Value: 1}, {Name: "S_NEG", Value: 0xffffffffffffffff}}},
		&btf.FuncProto{Return: i32, Params: []btf.FuncParam{{Name: "x", Type: i32}}},
		&btf.Enum{Name: "big", Size: 8, Values: []btf.EnumValue{{Name: "B_HUGE", Value: 1 << 40}, {Name: "B_TWO", Value: 2}}},
		&btf.Enum{Size: 4, Values: []btf.EnumValue{{Name: "ANON_SEVEN", Value: 7}}},
	}
	env := btfEnv(t, types)
	for _, c := range []struct {
		name, enum string
		value      uint64
	}{{"S_ONE", "small", 1}, {"S_NEG", "small", 0xffffffffffffffff}, {"B_HUGE", "big", 1 << 40}, {"B_TWO", "big", 2}, {"ANON_SEVEN", "", 7}} {
		en, v, ok := env.Enumerator(c.name)
		if !ok || en.Name != c.enum || v != c.value {
			t.Errorf("Enumerator(%s) = %v, %d, %v; want enum %q, %d", c.name, en, v, ok, c.enum, c.value)
		}
	}
	for _, name := range []string{"s", "int", "x", "S_", "NOPE", "small"} {
		if en, _, ok := env.Enumerator(name); ok {
			t.Errorf("Enumerator(%s) found %v; it names no enumerator", name, en)
		}
	}
}
