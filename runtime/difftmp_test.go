package runtime

import (
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
)

func diffTypes() []*compiler.Type {
	u := func(n int) *compiler.Type { return &compiler.Type{Kind: compiler.KInt, Size: n} }
	s := func(n int) *compiler.Type { return &compiler.Type{Kind: compiler.KInt, Size: n, Signed: true} }
	str := &compiler.Type{Kind: compiler.KString, Size: 12}
	enum := &compiler.Type{Kind: compiler.KInt, Size: 4, Enum: &btf.Enum{Values: []btf.EnumValue{{Name: "ZERO", Value: 0}, {Name: "ONE", Value: 1}}}}
	tup := &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{s(8), str}}
	rec := &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{u(8), str}, Names: []string{"a", "b"}}
	return []*compiler.Type{
		u(1), u(4), u(8), s(2), s(8), enum,
		{Kind: compiler.KInt, Size: 1, Bool: true},
		{Kind: compiler.KInt, Size: 8, Format: compiler.FormatStrerror},
		{Kind: compiler.KInt, Size: 8, Signed: true, Format: compiler.FormatSignal},
		{Kind: compiler.KPtr, Size: 8}, str,
		{Kind: compiler.KBuf, Size: 6}, {Kind: compiler.KInet, Size: 24},
		tup, rec,
		{Kind: compiler.KTuple, Elems: []*compiler.Type{tup, rec, enum}},
		{Kind: compiler.KTuple, Elems: []*compiler.Type{str, str}},
		{Kind: compiler.KArray, Size: 6, Elem: s(2)},
		{Kind: compiler.KArray, Size: 3, Elem: &compiler.Type{Kind: compiler.KInt, Size: 1, Bool: true}},
		{Kind: compiler.KArray, Size: 8, Elem: u(1)},
	}
}

func randBytes(r *rand.Rand, t *compiler.Type) []byte {
	b := make([]byte, t.MemSize())
	switch t.Kind {
	case compiler.KString:
		for i := range b {
			b[i] = " ab\n\"\\\x01zé"[r.Intn(10)]
		}
		if r.Intn(2) == 0 {
			b[r.Intn(len(b))] = 0
		}
		return b
	case compiler.KInet:
		binary.LittleEndian.PutUint64(b, []uint64{2, 10, 0}[r.Intn(3)])
		r.Read(b[8:])
		return b
	case compiler.KBuf:
		r.Read(b)
		binary.LittleEndian.PutUint64(b, uint64(r.Intn(10)))
		return b
	case compiler.KTuple:
		b = b[:0]
		for _, e := range t.Elems {
			b = append(b, randBytes(r, e)...)
		}
		return b
	case compiler.KInt:
		vals := []uint64{0, 1, 2, ^uint64(0), 1 << 63, 1<<53 + 1, 1 << 53, 300, r.Uint64()}
		v := vals[r.Intn(len(vals))]
		if t.Bool {
			v &= 1
		}
		if t.Size < 8 && t.Signed && r.Intn(2) == 0 {
			v = uint64(-int64(r.Intn(1000)))
		} else if t.Size < 8 {
			v &= 1<<(8*t.Size) - 1
		}
		binary.LittleEndian.PutUint64(b, v)
		return b
	}
	r.Read(b)
	return b
}

func TestDiffValues(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, typ := range diffTypes() {
		for n := 0; n < 300; n++ {
			d := randBytes(r, typ)
			v := decode(typ, d)
			if a, b := formatValue(typ, d), textValue(v); a != b {
				t.Errorf("%v text %q vs %q", typ, a, b)
			}
			var ja, jb strings.Builder
			jsonEncode(&ja, jsonValue(typ, d))
			encodeJSON(&jb, v)
			if ja.String() != jb.String() {
				t.Errorf("%v json %q vs %q", typ, ja.String(), jb.String())
			}
			if a, b := formatKey(typ, d), textKey(v); a != b {
				t.Errorf("%v key %q vs %q", typ, a, b)
			}
			if a, b := jsonKey(typ, d), jsonKeyV(v); a != b {
				t.Errorf("%v jsonkey %q vs %q", typ, a, b)
			}
		}
	}
}

func TestDiffHist(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	types := []*compiler.Type{{Kind: compiler.KHist}, {Kind: compiler.KLhist, Min: 0, Max: 100, Step: 10},
		{Kind: compiler.KLhist, Min: -50, Max: 50, Step: 1}, {Kind: compiler.KLhist, Min: 3, Max: 1000, Step: 7}}
	for _, typ := range types {
		for n := 0; n < 300; n++ {
			bk := map[int]uint64{}
			for k := r.Intn(6); k > 0; k-- {
				bk[r.Intn(66)] = uint64(r.Intn(3)) * uint64(r.Intn(1000))
			}
			var a, b strings.Builder
			oldWriteHist(&a, typ, bk)
			writeHist(&b, histValue(typ, bk))
			if a.String() != b.String() {
				t.Errorf("%v %v hist\n%s\nvs\n%s", typ, bk, a.String(), b.String())
			}
			var ja, jb strings.Builder
			jsonEncode(&ja, jsonBuckets(typ, bk))
			encodeJSON(&jb, histValue(typ, bk))
			if ja.String() != jb.String() {
				t.Errorf("%v json %q vs %q", typ, ja.String(), jb.String())
			}
		}
	}
}

