package runtime

import (
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/compiler"
)

// printfRecord lays out a printf event as the compiler does: the id, then
// each argument at its MemSize.
func printfRecord(t *testing.T, format string, args []*compiler.Type, data ...[]byte) (*compiler.Printf, []byte) {
	t.Helper()
	verbs, err := compiler.ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	pf := &compiler.Printf{Format: format, Verbs: verbs, Args: args}
	rec := words(0)
	for i, a := range args {
		pf.Offs = append(pf.Offs, len(rec))
		rec = append(rec, data[i]...)
		rec = append(rec, make([]byte, a.MemSize()-len(data[i]))...)
	}
	return pf, rec
}

func TestFormatPrintf(t *testing.T) {
	tBuf := &compiler.Type{Kind: compiler.KBuf, Size: 3}
	buf := cat(words(3), []byte{'a', 0, 0x7f})
	tests := []struct {
		format string
		args   []*compiler.Type
		data   [][]byte
		want   string
	}{
		{"%d %u %x\n", []*compiler.Type{tS64, tU64, tU64}, [][]byte{words(1<<32 - 1), words(1<<32 - 1), words(255)}, "-1 4294967295 ff\n"},
		{"%ld %lu", []*compiler.Type{tS64, tU64}, [][]byte{words(1<<32 - 1), words(^uint64(0))}, "4294967295 18446744073709551615"},
		{"%hhd %hd", []*compiler.Type{tS64, tS64}, [][]byte{words(255), words(65535)}, "-1 -1"},
		{"[%-5d|%05d]", []*compiler.Type{tS64, tS64}, [][]byte{words(42), words(42)}, "[42   |00042]"},
		{"%s|%8s|%-4s|", []*compiler.Type{tStr8, tStr8, tStr8}, [][]byte{cstr("ab", 8), cstr("cd", 8), cstr("e", 8)}, "ab|      cd|e   |"},
		{"%c%c %p %%", []*compiler.Type{tU64, tU64, tU64}, [][]byte{words('o'), words('k'), words(0xdead)}, "ok 0xdead %"},
		{"%s %s", []*compiler.Type{tTuple, tRecord}, [][]byte{cat(words(1), cstr("x", 8)), cat(words(2), cstr("y", 8))}, "(1, x) { .a = 2, .b = y }"},
		{"%s %d", []*compiler.Type{tEnum, tBool}, [][]byte{words(1), words(1)}, "SLEEPING 1"},
		{"%r|%rx|%rh|%s", []*compiler.Type{tBuf, tBuf, tBuf, tBuf}, [][]byte{buf, buf, buf, buf}, `a\x00\x7f|\x61\x00\x7f|61 00 7f|a\x00\x7f`},
		{"%d %d", []*compiler.Type{tS64}, [][]byte{words(7)}, "7 %d"},
	}
	for _, tt := range tests {
		pf, rec := printfRecord(t, tt.format, tt.args, tt.data...)
		if got := newDecoder(nil).formatPrintf(pf, rec); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.format, got, tt.want)
		}
	}
}

func TestFormatJoin(t *testing.T) {
	pf := &compiler.Printf{Format: ", ", ArgLen: 4, Size: 16 + 3*8}
	rec := cat(words(0, 2), cstr("ls", 8), cstr("-l", 8), cstr("zz", 8))
	if got := formatJoin(pf, rec); got != "ls, -l" {
		t.Errorf("join: %q", got)
	}
}

func TestSyscallName(t *testing.T) {
	if got := syscallName(100000); got != "100000" {
		t.Errorf("syscallName(100000) = %q, want the number", got)
	}
	if len(syscallNames) > 0 && syscallNames[0] != "read" && syscallNames[63] != "read" {
		t.Errorf("no system call named read at 0 (amd64) or 63 (arm64): %q, %q", syscallNames[0], syscallNames[63])
	}
	// Numbered alike on every architecture since Linux 5.1.
	if len(syscallNames) > 0 && syscallName(435) != "clone3" {
		t.Errorf("syscallName(435) = %q, want clone3", syscallName(435))
	}
}

func TestStrftime(t *testing.T) {
	at := time.Date(2026, time.March, 7, 0, 4, 5, 123456789, time.UTC)
	for format, want := range map[string]string{
		"%Y-%m-%d %H:%M:%S.%f": "2026-03-07 00:04:05.123456",
		"%y %e %I%p %j":        "26  7 12AM 066",
		"%a %A %b %h %B %Z %z": "Sat Saturday Mar Mar March UTC +0000",
		"%T|%D|%F|%R":          "00:04:05|03/07/26|2026-03-07|00:04",
		"%c":                   "Sat Mar  7 00:04:05 2026",
		"%s%n%t%%":             "1772841845\n\t%",
		"%Q %":                 "%Q %",
	} {
		if got := strftime(format, at); got != want {
			t.Errorf("strftime(%q) = %q, want %q", format, got, want)
		}
	}
}
