package runtime

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/compiler"
)

// words lays out 8-byte little-endian words, as values sit in records and maps.
func words(vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// cstr is s NUL-padded to n bytes.
func cstr(s string, n int) []byte { return append([]byte(s), make([]byte, n-len(s))...) }

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

var (
	tU8     = &compiler.Type{Kind: compiler.KInt, Size: 1}
	tU64    = &compiler.Type{Kind: compiler.KInt, Size: 8}
	tS16    = &compiler.Type{Kind: compiler.KInt, Size: 2, Signed: true}
	tS64    = &compiler.Type{Kind: compiler.KInt, Size: 8, Signed: true}
	tBool   = &compiler.Type{Kind: compiler.KInt, Size: 1, Bool: true}
	tStr8   = &compiler.Type{Kind: compiler.KString, Size: 8}
	tTuple  = &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{tS64, tStr8}}
	tRecord = &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{tU64, tStr8}, Names: []string{"a", "b"}}
	tEnum   = &compiler.Type{Kind: compiler.KInt, Size: 4, Enum: &btf.Enum{Values: []btf.EnumValue{{Name: "RUNNING", Value: 0}, {Name: "SLEEPING", Value: 1}}}}
)

// TestDecode renders bytes of each kind of value as text and as JSON.
func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		t    *compiler.Type
		data []byte
		text string
		json string
	}{
		{"u64", tU64, words(42), "42", "42"},
		{"u64 max", tU64, words(^uint64(0)), "18446744073709551615", `"18446744073709551615"`},
		{"u64 2^53+1", tU64, words(1<<53 + 1), "9007199254740993", `"9007199254740993"`},
		{"s64 negative", tS64, words(uint64(1<<64 - 7)), "-7", "-7"},
		{"bool", tBool, words(1), "true", "true"},
		{"bool false", tBool, words(0), "false", "false"},
		{"enumerator", tEnum, words(1), "SLEEPING", "1"},
		{"enum, no name", tEnum, words(7), "7", "7"},
		{"pointer", &compiler.Type{Kind: compiler.KPtr, Size: 8}, words(0xffff1234), "0xffff1234", "4294906420"},
		{"strerror", &compiler.Type{Kind: compiler.KInt, Size: 8, Format: compiler.FormatStrerror}, words(1), "Operation not permitted", `"Operation not permitted"`},
		{"signal", &compiler.Type{Kind: compiler.KInt, Size: 8, Signed: true, Format: compiler.FormatSignal}, words(2), "Interrupt", `"Interrupt"`},
		{"string", tStr8, cstr("ab\"c", 8), `ab"c`, `"ab\"c"`},
		{"string, control bytes", tStr8, cstr("a\tb\x01\n", 8), "a\tb\x01\n", `"a\tb\u0001\n"`},
		{"buf", &compiler.Type{Kind: compiler.KBuf, Size: 4}, cat(words(3), []byte{'h', 0, 0xff, 'x', 0, 0, 0, 0}), `h\x00\xff`, `"h\\x00\\xff"`},
		{"ipv4", &compiler.Type{Kind: compiler.KInet, Size: 24}, cat(words(2), []byte{127, 0, 0, 1}, make([]byte, 12)), "127.0.0.1", `"127.0.0.1"`},
		{"ipv6", &compiler.Type{Kind: compiler.KInet, Size: 24}, cat(words(10), make([]byte, 15), []byte{1}), "::1", `"::1"`},
		{"ipv4-mapped ipv6", &compiler.Type{Kind: compiler.KInet, Size: 24}, cat(words(10), make([]byte, 10), []byte{255, 255, 127, 0, 0, 1}), "::ffff:127.0.0.1", `"::ffff:127.0.0.1"`},
		{"tuple", tTuple, cat(words(uint64(1<<64-1)), cstr("x", 8)), "(-1, x)", `[-1,"x"]`},
		{"record", tRecord, cat(words(5), cstr("y", 8)), "{ .a = 5, .b = y }", `{"a": 5, "b": "y"}`},
		{"nested", &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{tTuple, tRecord, tBool}},
			cat(words(2), cstr("p", 8), words(3), cstr("q", 8), words(0)),
			"((2, p), { .a = 3, .b = q }, false)", `[[2,"p"],{"a": 3, "b": "q"},false]`},
		{"array s16", &compiler.Type{Kind: compiler.KArray, Size: 6, Elem: tS16}, []byte{1, 0, 0xfe, 0xff, 3, 0, 0, 0}, "[1,-2,3]", "[1,-2,3]"},
		{"array bool", &compiler.Type{Kind: compiler.KArray, Size: 2, Elem: tBool}, []byte{1, 0, 0, 0, 0, 0, 0, 0}, "[true,false]", "[true,false]"},
		{"array u8", &compiler.Type{Kind: compiler.KArray, Size: 3, Elem: tU8}, []byte{255, 0, 7, 0, 0, 0, 0, 0}, "[255,0,7]", "[255,0,7]"},
		{"no value", &compiler.Type{Kind: compiler.KNone}, words(9), "9", `"9"`},
	}
	for _, tt := range tests {
		v := newDecoder(nil).decode(tt.t, tt.data)
		if got := textValue(v); got != tt.text {
			t.Errorf("%s: text %q, want %q", tt.name, got, tt.text)
		}
		var b strings.Builder
		encodeJSON(&b, v)
		if got := b.String(); got != tt.json {
			t.Errorf("%s: JSON %s, want %s", tt.name, got, tt.json)
		}
	}
}

