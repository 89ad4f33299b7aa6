package runtime

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"

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
	key := make([]byte, bm.KeySize())
	var vals []uint64
	it := bm.Iterate()
	for it.Next(&key, &vals) {
		k := string(key[:len(key)-8])
		b := int(binary.LittleEndian.Uint64(key[len(key)-8:]))
		h := byKey[k]
		if h == nil {
			h = &histogram{key: []byte(k), buckets: map[int]uint64{}}
			byKey[k] = h
		}
		for _, v := range vals {
			h.buckets[b] += v
			h.total += v
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	out := make([]*histogram, 0, len(byKey))
	for _, h := range byKey {
		out = append(out, h)
	}
	return out, nil
}

// printHists renders histograms as bpftrace does: for each key "@m[k]:" (0.17
// adds a trailing space; later versions do not),
// the rows from the lowest to the highest non-empty bucket, a blank line.
func printHists(b *strings.Builder, m *compiler.Map, hs []*histogram) {
	sortHists(m, hs)
	for _, h := range hs {
		b.WriteString(m.Name)
		if m.Key != nil {
			b.WriteString("[" + formatKey(m.Key, h.key) + "]")
		}
		b.WriteString(":\n")
		oldWriteHist(b, m.Value, h.buckets)
		b.WriteString("\n")
	}
}

func oldWriteHist(b *strings.Builder, t *compiler.Type, buckets map[int]uint64) {
	lo, hi := -1, -1
	var max uint64
	for i, c := range buckets {
		if c == 0 {
			continue
		}
		if lo < 0 || i < lo {
			lo = i
		}
		if i > hi {
			hi = i
		}
		if c > max {
			max = c
		}
	}
	if lo < 0 {
		return
	}
	for i := lo; i <= hi; i++ {
		c := buckets[i]
		var label string
		if t.Kind == compiler.KHist {
			label = histLabel(i)
		} else {
			label = lhistLabel(t, i)
		}
		bar := 0
		if max > 0 {
			bar = int(c * 52 / max)
		}
		fmt.Fprintf(b, "%-16s%8d |%s%s|\n", label, c, strings.Repeat("@", bar), strings.Repeat(" ", 52-bar))
	}
}

// histLabel names power-of-2 bucket i: 0 negative, 1 zero, n+2 [2^n, 2^(n+1)).
func histLabel(i int) string {
	switch i {
	case 0:
		return "(..., 0)"
	case 1:
		return "[0]"
	case 2:
		return "[1]"
	}
	n := i - 2
	return "[" + sizeSuffix(n) + ", " + sizeSuffix(n+1) + ")"
}

// sizeSuffix renders 2^n with K, M, G, T, P, E suffixes.
func sizeSuffix(n int) string {
	suffixes := []string{"", "K", "M", "G", "T", "P", "E"}
	unit := n / 10
	if unit >= len(suffixes) {
		unit = len(suffixes) - 1
	}
	return strconv.FormatUint(uint64(1)<<(n-10*unit), 10) + suffixes[unit]
}

func lhistLabel(t *compiler.Type, i int) string {
	n := int((t.Max - t.Min) / t.Step)
	switch {
	case i == 0:
		return fmt.Sprintf("(..., %d)", t.Min)
	case i > n:
		return fmt.Sprintf("[%d, ...)", t.Max)
	}
	lo := t.Min + int64(i-1)*t.Step
	return fmt.Sprintf("[%d, %d)", lo, lo+t.Step)
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
