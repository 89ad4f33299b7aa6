package runtime

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// JSON output (-f json): one object per line, {"type": T, "data": D}, with
// bpftrace's types and shapes.

func jsonLine(w io.Writer, typ string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(w, "{\"type\": %q, \"data\": %s}\n", typ, spaced(b))
}

// spaced adds bpftrace's ", " and ": " separators to compact JSON.
func spaced(b []byte) string {
	var out strings.Builder
	inStr, esc := false, false
	for _, c := range b {
		out.WriteByte(c)
		switch {
		case esc:
			esc = false
		case c == '\\' && inStr:
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ',' || c == ':'):
			out.WriteByte(' ')
		}
	}
	return out.String()
}

// orderedObject keeps keys in insertion order when marshalled.
type orderedObject struct {
	keys []string
	vals []any
}

func (o *orderedObject) add(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// jsonValue converts a value for JSON: numbers stay numbers.
func jsonValue(t *compiler.Type, data []byte) any {
	switch t.Kind {
	case compiler.KPtr:
		return binary.LittleEndian.Uint64(data)
	case compiler.KInt:
		u := binary.LittleEndian.Uint64(data)
		if t.Bool {
			return u&0xff != 0
		}
		if t.Signed {
			return int64(u)
		}
		return u
	case compiler.KTuple:
		var out []any
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			out = append(out, jsonValue(e, data[off:off+e.MemSize()]))
		}
		return out
	}
	return formatValue(t, data)
}

func jsonKey(t *compiler.Type, data []byte) string {
	if t.Kind == compiler.KTuple {
		parts := make([]string, len(t.Elems))
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			parts[i] = formatValue(e, data[off:off+e.MemSize()])
		}
		return strings.Join(parts, ",")
	}
	return formatValue(t, data)
}

// jsonMap prints one map as a JSON record.
func jsonMap(w io.Writer, m *compiler.Map, bm *ebpf.Map, top int, div int64) error {
	if m.Value.IsHist() {
		hs, err := readHist(bm)
		if err != nil {
			return err
		}
		sortHists(m, hs)
		var data any
		if m.Key == nil {
			if len(hs) > 0 {
				data = jsonBuckets(m.Value, hs[0].buckets)
			} else {
				data = []any{}
			}
		} else {
			o := &orderedObject{}
			for _, h := range hs {
				o.add(jsonKey(m.Key, h.key), jsonBuckets(m.Value, h.buckets))
			}
			data = o
		}
		outer := &orderedObject{}
		outer.add(m.Name, data)
		jsonLine(w, "hist", outer)
		return nil
	}
	es, err := readMap(m, bm)
	if err != nil {
		return err
	}
	sortEntries(m, es)
	if top > 0 && top < len(es) {
		es = es[len(es)-top:]
	}
	typ := "map"
	if m.Value.Kind == compiler.KAvg || m.Value.Kind == compiler.KStats {
		typ = "stats"
	}
	value := func(e entry) any {
		switch {
		case m.Value.Kind == compiler.KStats:
			o := &orderedObject{}
			o.add("count", e.count)
			o.add("average", e.num)
			o.add("total", e.total)
			return o
		case e.isNum:
			if div > 0 {
				return e.num / div
			}
			if m.Value.Kind == compiler.KCount || (m.Value.Kind == compiler.KInt && !m.Value.Signed) {
				return uint64(e.num)
			}
			return e.num
		}
		return jsonValue(m.Value, e.value)
	}
	if len(es) == 0 {
		return nil // an empty map is left out, as in text output
	}
	var data any
	if m.Key == nil {
		data = value(es[0])
	} else {
		o := &orderedObject{}
		for _, e := range es {
			o.add(jsonKey(m.Key, e.key), value(e))
		}
		data = o
	}
	outer := &orderedObject{}
	outer.add(m.Name, data)
	jsonLine(w, typ, outer)
	return nil
}

func jsonBuckets(t *compiler.Type, buckets map[int]uint64) []any {
	lo, hi := -1, -1
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
	}
	out := []any{}
	if lo < 0 {
		return out
	}
	for i := lo; i <= hi; i++ {
		o := &orderedObject{}
		min, max, hasMin, hasMax := bucketRange(t, i)
		if hasMin {
			o.add("min", min)
		}
		if hasMax {
			o.add("max", max)
		}
		o.add("count", buckets[i])
		out = append(out, o)
	}
	return out
}

// bucketRange gives bucket i's inclusive bounds (open ends have none).
func bucketRange(t *compiler.Type, i int) (min, max int64, hasMin, hasMax bool) {
	if t.Kind == compiler.KHist {
		switch i {
		case 0:
			return 0, -1, false, true
		case 1:
			return 0, 0, true, true
		}
		n := i - 2
		lo := int64(1) << n
		return lo, lo*2 - 1, true, true
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

func jsonQuote(s string) string { return strconv.Quote(s) }