// TestDiffMaps fills real maps and compares the printers.
func TestDiffMaps(t *testing.T) {
	privtest.Require(t)
	r := rand.New(rand.NewSource(3))
	u64 := &compiler.Type{Kind: compiler.KInt, Size: 8}
	s64 := &compiler.Type{Kind: compiler.KInt, Size: 8, Signed: true}
	tup := &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{s64, {Kind: compiler.KString, Size: 8}}}
	vals := []*compiler.Type{u64, s64, {Kind: compiler.KCount}, {Kind: compiler.KSum}, {Kind: compiler.KMin}, {Kind: compiler.KMax},
		{Kind: compiler.KAvg}, {Kind: compiler.KStats}, {Kind: compiler.KHist}, {Kind: compiler.KLhist, Min: 0, Max: 100, Step: 10}, tup,
		{Kind: compiler.KString, Size: 8}, {Kind: compiler.KInt, Size: 1, Bool: true}}
	keys := []*compiler.Type{nil, u64, s64, tup}
	ncpu, _ := ebpf.PossibleCPU()
	for _, vt := range vals {
		for _, kt := range keys {
			for _, nkeys := range []int{0, 1, 5} {
				m := &compiler.Map{Name: "@m", Key: kt, Value: vt}
				ksize := 8
				if kt != nil {
					ksize = kt.MemSize()
				}
				hist := vt.IsHist()
				if hist {
					ksize += 8
					if kt == nil {
						ksize = 4
					}
				}
				vsize := vt.MemSize()
				typ := ebpf.Hash
				switch {
				case vt.IsAgg():
					typ = ebpf.PerCPUHash
					m.PerCPU = true
					if vt.Kind != compiler.KCount && vt.Kind != compiler.KSum {
						vsize = 16
					}
					if hist {
						vsize = 8
						if kt == nil {
							typ = ebpf.PerCPUArray
						}
					}
				}
				spec := &ebpf.MapSpec{Type: typ, KeySize: uint32(ksize), ValueSize: uint32(vsize), MaxEntries: 70}
				bm, err := ebpf.NewMap(spec)
				if err != nil {
					t.Fatal(err)
				}
				huge := false // unsigned values of 2^63 and more: deliberately changed
				for i := 0; i < nkeys; i++ {
					k := make([]byte, ksize)
					if kt != nil {
						copy(k, randBytes(r, kt))
					}
					if hist && kt == nil {
						binary.LittleEndian.PutUint32(k, uint32(r.Intn(66)))
					} else if hist {
						binary.LittleEndian.PutUint64(k[ksize-8:], uint64(r.Intn(66)))
					} else if kt == nil && i > 0 {
						break
					}
					var err error
					if m.PerCPU {
						vs := make([][]byte, ncpu)
						for c := range vs {
							vs[c] = make([]byte, vsize)
							x := r.Intn(100) - 20
							if vt.Kind == compiler.KCount {
								x += 20
							}
							binary.LittleEndian.PutUint64(vs[c], uint64(x))
							if vsize == 16 {
								binary.LittleEndian.PutUint64(vs[c][8:], uint64(r.Intn(3)))
							}
						}
						err = bm.Put(k, vs)
					} else {
						v := randBytes(r, vt)
						huge = huge || vt.Kind == compiler.KInt && !vt.Signed && v[7]&0x80 != 0
						err = bm.Put(k, v)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				for _, top := range []int{0, 2} {
					for _, div := range []int64{0, 3} {
						for _, zero := range []bool{false, true} {
							var a, b strings.Builder
							printMapZero(&a, m, bm, top, div, zero)
							d, err := readDump(m, bm, top, div, zero)
							if err != nil {
								t.Fatal(err)
							}
							writeMapText(&b, d)
							// Deliberate: stats and bools ignore div in text too, as in JSON.
							changed := huge || div > 0 && (vt.Kind == compiler.KStats || vt.Bool)
							if a.String() != b.String() && !changed {
								t.Errorf("%v[%v] n=%d top=%d div=%d zero=%v text\n%s\nvs\n%s", vt, kt, nkeys, top, div, zero, a.String(), b.String())
							}
							if zero {
								continue
							}
							a.Reset()
							b.Reset()
							jsonMap(&a, m, bm, top, div)
							writeMapJSON(&b, d)
							if a.String() != b.String() && !huge {
								t.Errorf("%v[%v] n=%d top=%d div=%d json\n%s\nvs\n%s", vt, kt, nkeys, top, div, a.String(), b.String())
							}
						}
					}
				}
				bm.Close()
			}
		}
	}
}
