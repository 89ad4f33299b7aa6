package runtime

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/compiler"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/render")

// golden compares got with testdata/render/name (or, with -update, writes it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "render", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

var (
	tHist  = &compiler.Type{Kind: compiler.KHist}
	tLhist = &compiler.Type{Kind: compiler.KLhist, Min: 0, Max: 100, Step: 10}
)

// mapDumps are one map of each shape the printers know, by golden file name.
func mapDumps() map[string]*mapDump {
	stats := func(c, avg, total int64) Value {
		return Record{statsFields, []Value{Int(c), Int(avg), Int(total)}}
	}
	return map[string]*mapDump{
		"scalar": {name: "@x", kind: "map", entries: []mapEntry{{nil, Int(-3)}}},
		"keyed": {name: "@bytes", kind: "map", entries: []mapEntry{
			{Str("sshd"), Uint(10)}, {Str("bash"), Uint(1 << 53)}, {Str("a\"b"), Uint(1<<53 + 1)}}},
		"tuple keys": {name: "@", kind: "map", entries: []mapEntry{
			{Tuple{Int(1), Str("x y")}, Tuple{Str("v"), Bool(true)}},
			{Tuple{Int(2), Tuple{Int(3), Int(4)}}, Record{[]string{"a"}, []Value{Named{"ONE", Uint(1)}}}}}},
		"stats": {name: "@s", kind: "stats", entries: []mapEntry{{Int(1), stats(2, 15, 31)}, {Int(2), stats(0, 0, 0)}}},
		"hist": {name: "@us", kind: "hist", entries: []mapEntry{{nil, histValue(tHist, map[int]uint64{
			0: 1, 1: 3, 2: 7, 3: 0, 4: 12, 12: 40, 30: 2, 64: 1, 65: 9})}}},
		"hist small": {name: "@us", kind: "hist", entries: []mapEntry{{nil, histValue(tHist, map[int]uint64{0: 1, 1: 3, 2: 7, 4: 12})}}},
		"hist keyed": {name: "@lat", kind: "hist", entries: []mapEntry{
			{Str("read"), histValue(tLhist, map[int]uint64{0: 2, 3: 5, 11: 1})},
			{Str("write"), histValue(tLhist, map[int]uint64{5: 100})}}},
		"hist zeroed": {name: "@h", kind: "hist", entries: []mapEntry{{nil, Hist{Log2: true}}}},
		// hist(n, 2): singletons below 4, then 4 buckets per power of 2;
		// bpftrace's labels switch to K only where a bucket is 1K wide.
		"hist bits": {name: "@b", kind: "hist", entries: []mapEntry{{nil, histValue(&compiler.Type{Kind: compiler.KHist, Bits: 2},
			map[int]uint64{0: 1, 1: 2, 4: 3, 5: 4, 9: 5, 10: 6, 13: 1, 40: 7, 41: 8, 44: 9})}}},
		"series": {name: "@ts", kind: "tseries", entries: []mapEntry{{Str("k"), Series{Signed: true, Rows: []tsRow{
			{start: 1e9, val: uint64(1<<64 - 2), ok: true}, {start: 2e9}, {start: 3e9, val: 4, ok: true}}}}}},
		"empty": {name: "@none", kind: "map"},
	}
}

// TestMapText pins the text of every map shape against golden files.
func TestMapText(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.UTC
	for name, d := range mapDumps() {
		var b strings.Builder
		writeMapText(&b, d)
		golden(t, strings.ReplaceAll(name, " ", "_")+".txt", b.String())
	}
}

// TestMapJSON renders the same maps as JSON records.
func TestMapJSON(t *testing.T) {
	want := map[string]string{
		"scalar":     `{"type": "map", "data": {"@x": -3}}`,
		"keyed":      `{"type": "map", "data": {"@bytes": {"sshd": 10, "bash": 9007199254740992, "a\"b": "9007199254740993"}}}`,
		"tuple keys": `{"type": "map", "data": {"@": {"1,x y": ["v",true], "2,(3,4)": {"a": 1}}}}`,
		"stats":      `{"type": "stats", "data": {"@s": {"1": {"count": 2, "average": 15, "total": 31}, "2": {"count": 0, "average": 0, "total": 0}}}}`,
		"hist small": `{"type": "hist", "data": {"@us": [{"max": -1, "count": 1},{"min": 0, "max": 0, "count": 3},` +
			`{"min": 1, "max": 1, "count": 7},{"min": 2, "max": 3, "count": 0},{"min": 4, "max": 7, "count": 12}]}}`,
		"hist keyed": `{"type": "hist", "data": {"@lat": {"read": [{"max": -1, "count": 2},{"min": 0, "max": 9, "count": 0},{"min": 10, "max": 19, "count": 0},` +
			`{"min": 20, "max": 29, "count": 5},{"min": 30, "max": 39, "count": 0},{"min": 40, "max": 49, "count": 0},` +
			`{"min": 50, "max": 59, "count": 0},{"min": 60, "max": 69, "count": 0},{"min": 70, "max": 79, "count": 0},` +
			`{"min": 80, "max": 89, "count": 0},{"min": 90, "max": 99, "count": 0},{"min": 100, "count": 1}], ` +
			`"write": [{"min": 40, "max": 49, "count": 100}]}}}`,
		"hist zeroed": `{"type": "hist", "data": {"@h": []}}`,
		"series":      `{"type": "tseries", "data": {"@ts": {"k": [{"interval_start": "1970-01-01 00:00:01.000000000", "value": -2},{"interval_start": "1970-01-01 00:00:03.000000000", "value": 4}]}}}`,
		"empty":       ``,
	}
	for name, d := range mapDumps() {
		if name == "hist" || name == "hist bits" {
			continue // "hist small" has their shape; the .txt files their labels
		}
		var b strings.Builder
		writeMapJSON(&b, d)
		got := strings.TrimSuffix(b.String(), "\n")
		if got != want[name] {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want[name])
		}
	}
}
