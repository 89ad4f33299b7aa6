package runtime

import (
	"encoding/binary"
	"strconv"

	"github.com/cilium/ebpf/btf"
)

// A C struct or union value (print(*p), a struct in a map) is laid out by
// its BTF: a record of its members, as bpftrace prints them
// ({ .a = 1, .b = { .c = 2 } }); members of anonymous structs and unions
// appear in place; bitfields are read by their bit offset and size; char
// arrays print as strings, other arrays as arrays, pointers in hex.

// decodeBTF is the value of BTF type typ in data.
func decodeBTF(typ btf.Type, data []byte) Value {
	switch t := btf.UnderlyingType(typ).(type) {
	case *btf.Struct:
		return btfRecord(t.Members, data)
	case *btf.Union:
		return btfRecord(t.Members, data)
	case *btf.Array:
		size, err := btf.Sizeof(t.Type)
		if err != nil || size <= 0 || len(data) < size*int(t.Nelems) {
			return Array{}
		}
		if i, ok := btf.UnderlyingType(t.Type).(*btf.Int); ok && size == 1 && (i.Encoding&btf.Char != 0 || i.Name == "char") {
			return Str(cString(data[:t.Nelems]))
		}
		out := make(Array, t.Nelems)
		for i := range out {
			out[i] = decodeBTF(t.Type, data[i*size:(i+1)*size])
		}
		return out
	case *btf.Pointer:
		u := le(data, 8)
		return Named{Text: "0x" + strconv.FormatUint(u, 16), Num: Uint(u)}
	case *btf.Int:
		return btfInt(le(data, len(data)), 8*len(data), t.Encoding&btf.Signed != 0)
	case *btf.Enum:
		return btfInt(le(data, len(data)), 8*len(data), t.Signed)
	}
	return Uint(le(data, len(data)))
}

// btfRecord is a struct's or union's members, anonymous ones' in place.
func btfRecord(members []btf.Member, data []byte) Record {
	var r Record
	for _, m := range members {
		off := int(m.Offset / 8)
		size, err := btf.Sizeof(m.Type)
		if err != nil || off+size > len(data) && m.BitfieldSize == 0 {
			continue
		}
		if m.BitfieldSize > 0 {
			// The bits, from the naturally aligned word that holds them.
			word := min(8, len(data)-off)
			v := le(data[off:], word) >> (m.Offset % 8)
			v &= 1<<m.BitfieldSize - 1
			i, signed := btf.UnderlyingType(m.Type).(*btf.Int)
			r.add(m.Name, btfInt(v, int(m.BitfieldSize), signed && i.Encoding&btf.Signed != 0))
			continue
		}
		v := decodeBTF(m.Type, data[off:off+size])
		if inner, ok := v.(Record); ok && m.Name == "" {
			r.Names = append(r.Names, inner.Names...)
			r.Vals = append(r.Vals, inner.Vals...)
			continue
		}
		r.add(m.Name, v)
	}
	return r
}

// le reads an n-byte (at most 8) little-endian unsigned integer.
func le(data []byte, n int) uint64 {
	var b [8]byte
	copy(b[:], data[:min(n, 8, len(data))])
	return binary.LittleEndian.Uint64(b[:])
}

// btfInt is an integer of the given bit width, sign-extended when signed.
func btfInt(u uint64, bits int, signed bool) Value {
	if !signed {
		return Uint(u)
	}
	shift := 64 - min(bits, 64)
	return Int(int64(u<<shift) >> shift)
}
