package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Kind classifies a bpfsh value.
type Kind uint8

const (
	KNone   Kind = iota
	KInt         // integers of every width, held in 8-byte registers
	KString      // a fixed-size, NUL-padded buffer
	KTuple       // a fixed layout of other values
	KPtr         // an address in kernel or user memory, not directly dereferenceable
	KInet        // an IPv4 or IPv6 address: u64 family, then 16 address bytes
	KStruct      // a struct in kernel memory, held by its address (BTF)
	KStack       // kstack/ustack: {stack id, pid}
	KSym         // ksym()/usym(): {address, pid}
	KBuf         // buf(): a u64 length, then Size bytes of data (zero past the length)
	KCount       // aggregation values, only in maps
	KSum
	KMin
	KMax
	KAvg
	KStats // {count, total}: count, average and total
	KHist  // power-of-2 histogram: one count per (key, bucket)
	KLhist // linear histogram: one count per (key, bucket)
	// KTseries is a time series: per (key, bucket) a {value, meta, epoch}
	// slot, the bucket being the interval's number modulo Intervals.
	KTseries
)

// KArray is Size bytes of Elem (integer or bool) values, packed. It comes
// after the aggregations' kinds but is not one (see IsAgg).
const KArray Kind = KTseries + 1

// Type describes a value. Types are compared structurally.
type Type struct {
	Kind   Kind
	Size   int  // bytes of the value in memory (ints: their declared width)
	Signed bool // ints
	Elems  []*Type
	Names  []string // KTuple: a record's field names, one per element (nil: a plain tuple)
	User   bool     // KPtr: points into user memory
	Dur    bool     // KInt: a duration in nanoseconds (from a duration literal)
	// KPtr: the pointee's BTF type, if known; KStruct: the struct's.
	BTF btf.Type
	// KPtr from an integer-pointer cast like (int32 *)p: the pointee.
	Elem *Type
	// Format says how user space prints an integer (strerror, strftime).
	Format     IntFormat
	TimeFormat string
	// KLhist: the range and step of the buckets.
	Min, Max, Step int64
	// KHist: hist(n, Bits) splits each power of 2 into 2^Bits buckets.
	Bits int
	// Inline: a KStruct's own Size bytes (print()'s record), not its address.
	Inline bool
	Char   bool // KPtr: points to char (a C string)
	// Bool marks a KInt holding 0 or 1 that prints as false or true
	// (comparisons, !, && and ||, true/false, strcontains, has_key).
	Bool bool
	// CSize and CAlign: a KTuple's size and alignment as bpftrace lays it
	// out (a C struct of its elements at their own widths), for sizeof;
	// 0 when unknown (tuplesize.go).
	CSize, CAlign int
	// Enum is a KInt's C enum (from BTF or the script's definitions):
	// printed by the enumerator's name where one matches.
	Enum *btf.Enum
	// KStack: how frames print (StackBpftrace, StackPerf, StackRaw,
	// StackBuildID) and how many at most (0: all).
	StackMode  StackMode
	StackLimit int
	// KTseries: the interval in nanoseconds, the number of intervals kept,
	// and how values in one interval combine ("" keeps the last one; avg,
	// max, min, sum). Signed is the recorded values' signedness.
	Interval, Intervals int64
	TsAgg               string
}

// IntFormat is a special way to print an integer value.
type IntFormat uint8

const (
	FormatPlain      IntFormat = iota
	FormatStrerror             // an errno, printed as its message
	FormatTime                 // nanoseconds of CLOCK_MONOTONIC, printed with strftime
	FormatSignal               // a signal number, printed as its name (signal_name)
	FormatSyscall              // a system call number, printed as its name (syscall_name)
	FormatUsername             // a uid, printed as the user's name
	FormatCgroupPath           // a cgroup id, printed as its paths ("unified:/a/b")
)

var (
	tNone = &Type{Kind: KNone}
	// tUnknown is what an expression the checker already reported (an
	// unknown function or identifier) or could not know (a name of an
	// unresolved probe's context) has: an integer, so that the expressions
	// around it report no second error because of it.
	tUnknown = &Type{Kind: KInt, Size: 8, Signed: true}
	tInt64   = &Type{Kind: KInt, Size: 8, Signed: true}
	tUint64  = &Type{Kind: KInt, Size: 8}
	tUint32  = &Type{Kind: KInt, Size: 4}
	tDur     = &Type{Kind: KInt, Size: 8, Signed: true, Dur: true}
	tInet    = &Type{Kind: KInet, Size: 24}
	tBool    = &Type{Kind: KInt, Size: 1, Bool: true}
)

func intType(size int, signed bool) *Type { return &Type{Kind: KInt, Size: size, Signed: signed} }
func strType(size int) *Type              { return &Type{Kind: KString, Size: size} }

// IsAgg reports whether t is an aggregation (count, sum, ...).
func (t *Type) IsAgg() bool { return t.Kind >= KCount && t.Kind <= KTseries }

// InMemory reports whether values of t live in a buffer rather than a register.
func (t *Type) InMemory() bool {
	switch t.Kind {
	case KString, KTuple, KInet, KStack, KSym, KBuf, KArray:
		return true
	}
	return false
}

// IsHist reports whether t is kept as one count per (key, bucket).
func (t *Type) IsHist() bool { return t.Kind == KHist || t.Kind == KLhist }

