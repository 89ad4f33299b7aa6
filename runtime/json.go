package runtime

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// JSON output (-f json): one object per line, {"type": T, "data": D}, with
// bpftrace's types and shapes.

func jsonLine(w io.Writer, typ string, data any) {
	var b strings.Builder
	b.WriteString(`{"type": `)
	jsonEncode(&b, typ)
	b.WriteString(`, "data": `)
	jsonEncode(&b, data)
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}

// jsonCountLine writes the records that carry a count besides their data
// (attached_probes, lost_events), as current bpftrace does.
func jsonCountLine(w io.Writer, typ, field string, n uint64) {
	fmt.Fprintf(w, "{\"type\": %q, \"count\": %d, \"data\": {%q: %d}}\n", typ, n, field, n)
}

// jsonEncode writes v the way bpftrace's JSON output does: objects spaced
// ({"a": 1, "b": 2}), arrays not ([1,2]), integers a double cannot hold
// exactly as strings, and strings escaped only where JSON requires it.
func jsonEncode(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		jsonEncode(b, int64(v))
	case int64:
		s := strconv.FormatInt(v, 10)
		if f := float64(v); f >= 9.223372036854775807e18 || int64(f) != v {
			jsonEncode(b, s)
			return
		}
		b.WriteString(s)
	case uint64:
		s := strconv.FormatUint(v, 10)
		if f := float64(v); f >= 1.8446744073709551615e19 || uint64(f) != v {
			jsonEncode(b, s)
			return
		}
		b.WriteString(s)
	case string:
		jsonString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			jsonEncode(b, e)
		}
		b.WriteByte(']')
	case *orderedObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			jsonString(b, k)
			b.WriteString(": ")
			jsonEncode(b, v.vals[i])
		}
		b.WriteByte('}')
	default:
		jsonString(b, fmt.Sprint(v))
	}
}

func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// orderedObject is a JSON object whose keys keep their insertion order.
type orderedObject struct {
	keys []string
	vals []any
}

func (o *orderedObject) add(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

// jsonValue converts a value for JSON: numbers stay numbers.
func jsonValue(t *compiler.Type, data []byte) any {
	switch t.Kind {
	case compiler.KPtr:
		return binary.LittleEndian.Uint64(data)
	case compiler.KInt:
		u := binary.LittleEndian.Uint64(data)
		if t.Format != compiler.FormatPlain {
			return formatValue(t, data) // strerror, strftime: text
		}
		if t.Bool {
			return u&0xff != 0
		}
		if t.Format != compiler.FormatPlain {
			// strftime(), strerror(), signal_name(): strings.
			return formatValue(t, data)
		}
		if t.Signed {
			return int64(u)
		}
		return u
	case compiler.KArray:
		return arrayElems(t, data, jsonValue)
	case compiler.KTuple:
		if t.Names != nil {
			o := &orderedObject{}
			for i, e := range t.Elems {
				off := t.ElemOffset(i)
				o.add(t.Names[i], jsonValue(e, data[off:off+e.MemSize()]))
			}
			return o
		}
		out := []any{}
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			out = append(out, jsonValue(e, data[off:off+e.MemSize()]))
		}
		return out
	}
	return formatValue(t, data)
}

func jsonKey(t *compiler.Type, data []byte) string {
	if t.Kind == compiler.KTuple && t.Names != nil {
		// As bpftrace: the text form without spaces.
		return strings.ReplaceAll(formatValue(t, data), " ", "")
	}
	if t.Kind == compiler.KTuple {
		parts := make([]string, len(t.Elems))
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			parts[i] = formatValue(e, data[off:off+e.MemSize()])
			if e.Kind == compiler.KTuple {
				parts[i] = strings.ReplaceAll(parts[i], " ", "")
			}
		}
		return strings.Join(parts, ",")
	}
	return formatValue(t, data)
}

