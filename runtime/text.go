package runtime

import (
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// The text renderer: values and maps as bpftrace prints them.

// textValue renders v as print(), map values and printf's %s show it.
func textValue(v Value) string {
	var b strings.Builder
	writeText(&b, v)
	return b.String()
}

func writeText(b *strings.Builder, v Value) {
	switch v := v.(type) {
	case Uint:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case Int:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case Str:
		b.WriteString(string(v))
	case Named:
		b.WriteString(v.Text)
	case Tuple:
		b.WriteByte('(')
		writeTextList(b, v, ", ")
		b.WriteByte(')')
	case Record:
		b.WriteString("{ ")
		for i, name := range v.Names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("." + name + " = ")
			writeText(b, v.Vals[i])
		}
		b.WriteString(" }")
	case Array:
		b.WriteByte('[')
		writeTextList(b, v, ",")
		b.WriteByte(']')
	case Hist:
		writeHist(b, v)
	case Series:
		writeTseries(b, v.Signed, v.Rows)
	}
}

func writeTextList(b *strings.Builder, vs []Value, sep string) {
	for i, e := range vs {
		if i > 0 {
			b.WriteString(sep)
		}
		writeText(b, e)
	}
}

// textKey renders a map key: a tuple's parts without parentheses, and
// stacks indented by 4, not 8 as in printf.
func textKey(v Value) string {
	s := strings.ReplaceAll(textValue(v), "\n        ", "\n    ")
	if _, ok := v.(Tuple); ok {
		return s[1 : len(s)-1]
	}
	return s
}

// printMap writes a map in bpftrace's text format.
func (dec *decoder) printMap(w io.Writer, m *compiler.Map, bm *ebpf.Map) error {
	return dec.printMapZero(w, m, bm, 0, 0, false)
}

// printMapZero prints a map as print(@m, top, div) does (see readDump).
func (dec *decoder) printMapZero(w io.Writer, m *compiler.Map, bm *ebpf.Map, top int, div int64, zero bool) error {
	d, err := dec.readDump(m, bm, top, div, zero)
	if err != nil {
		return err
	}
	var b strings.Builder
	writeMapText(&b, d)
	_, err = io.WriteString(w, b.String())
	return err
}

// writeMapText writes a map as bpftrace does: "@m[k]: v" a line, or for
// histograms and time series "@m[k]:", the chart and a blank line.
func writeMapText(b *strings.Builder, d *mapDump) {
	for _, e := range d.entries {
		h, isHist := e.val.(Hist)
		if isHist && e.key == nil && len(h.Buckets) == 0 {
			continue // a keyless histogram zero() emptied: JSON shows [], text nothing
		}
		b.WriteString(d.name)
		if e.key != nil {
			b.WriteString("[" + textKey(e.key) + "]")
		}
		_, isSeries := e.val.(Series)
		if isHist || isSeries {
			b.WriteString(":\n")
			writeText(b, e.val)
			b.WriteString("\n")
			continue
		}
		b.WriteString(": ")
		writeText(b, e.val)
		b.WriteByte('\n')
	}
}

// writeHist draws a histogram's rows: label, count and a bar of @ scaled
// to the largest count.
func writeHist(b *strings.Builder, h Hist) {
	var most uint64
	for _, k := range h.Buckets {
		most = max(most, k.Count)
	}
	for _, k := range h.Buckets {
		bar := 0
		if most > 0 {
			bar = int(k.Count * 52 / most)
		}
		fmt.Fprintf(b, "%-16s%8d |%s%s|\n", bucketLabel(h, k), k.Count, strings.Repeat("@", bar), strings.Repeat(" ", 52-bar))
	}
}

// bucketLabel names a bucket by its bounds: "(..., 0)", "[4, 8)", "[1K, 2K)",
// "[100, ...)"; a power-of-2 bucket of one value is "[1]".
func bucketLabel(h Hist, k Bucket) string {
	switch {
	case !k.HasMin:
		return fmt.Sprintf("(..., %d)", k.Max+1)
	case !k.HasMax:
		return fmt.Sprintf("[%d, ...)", k.Min)
	case !h.Log2:
		return fmt.Sprintf("[%d, %d)", k.Min, k.Max+1)
	case k.Min == k.Max:
		return "[" + strconv.FormatInt(k.Min, 10) + "]"
	}
	// The bounds as int64 may wrap (2^63); their bits still count.
	return "[" + log2Label(uint64(k.Min), h.Bits) + ", " + log2Label(uint64(k.Max)+1, h.Bits) + ")"
}

// log2Label writes a power-of-2 bucket's bound v (at least 2^bits) as
// bpftrace does: (2^bits + the sub-bucket) times a power of 2, in the
// largest unit of 2^10 (K, M, …) that power allows: [1K, 2K) for hist(n),
// [2048, 2560) and [4K, 5K) for hist(n, 2).
func log2Label(v uint64, k int) string {
	power, mult := 64-k, uint64(1)<<k // v == 0: 2^64, past the top bucket
	if v != 0 {
		power = 63 - bits.LeadingZeros64(v) - k // the bucket's width is 2^power
		mult = v >> power                       // 2^k + the sub-bucket
	}
	unit := min(power/10, 6)
	s := strconv.FormatUint(mult<<(power-10*unit), 10)
	if unit > 0 {
		s += "KMGTPE"[unit-1 : unit]
	}
	return s
}