// MemSize is the number of bytes t occupies in map keys, map values, tuples
// and event records: every scalar is widened to 8 bytes, strings are padded
// to 8, aggregations hold their per-CPU state.
func (t *Type) MemSize() int {
	switch t.Kind {
	case KStruct:
		if t.Inline {
			return align8(t.Size)
		}
		return 8
	case KInt, KPtr, KCount, KSum, KHist, KLhist:
		return 8
	case KString, KArray:
		return align8(t.Size)
	case KTuple:
		n := 0
		for _, e := range t.Elems {
			n += e.MemSize()
		}
		return n
	case KMin, KMax, KAvg, KStats:
		return 16
	case KTseries:
		return 24
	case KInet:
		return 24
	case KStack, KSym:
		return t.Size
	case KBuf:
		return 8 + align8(t.Size)
	}
	return 0
}

// ElemOffset returns the byte offset of tuple element i.
func (t *Type) ElemOffset(i int) int {
	off := 0
	for _, e := range t.Elems[:i] {
		off += e.MemSize()
	}
	return off
}

func align8(n int) int { return (n + 7) &^ 7 }

func (t *Type) String() string {
	switch t.Kind {
	case KNone:
		return "none"
	case KInt:
		if t.Bool {
			return "bool"
		}
		if t.Enum != nil {
			return enumTypeName(t.Enum)
		}
		if t.Signed {
			return fmt.Sprintf("int%d", t.Size*8)
		}
		return fmt.Sprintf("uint%d", t.Size*8)
	case KString:
		return fmt.Sprintf("string[%d]", t.Size)
	case KBuf:
		return fmt.Sprintf("buffer[%d]", t.Size)
	case KTuple:
		var parts []string
		for i, e := range t.Elems {
			if t.Names != nil {
				parts = append(parts, t.Names[i]+"="+e.String())
				continue
			}
			parts = append(parts, e.String())
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case KPtr:
		if t.Char {
			return "char *"
		}
		if t.BTF != nil {
			return btfTypeName(t.BTF) + " *"
		}
		if t.Elem != nil {
			return t.Elem.String() + " *"
		}
		return "void *"
	case KStruct:
		return btfTypeName(t.BTF)
	case KInet:
		return "inet"
	case KStack:
		name := "kstack"
		if t.User {
			name = "ustack"
		}
		return name
	case KSym:
		if t.User {
			return "usym"
		}
		return "ksym"
	case KCount:
		return "count"
	case KSum:
		return "sum"
	case KMin:
		return "min"
	case KMax:
		return "max"
	case KAvg:
		return "avg"
	case KStats:
		return "stats"
	case KHist:
		if t.Bits > 0 {
			return fmt.Sprintf("hist(%d)", t.Bits)
		}
		return "hist"
	case KLhist:
		return fmt.Sprintf("lhist(%d, %d, %d)", t.Min, t.Max, t.Step)
	case KTseries:
		if t.TsAgg != "" {
			return fmt.Sprintf("tseries(%s, %d, %q)", durString(t.Interval), t.Intervals, t.TsAgg)
		}
		return fmt.Sprintf("tseries(%s, %d)", durString(t.Interval), t.Intervals)
	case KArray:
		return fmt.Sprintf("%s[%d]", t.Elem, t.Size/t.Elem.Size)
	}
	return "?"
}

// compatible reports whether a value of type b can be stored where a was
// stored before (ints of any width mix; strings of any size mix).
func compatible(a, b *Type) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == KInt && a.Bool != b.Bool {
		return false
	}
	if a.Kind == KArray && (a.Size != b.Size || a.Elem.Size != b.Elem.Size || a.Elem.Bool != b.Elem.Bool) {
		return false
	}
	if a.Kind == KLhist && (a.Min != b.Min || a.Max != b.Max || a.Step != b.Step) {
		return false
	}
	if a.Kind == KTseries && (a.Interval != b.Interval || a.Intervals != b.Intervals || a.TsAgg != b.TsAgg) {
		return false
	}
	if a.Kind == KTuple {
		if len(a.Elems) != len(b.Elems) || (a.Names == nil) != (b.Names == nil) {
			return false
		}
		for i := range a.Elems {
			j := i
			if a.Names != nil {
				// Records match by field name, in any order.
				if j = b.ElemIndex(a.Names[i]); j < 0 {
					return false
				}
			}
			if !compatible(a.Elems[i], b.Elems[j]) {
				return false
			}
		}
	}
	return true
}

// ElemIndex is the index of a record's field (-1 when it has none).
func (t *Type) ElemIndex(name string) int {
	for i, n := range t.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// unify widens a to hold b as well (larger strings, signedness kept from a
// unless b is signed).
func unify(a, b *Type) *Type {
	switch a.Kind {
	case KString, KBuf:
		if b.Size > a.Size {
			return b
		}
	case KInt:
		if b.Signed && !a.Signed {
			return tInt64
		}
		if b.Size > a.Size {
			w := *a
			w.Size = b.Size
			return &w
		}
	case KTuple:
		out := &Type{Kind: KTuple, Names: a.Names}
		for i := range a.Elems {
			j := i
			if a.Names != nil {
				j = b.ElemIndex(a.Names[i])
			}
			out.Elems = append(out.Elems, unify(a.Elems[i], b.Elems[j]))
		}
		out.Size = out.MemSize()
		out.CSize, out.CAlign = max(a.CSize, b.CSize), max(a.CAlign, b.CAlign)
		return out
	}
	return a
}

// enumTypeName is how an enum type prints: "enum Foo", or "enum" for an
// anonymous one.
func enumTypeName(e *btf.Enum) string {
	if e.Name == "" {
		return "enum"
	}
	return "enum " + e.Name
}
