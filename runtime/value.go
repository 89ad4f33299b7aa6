package runtime

import (
	"encoding/binary"
	"strconv"
	"sync"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// The value tree: what decoding an event's or a map's bytes produces,
// once, for either renderer (text.go: bpftrace's text; json.go: its
// -f json). Where the two formats show one value differently, the node
// holds what both need (a Named enumerator keeps its number for JSON), so
// the renderers never look at bytes or types.

// Value is a node of the tree.
type Value interface{ isValue() }

type (
	// Uint and Int are integers; JSON keeps them numbers.
	Uint uint64
	Int  int64
	Bool bool
	// Str is text in both formats (strings, stacks, symbols, addresses).
	Str string
	// Named is a number that text shows by a name (an enumerator, a
	// pointer in hex) and JSON as the number.
	Named struct {
		Text string
		Num  Value
	}
	// Tuple is "(a, b)" in text, [a,b] in JSON.
	Tuple []Value
	// Record has named fields: "{ .a = 1 }" in text, {"a": 1} in JSON.
	Record struct {
		Names []string
		Vals  []Value
	}
	// Array is "[1,2]" in both.
	Array []Value
	// Hist is a histogram's buckets from its lowest to its highest
	// non-empty one (empty ones between included).
	Hist struct {
		Log2    bool // hist(): power-of-2 labels; lhist(): linear
		Bits    int  // hist(n, Bits): 2^Bits buckets per power of 2
		Buckets []Bucket
	}
	// Series is one key's time series (tseries()).
	Series struct {
		Signed bool
		Rows   []tsRow
	}
)

// Bucket is one histogram bucket: its inclusive bounds (an open end has
// none) and its count.
type Bucket struct {
	Min, Max       int64
	HasMin, HasMax bool
	Count          uint64
}

func (Uint) isValue()   {}
func (Int) isValue()    {}
func (Bool) isValue()   {}
func (Str) isValue()    {}
func (Named) isValue()  {}
func (Tuple) isValue()  {}
func (Record) isValue() {}
func (Array) isValue()  {}
func (Hist) isValue()   {}
func (Series) isValue() {}

// A decoder turns one run's bytes into values. Besides the bytes it reads
// the machine (kallsyms, processes' mappings and cgroup mounts, through the
// run's Env), the run's stack map, and what the run's zero() calls did. A
// Live's readers and its scrapes share the Live's; a scrape reads it from
// another goroutine.
type decoder struct {
	syms        *symbolizer
	zeroed      zeroedSet
	usernames   sync.Map // uid → name
	cgroupPaths sync.Map // "id/filter" → cgroup_path()'s text
}

// newDecoder is a decoder for a run on env (nil: addresses and ids print as
// numbers).
func newDecoder(env *probes.Env) *decoder {
	return &decoder{
		syms:   &symbolizer{env: env, files: map[string]*elfSyms{}},
		zeroed: zeroedSet{m: map[*compiler.Map]bool{}},
	}
}

// decode turns the bytes of a value of type t into a tree.
func (d *decoder) decode(t *compiler.Type, data []byte) Value {
	switch t.Kind {
	case compiler.KString:
		return Str(cString(data))
	case compiler.KBuf:
		return Str(rawBuf(bufBytes(t, data)))
	case compiler.KTuple:
		vals := make([]Value, len(t.Elems))
		for i, e := range t.Elems {
			off := t.ElemOffset(i)
			vals[i] = d.decode(e, data[off:off+e.MemSize()])
		}
		if t.Names != nil {
			return Record{Names: t.Names, Vals: vals}
		}
		return Tuple(vals)
	case compiler.KArray:
		return Array(arrayElems(t, data, d.decode))
	case compiler.KInet:
		return Str(formatInet(data))
	case compiler.KStack:
		return Str(d.syms.formatStack(t, data, 8))
	case compiler.KSym:
		return Str(d.syms.formatSym(t, data))
	case compiler.KPtr:
		u := binary.LittleEndian.Uint64(data)
		return Named{Text: "0x" + strconv.FormatUint(u, 16), Num: Uint(u)}
	case compiler.KInt:
		return d.decodeInt(t, binary.LittleEndian.Uint64(data))
	case compiler.KStruct:
		if t.BTF != nil {
			return decodeBTF(t.BTF, data)
		}
	}
	return Str(strconv.FormatUint(binary.LittleEndian.Uint64(data), 10))
}

// syscallName names system call nr of this architecture; a number it
// does not know prints as the number.
func syscallName(nr int64) string {
	for _, names := range [][]string{syscallNames, genericSyscallNames} {
		if nr >= 0 && nr < int64(len(names)) && names[nr] != "" {
			return names[nr]
		}
	}
	return strconv.FormatInt(nr, 10)
}

// decodeInt is an integer's node: a bool, an enumerator, the text of a
// special format (strerror, strftime, …: text in JSON too), or a number.
func (d *decoder) decodeInt(t *compiler.Type, u uint64) Value {
	if t.Bool {
		return Bool(u != 0)
	}
	var num Value = Uint(u)
	if t.Signed {
		num = Int(int64(u))
	}
	if name, ok := enumName(t, u); ok {
		return Named{Text: name, Num: num}
	}
	switch t.Format {
	case compiler.FormatStrerror:
		return Str(strerror(int64(u)))
	case compiler.FormatTime:
		return Str(strftime(t.TimeFormat, monoToWall(u)))
	case compiler.FormatUsername:
		return Str(d.username(u))
	case compiler.FormatCgroupPath:
		return Str(d.cgroupPath(u, t.TimeFormat))
	case compiler.FormatSignal:
		return Str(signalName(int64(u)))
	case compiler.FormatSyscall:
		return Str(syscallName(int64(u)))
	}
	return num
}