// jsonMap prints one map as a JSON record.
func jsonMap(w io.Writer, m *compiler.Map, bm *ebpf.Map, top int, div int64) error {
	if m.Value.Kind == compiler.KTseries {
		return jsonTseries(w, m, bm)
	}
	if m.Value.IsHist() {
		hs, err := readHist(bm)
		if err != nil {
			return err
		}
		sortHists(m, hs)
		if top > 0 && top < len(hs) {
			hs = hs[len(hs)-top:]
		}
		if len(hs) == 0 && !(m.Key == nil && zeroed[m]) {
			return nil // an empty map is left out (a zeroed one stays, empty)
		}
		var data any
		if m.Key == nil {
			data = []any{}
			if len(hs) > 0 {
				data = jsonBuckets(m.Value, hs[0].buckets)
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
		case e.isNum && m.Value.Kind == compiler.KInt && m.Value.Bool:
			return e.num != 0
		case e.isNum && m.Value.Format != compiler.FormatPlain:
			return jsonValue(m.Value, e.value)
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

// encodeJSON writes v as bpftrace's JSON output does (see jsonEncode).
func encodeJSON(b *strings.Builder, v Value) {
	switch v := v.(type) {
	case Uint:
		jsonEncode(b, uint64(v))
	case Int:
		jsonEncode(b, int64(v))
	case Bool:
		jsonEncode(b, bool(v))
	case Str:
		jsonString(b, string(v))
	case Named:
		encodeJSON(b, v.Num)
	case Tuple:
		encodeJSONList(b, v)
	case Array:
		encodeJSONList(b, v)
	case Record:
		b.WriteByte('{')
		for i, name := range v.Names {
			if i > 0 {
				b.WriteString(", ")
			}
			jsonString(b, name)
			b.WriteString(": ")
			encodeJSON(b, v.Vals[i])
		}
		b.WriteByte('}')
	case Hist:
		encodeJSONList(b, histJSON(v))
	case Series:
		encodeJSONList(b, seriesJSON(v))
	}
}

func encodeJSONList(b *strings.Builder, vs []Value) {
	b.WriteByte('[')
	for i, e := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		encodeJSON(b, e)
	}
	b.WriteByte(']')
}

// histJSON is a histogram's JSON: per bucket its bounds and count.
func histJSON(h Hist) []Value {
	out := make([]Value, len(h.Buckets))
	for i, k := range h.Buckets {
		var r Record
		if k.HasMin {
			r.add("min", Int(k.Min))
		}
		if k.HasMax {
			r.add("max", Int(k.Max))
		}
		r.add("count", Uint(k.Count))
		out[i] = r
	}
	return out
}

// seriesJSON is a time series' JSON: the intervals that have a value.
func seriesJSON(s Series) []Value {
	out := []Value{}
	for _, r := range s.Rows {
		if !r.ok {
			continue
		}
		var v Value = Uint(r.val)
		if s.Signed {
			v = Int(int64(r.val))
		}
		start := time.Unix(0, int64(r.start)).UTC().Format("2006-01-02 15:04:05.000000000")
		out = append(out, Record{Names: []string{"interval_start", "value"}, Vals: []Value{Str(start), v}})
	}
	return out
}

func (r *Record) add(name string, v Value) {
	r.Names = append(r.Names, name)
	r.Vals = append(r.Vals, v)
}

// jsonKeyV renders a map key as a JSON object's name: as text, but a
// tuple's parts joined by commas and tuples within it without spaces.
func jsonKeyV(v Value) string {
	switch v := v.(type) {
	case Record:
		return strings.ReplaceAll(textValue(v), " ", "") // as bpftrace
	case Tuple:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = textValue(e)
			switch e.(type) {
			case Tuple, Record:
				parts[i] = strings.ReplaceAll(parts[i], " ", "")
			}
		}
		return strings.Join(parts, ",")
	}
	return textValue(v)
}

// writeMapJSON writes a map as one record, {"type": T, "data": {"@m": D}},
// D being the value of a keyless map or an object of keys; an empty map
// is left out, as in text output.
func writeMapJSON(w io.Writer, d *mapDump) {
	if len(d.entries) == 0 {
		return
	}
	data := d.entries[0].val
	if d.entries[0].key != nil {
		var keyed Record
		for _, e := range d.entries {
			keyed.add(jsonKeyV(e.key), e.val)
		}
		data = keyed
	}
	jsonLineV(w, d.kind, Record{Names: []string{d.name}, Vals: []Value{data}})
}

func jsonLineV(w io.Writer, typ string, data Value) {
	var b strings.Builder
	b.WriteString(`{"type": `)
	jsonString(&b, typ)
	b.WriteString(`, "data": `)
	encodeJSON(&b, data)
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}