// TestKeys renders map keys, which differ from values in both formats.
func TestKeys(t *testing.T) {
	stack := Str("\n        f1\n        f2\n")
	tests := []struct {
		name    string
		key     Value
		text    string
		jsonKey string
	}{
		{"int", Int(-3), "-3", "-3"},
		{"string with spaces", Str("a b"), "a b", "a b"},
		{"tuple", Tuple{Int(1), Str("a b")}, "1, a b", "1,a b"},
		{"tuple in tuple", Tuple{Tuple{Int(1), Int(2)}, Record{[]string{"x"}, []Value{Str("c d")}}}, "(1, 2), { .x = c d }", "(1,2),{.x=cd}"},
		{"record", Record{[]string{"x", "y"}, []Value{Int(1), Str("p q")}}, "{ .x = 1, .y = p q }", "{.x=1,.y=pq}"},
		{"stack", stack, "\n    f1\n    f2\n", string(stack)},
		{"enumerator", Named{"RUNNING", Uint(0)}, "RUNNING", "RUNNING"},
	}
	for _, tt := range tests {
		if got := textKey(tt.key); got != tt.text {
			t.Errorf("%s: text %q, want %q", tt.name, got, tt.text)
		}
		if got := jsonKey(tt.key); got != tt.jsonKey {
			t.Errorf("%s: JSON %q, want %q", tt.name, got, tt.jsonKey)
		}
	}
}

// TestEncodeJSON pins the integer rule: what a double cannot hold exactly
// is a string.
func TestEncodeJSON(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Uint(1 << 53), "9007199254740992"},
		{Uint(1<<53 + 1), `"9007199254740993"`},
		{Int(-1 << 53), "-9007199254740992"},
		{Int(-1<<53 - 1), `"-9007199254740993"`},
		{Int(-1 << 63), "-9223372036854775808"},
		{Int(1<<63 - 1), `"9223372036854775807"`},
		{Named{"x", Int(-2)}, "-2"},
		{Tuple{}, "[]"},
		{Record{}, "{}"},
		{Str("\\\r\x1f"), `"\\\r\u001f"`},
	}
	for _, tt := range tests {
		var b strings.Builder
		encodeJSON(&b, tt.v)
		if b.String() != tt.want {
			t.Errorf("%#v: %s, want %s", tt.v, b.String(), tt.want)
		}
	}
}

// TestDecodeStruct: a struct's bytes laid out by its BTF, as print() shows
// them: an anonymous union's members in place, a signed bitfield, an array
// of ints, a pointer, a nested struct, a char array as a string.
func TestDecodeStruct(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u16 := &btf.Int{Name: "unsigned short", Size: 2}
	s16 := &btf.Int{Name: "short", Size: 2, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	inner := &btf.Struct{Name: "in", Size: 4, Members: []btf.Member{{Name: "v", Type: i32}}}
	u := &btf.Union{Size: 4, Members: []btf.Member{{Name: "a", Type: i32}, {Name: "b", Type: u16}}}
	st := &btf.Struct{Name: "s", Size: 40, Members: []btf.Member{
		{Name: "", Type: u, Offset: 0},
		{Name: "lo", Type: s16, Offset: 32, BitfieldSize: 3},
		{Name: "hi", Type: u16, Offset: 35, BitfieldSize: 5},
		{Name: "arr", Type: &btf.Array{Type: i32, Nelems: 2}, Offset: 64},
		{Name: "p", Type: &btf.Pointer{Target: i32}, Offset: 128},
		{Name: "in", Type: inner, Offset: 192},
		{Name: "name", Type: &btf.Array{Type: char, Nelems: 8}, Offset: 224},
	}}
	data := make([]byte, 40)
	binary.LittleEndian.PutUint32(data[0:], 0xfffffffe)    // a = -2, b = 65534
	binary.LittleEndian.PutUint16(data[4:], 0b10110_101)   // lo = 0b101 = -3, hi = 0b10110 = 22
	binary.LittleEndian.PutUint32(data[8:], 7)             // arr[0]
	binary.LittleEndian.PutUint32(data[12:], 0xffffffff)   // arr[1] = -1
	binary.LittleEndian.PutUint64(data[16:], 0xffff888012) // p
	binary.LittleEndian.PutUint32(data[24:], 42)           // in.v
	copy(data[28:], "comm")
	var b strings.Builder
	writeText(&b, newDecoder(nil).decode(&compiler.Type{Kind: compiler.KStruct, BTF: st, Inline: true, Size: 40}, data))
	want := "{ .a = -2, .b = 65534, .lo = -3, .hi = 22, .arr = [7,-1], .p = 0xffff888012, .in = { .v = 42 }, .name = comm }"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}
