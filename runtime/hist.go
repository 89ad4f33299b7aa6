package runtime

import (
	"encoding/binary"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// histogram is one key's buckets, merged over CPUs.
type histogram struct {
	key     []byte
	buckets map[int]uint64
	total   uint64
}

// readHist groups a histogram map's (key, bucket) entries by key.
func readHist(bm *ebpf.Map) ([]*histogram, error) {
	if bm.Type() == ebpf.PerCPUArray {
		// A keyless histogram: the index is the bucket.
		h := &histogram{buckets: map[int]uint64{}}
		var vals []uint64
		for i := uint32(0); i < bm.MaxEntries(); i++ {
			if err := bm.Lookup(i, &vals); err != nil {
				return nil, err
			}
			for _, v := range vals {
				if v != 0 {
					h.buckets[int(i)] += v
					h.total += v
				}
			}
		}
		if h.total == 0 {
			return nil, nil
		}
		return []*histogram{h}, nil
	}
	byKey := map[string]*histogram{}
	err := eachElem(bm, func(key, val []byte) {
		k := string(key[:len(key)-8])
		b := int(binary.LittleEndian.Uint64(key[len(key)-8:]))
		h := byKey[k]
		if h == nil {
			h = &histogram{key: key[:len(key)-8], buckets: map[int]uint64{}}
			byKey[k] = h
		}
		for i := 0; i+8 <= len(val); i += 8 {
			v := binary.LittleEndian.Uint64(val[i:])
			h.buckets[b] += v
			h.total += v
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]*histogram, 0, len(byKey))
	for _, h := range byKey {
		out = append(out, h)
	}
	return out, nil
}

// sortHists orders keyed histograms as bpftrace does: by their total
// count, ascending, ties by key.
func sortHists(m *compiler.Map, hs []*histogram) {
	sort.SliceStable(hs, func(i, j int) bool {
		if m.Key == nil {
			return false
		}
		if hs[i].total != hs[j].total {
			return hs[i].total < hs[j].total
		}
		return keyLess(m.Key, hs[i].key, hs[j].key)
	})
}

// bucketRange gives bucket i's inclusive bounds (open ends have none).
func bucketRange(t *compiler.Type, i int) (min, max int64, hasMin, hasMax bool) {
	if t.Kind == compiler.KHist {
		// As the compiler's finerLog2 numbers them: 0 is negative, then
		// one value each below 2^Bits, then 2^Bits buckets per power of 2.
		n := 1 << t.Bits
		switch j := i - 1; {
		case i == 0:
			return 0, -1, false, true
		case j < n:
			return int64(j), int64(j), true, true
		default:
			power := j>>t.Bits - 1
			lo := uint64(n+j&(n-1)) << power
			return int64(lo), int64(lo + 1<<power - 1), true, true
		}
	}
	n := int((t.Max - t.Min) / t.Step)
	switch {
	case i == 0:
		return 0, t.Min - 1, false, true
	case i > n:
		return t.Max, 0, true, false
	}
	lo := t.Min + int64(i-1)*t.Step
	return lo, lo + t.Step - 1, true, true
}
