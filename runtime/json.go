package runtime

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// The JSON renderer (-f json): one object per line, {"type": T, "data": D},
// with bpftrace's types and shapes.

func jsonLine(w io.Writer, typ string, data Value) {
	var b strings.Builder
	b.WriteString(`{"type": `)
	jsonString(&b, typ)
	b.WriteString(`, "data": `)
	encodeJSON(&b, data)
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}

// jsonCountLine writes the records that carry a count besides their data
// (attached_probes, lost_events), as current bpftrace does.
func jsonCountLine(w io.Writer, typ, field string, n uint64) {
	fmt.Fprintf(w, "{\"type\": %q, \"count\": %d, \"data\": {%q: %d}}\n", typ, n, field, n)
}

// jsonMap prints one map as a JSON record: only the top entries (0: all),
// values divided by div (0: as is).
func (dec *decoder) jsonMap(w io.Writer, m *compiler.Map, bm *ebpf.Map, top int, div int64) error {
	d, err := dec.readDump(m, bm, top, div, false)
	if err != nil {
		return err
	}
	writeMapJSON(w, d)
	return nil
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

// encodeJSON writes v the way bpftrace's JSON output does: objects spaced
// ({"a": 1, "b": 2}), arrays not ([1,2]), integers a double cannot hold
// exactly as strings, and strings escaped only where JSON requires it.
func encodeJSON(b *strings.Builder, v Value) {
	switch v := v.(type) {
	case Uint:
		f := float64(v)
		jsonNumber(b, strconv.FormatUint(uint64(v), 10), f < 1.8446744073709551615e19 && Uint(f) == v)
	case Int:
		f := float64(v)
		jsonNumber(b, strconv.FormatInt(int64(v), 10), f < 9.223372036854775807e18 && Int(f) == v)
	case Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
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

// jsonNumber writes an integer's digits, as a string unless a double holds
// it exactly (JSON readers parse numbers into doubles).
func jsonNumber(b *strings.Builder, digits string, exact bool) {
	if exact {
		b.WriteString(digits)
	} else {
		jsonString(b, digits)
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

// jsonKey renders a map key as a JSON object's name: as text, but a
// tuple's parts joined by commas and tuples within it without spaces.
func jsonKey(v Value) string {
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
			keyed.add(jsonKey(e.key), e.val)
		}
		data = keyed
	}
	jsonLine(w, d.kind, Record{Names: []string{d.name}, Vals: []Value{data}})
}
