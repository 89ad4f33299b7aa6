package runtime

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// mapDump is a map read for printing: its entries decoded, in the order
// bpftrace prints them. Both renderers take it (writeMapText, writeMapJSON).
type mapDump struct {
	name    string
	kind    string // the JSON record's type: map, stats, hist or tseries
	entries []mapEntry
}

// mapEntry is one key's value; key is nil in a keyless map.
type mapEntry struct{ key, val Value }

func (d *mapDump) add(dec *decoder, m *compiler.Map, key []byte, val Value) {
	var k Value
	if m.Key != nil {
		k = dec.decode(m.Key, key)
	}
	d.entries = append(d.entries, mapEntry{k, val})
}

// readDump reads a map for printing: only the top entries (0: all; -1:
// all, in no particular order, for a reader that orders them itself),
// values divided by div (0: as is). With zero set, a keyless map that holds
// nothing shows its zero value, as print(@m) does in current bpftrace (the
// maps printed at exit leave empty ones out).
func (dec *decoder) readDump(m *compiler.Map, bm *ebpf.Map, top int, div int64, zero bool) (*mapDump, error) {
	d := &mapDump{name: m.Name, kind: "map"}
	switch {
	case m.Value.Kind == compiler.KTseries:
		d.kind = "tseries"
		ss, err := readTseries(m, bm)
		if err != nil {
			return nil, err
		}
		for i, rows := range tseriesRows(m.Value, ss) {
			d.add(dec, m, ss[i].key, Series{Signed: m.Value.Signed, Rows: rows})
		}
	case m.Value.IsHist():
		d.kind = "hist"
		hs, err := readHist(bm)
		if err != nil {
			return nil, fmt.Errorf("read map %s: %w", m.Name, err)
		}
		if top >= 0 {
			sortHists(m, hs)
		}
		if top > 0 && top < len(hs) {
			hs = hs[len(hs)-top:]
		}
		if len(hs) == 0 && m.Key == nil && dec.zeroed.has(m) {
			d.add(dec, m, nil, Hist{Log2: m.Value.Kind == compiler.KHist, Bits: m.Value.Bits})
		}
		for _, h := range hs {
			d.add(dec, m, h.key, histValue(m.Value, h.buckets))
		}
	default:
		if m.Value.Kind == compiler.KAvg || m.Value.Kind == compiler.KStats {
			d.kind = "stats"
		}
		es, err := dec.readMap(m, bm)
		if err != nil {
			return nil, err
		}
		if zero && len(es) == 0 && m.Key == nil {
			es = []entry{{value: make([]byte, max(m.Value.MemSize(), 8)), isNum: m.Value.Kind != compiler.KTuple && m.Value.Kind != compiler.KString}}
		}
		if top >= 0 {
			sortEntries(m, es)
		}
		if top > 0 && top < len(es) {
			es = es[len(es)-top:]
		}
		d.entries = make([]mapEntry, 0, len(es))
		for _, e := range es {
			divide(m.Value, &e, div)
			d.add(dec, m, e.key, dec.mapValue(m.Value, e))
		}
	}
	return d, nil
}

// histValue lays out a histogram's buckets from the lowest to the highest
// non-empty one.
func histValue(t *compiler.Type, buckets map[int]uint64) Hist {
	h := Hist{Log2: t.Kind == compiler.KHist, Bits: t.Bits}
	lo, hi := -1, -1
	for i, c := range buckets {
		if c == 0 {
			continue
		}
		if lo < 0 || i < lo {
			lo = i
		}
		hi = max(hi, i)
	}
	for i := lo; i <= hi && lo >= 0; i++ {
		min, max, hasMin, hasMax := bucketRange(t, i)
		h.Buckets = append(h.Buckets, Bucket{Min: min, Max: max, HasMin: hasMin, HasMax: hasMax, Count: buckets[i]})
	}
	return h
}

// statsFields name a stats() value's parts.
var statsFields = []string{"count", "average", "total"}

// mapValue is an entry's value: aggregations from their merged numbers,
// other values from their bytes.
func (dec *decoder) mapValue(t *compiler.Type, e entry) Value {
	switch t.Kind {
	case compiler.KStats:
		return Record{Names: statsFields, Vals: []Value{Int(e.count), Int(e.num), Int(e.total)}}
	case compiler.KCount:
		return Uint(e.num)
	case compiler.KSum, compiler.KMin, compiler.KMax, compiler.KAvg:
		return Int(e.num)
	}
	return dec.decode(t, e.value)
}

// divide applies print()'s divisor to a plain number. Like bpftrace it
// leaves stats() alone; bools and formatted integers (strerror, …) too.
func divide(t *compiler.Type, e *entry, div int64) {
	if div <= 0 || !e.isNum || t.Kind == compiler.KStats || t.Bool || t.Format != compiler.FormatPlain {
		return
	}
	if t.Kind == compiler.KInt && !t.Signed {
		// From the bytes: num is capped at MaxInt64 for sorting.
		e.num = int64(binary.LittleEndian.Uint64(e.value) / uint64(div))
	} else {
		e.num /= div
	}
	binary.LittleEndian.PutUint64(e.value, uint64(e.num))
}
