package lang

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// lexAll scans src in normal mode and renders the tokens compactly.
func lexAll(src string) (string, *lexer) {
	lx := newLexer([]byte(src))
	var out []string
	for {
		t := lx.next()
		if t.kind == tEOF {
			break
		}
		out = append(out, renderToken(t))
	}
	return strings.Join(out, " "), lx
}

func renderToken(t token) string {
	switch t.kind {
	case tIdent:
		return "id:" + t.text
	case tInt:
		s := "int:" + strconv.FormatUint(t.num, 10)
		if t.unit != "" {
			s += "/" + t.unit
		}
		return s
	case tString:
		return "str:" + strconv.Quote(t.str)
	case tVar:
		return "$" + t.str
	case tPosParam:
		return "$" + strconv.FormatUint(t.num, 10)
	case tParamCount:
		return "$#"
	case tMap:
		return "@" + t.str
	case tShebang:
		return "#!:" + strconv.Quote(t.str)
	case tPreproc:
		return "#:" + strconv.Quote(t.str)
	case tIllegal:
		return "ILLEGAL"
	}
	if t.kind.isKeyword() {
		return "kw:" + t.text
	}
	return t.kind.String()
}

func lexErrs(lx *lexer) string {
	var out []string
	for _, e := range lx.errs {
		out = append(out, fmt.Sprintf("%d:%d: %s", e.sp.Start.Line, e.sp.Start.Col, e.msg))
	}
	return strings.Join(out, "; ")
}

var lexTests = []struct {
	src, toks, errs string
}{
	// identifiers, builtins, keywords
	{"pid comm arg0 __x _", "id:pid id:comm id:arg0 id:__x id:_", ""},
	{"if else while unroll for break continue return let", "kw:if kw:else kw:while kw:unroll kw:for kw:break kw:continue kw:return kw:let", ""},
	{"config macro import struct sizeof true", "id:config id:macro id:import id:struct id:sizeof id:true", ""},
	// variables, parameters, maps
	{"$x $_a1 $1 $42 $#", "$x $_a1 $1 $42 $#", ""},
	{"@ @x @_y2 @[1]", "@ @x @_y2 @ [ int:1 ]", ""},
	{"@=1 @++ @+=2", "@ = int:1 @ ++ @ += int:2", ""},
	{"$0", "$0", "1:1: positional parameters start at $1"},
	{"$ x", "ILLEGAL id:x", "1:1: '$' must be followed by a variable name, a parameter number or '#'"},
	// integers
	{"0 42 0x2a 0X2A 0b101 052 1_000_000 0xff_ff", "int:0 int:42 int:42 int:42 int:5 int:42 int:1000000 int:65535", ""},
	{"1e6 2E3 1e0", "int:1000000 int:2000 int:1", ""},
	{"10u 10ul 10ull 10l 10LL 10U", "int:10 int:10 int:10 int:10 int:10 int:10", ""},
	{"1s 100ms 5us 10ns 2m 1h 1d 1e3ms", "int:1/s int:100/ms int:5/us int:10/ns int:2/m int:1/h int:1/d int:1000/ms", ""},
	{"18446744073709551615", "int:18446744073709551615", ""},
	{"18446744073709551616", "int:0", "1:1: integer 18446744073709551616 is too large"},
	{"1e20", "int:0", "1:1: integer 1e20 is too large"},
	{"10sec", "int:10", `1:3: invalid suffix "sec" on integer 10sec`},
	{"0x10s", "int:16", `1:5: invalid suffix "s" on integer 0x10s`},
	{"1__0 1_", "int:10 int:1", "1:1: misplaced '_' in integer 1__0; 1:6: misplaced '_' in integer 1_"},
	{"09", "int:0", `1:1: invalid digit '9' in octal integer 09`},
	{"1.5", "int:1", "1:1: floating-point numbers are not supported"},
	{"0..5 $t.0.1", "int:0 .. int:5 $t . int:0 . int:1", ""},
	// strings
	{`"a\tb\n\\\"" "\x41\101\0" "é"`, `str:"a\tb\n\\\"" str:"AA\x00" str:"é"`, ""},
	{`"\q"`, `str:""`, `1:2: unknown escape sequence '\q'`},
	{`"\x" "\777"`, `str:"" str:"\xff"`, `1:2: \x must be followed by hex digits; 1:7: octal escape \777 is out of range`},
	{"\"abc\nx", `str:"abc" id:x`, "1:1: unterminated string"},
	{`"abc`, `str:"abc"`, "1:1: unterminated string"},
	// operators
	{"+ - * / % & | ^ << >> && || ! ~", "+ - * / % & | ^ << >> && || ! ~", ""},
	{"< <= > >= == != = += -= *= /= %= &= |= ^= <<= >>=", "< <= > >= == != = += -= *= /= %= &= |= ^= <<= >>=", ""},
	{"++ -- ? : -> . .. , ; ( ) [ ] { }", "++ -- ? : -> . .. , ; ( ) [ ] { }", ""},
	{"a->b--c", "id:a -> id:b -- id:c", ""},
	{"a<<=b>>c", "id:a <<= id:b >> id:c", ""},
	// comments and preprocessor lines
	{"a // c\nb /* c\n */ c", "id:a id:b id:c", ""},
	{"a /* c", "id:a", "1:3: unterminated comment"},
	{"#!/usr/bin/env bpftrace\n#include <x.h>\n#define A \\\n 1\nb", `#!:"#!/usr/bin/env bpftrace" #:"#include <x.h>" #:"#define A \\\n 1" id:b`, ""},
	{"a #!x", `id:a #!:"#!x"`, ""},
	// invalid characters
	{"a ` b 'c' d", "id:a ILLEGAL id:b ILLEGAL id:d", "1:3: invalid character '`'; 1:7: single quotes are not supported"},
	{"a ' b\n'", "id:a ILLEGAL id:b ILLEGAL", "1:3: invalid character \"'\"; 2:1: invalid character \"'\""},
	{"\x00\x01\xff x", "ILLEGAL id:x", "1:1: invalid character '\\x00' (and 2 more)"},
	{"é", "ILLEGAL", "1:1: invalid character 'é'"},
}

func TestLexer(t *testing.T) {
	for _, tt := range lexTests {
		toks, lx := lexAll(tt.src)
		if toks != tt.toks {
			t.Errorf("lex %q:\n got  %s\n want %s", tt.src, toks, tt.toks)
		}
		if errs := lexErrs(lx); errs != tt.errs {
			t.Errorf("lex %q errors:\n got  %s\n want %s", tt.src, errs, tt.errs)
		}
	}
}

// Token positions: columns count runes and tabs advance to the next multiple of 8.
func TestLexerPositions(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a bc\n  d", "1:1-1:2 1:3-1:5 2:3-2:4"},
		{"\tx\n\t\ty", "1:9-1:10 2:17-2:18"},
		{"ab\tc", "1:1-1:3 1:9-1:10"},
		{`"é€" x`, "1:1-1:5 1:6-1:7"},
		{"/* é */ $x", "1:9-1:11"},
		{"\"a\tb\" c", "1:1-1:11 1:12-1:13"},
	}
	for _, tt := range tests {
		lx := newLexer([]byte(tt.src))
		var got []string
		for t := lx.next(); t.kind != tEOF; t = lx.next() {
			got = append(got, fmt.Sprintf("%d:%d-%d:%d", t.sp.Start.Line, t.sp.Start.Col, t.sp.End.Line, t.sp.End.Col))
			if p := PosAt([]byte(tt.src), t.sp.Start.Offset); p != t.sp.Start {
				t2 := p
				got = append(got, fmt.Sprintf("(PosAt says %d:%d)", t2.Line, t2.Col))
			}
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("positions in %q:\n got  %s\n want %s", tt.src, s, tt.want)
		}
	}
}

// Probe specs are scanned raw; see lexer.scanSpec for the '/' rule.
func TestProbeSpecs(t *testing.T) {
	tests := []struct{ src, want string }{
		{"BEGIN {}", `"BEGIN" BEGIN`},
		{"end{}", `"end" end`},
		{"t:syscalls:sys_enter_openat {}", `"t:syscalls:sys_enter_openat" t|syscalls|sys_enter_openat`},
		{"tracepoint:syscalls:sys_enter_* {}", `"tracepoint:syscalls:sys_enter_*" tracepoint|syscalls|sys_enter_*`},
		{"kprobe:do_sys_open+10 {}", `"kprobe:do_sys_open+10" kprobe|do_sys_open+10`},
		{"u:/bin/bash:readline {}", `"u:/bin/bash:readline" u|/bin/bash|readline`},
		{"uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc {}", `"uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc" uprobe|/lib/x86_64-linux-gnu/libc.so.6|malloc`},
		{`uretprobe:libc:"quoted name" {}`, `"uretprobe:libc:\"quoted name\"" uretprobe|libc|quoted name`},
		{`uprobe:/bin/bash:"echo_builtin"+0 {}`, `"uprobe:/bin/bash:\"echo_builtin\"+0" uprobe|/bin/bash|echo_builtin+0`},
		{`uprobe:"/odd:path":f {}`, `"uprobe:\"/odd:path\":f" uprobe|/odd:path|f`},
		{"i:ms:200 {}", `"i:ms:200" i|ms|200`},
		{"interval:1s {}", `"interval:1s" interval|1s`},
		{"profile:hz:99 {}", `"profile:hz:99" profile|hz|99`},
		{"sockops:/sys/fs/cgroup/unified {}", `"sockops:/sys/fs/cgroup/unified" sockops|/sys/fs/cgroup/unified`},
		{"xdp:eth0 {}", `"xdp:eth0" xdp|eth0`},
		{"tc:lo:ingress {}", `"tc:lo:ingress" tc|lo|ingress`},
		{"lsm:file_open {}", `"lsm:file_open" lsm|file_open`},
		{"fmod_ret:security_file_open {}", `"fmod_ret:security_file_open" fmod_ret|security_file_open`},
		{"usdt:/path:prov:probe {}", `"usdt:/path:prov:probe" usdt|/path|prov|probe`},
		{"kprobe:mod:func {}", `"kprobe:mod:func" kprobe|mod|func`},
		{"s:cpu-clock:1000 {}", `"s:cpu-clock:1000" s|cpu-clock|1000`},
		{"w:0x1000:8:rw {}", `"w:0x1000:8:rw" w|0x1000|8|rw`},
		{"it:task {}", `"it:task" it|task`},
		{"rt:sched_switch {}", `"rt:sched_switch" rt|sched_switch`},
		{"usdt:./bin/x::*probe2 {}", `"usdt:./bin/x::*probe2" usdt|./bin/x||*probe2`},
		{"uprobe:./t/u@u.c:22 {}", `"uprobe:./t/u@u.c:22" uprobe|./t/u@u.c|22`},
		{"uprobe:bin/app:main {}", `"uprobe:bin/app:main" uprobe|bin/app|main`},
		{"uprobe:/usr/lib/*.so:f* {}", `"uprobe:/usr/lib/*.so:f*" uprobe|/usr/lib/*.so|f*`},
		{"kprobe: {}", `"kprobe:" kprobe|`},
		// predicates and separators
		{"kprobe:f/pid == 1/{}", `"kprobe:f" kprobe|f (pred)`},
		{"t:a:b /x/ {}", `"t:a:b" t|a|b (pred)`},
		{"BEGIN/x/{}", `"BEGIN" BEGIN (pred)`},
		{"u:/bin/sh:f /arg0/ {}", `"u:/bin/sh:f" u|/bin/sh|f (pred)`},
		{"a:b,c:d, e:f {}", `"a:b" a|b "c:d" c|d "e:f" e|f`},
		{"a:b, {}", `"a:b" a|b`},
		{"a:b//comment\n{}", `"a:b" a|b`},
		{"a:b/*c*/,c {}", `"a:b" a|b "c" c`},
	}
	for _, tt := range tests {
		prog, d := Parse("t", []byte(tt.src))
		if d.HasErrors() {
			t.Errorf("%q: %s", tt.src, d.Format())
			continue
		}
		if len(prog.Probes) != 1 {
			t.Errorf("%q: %d probes", tt.src, len(prog.Probes))
			continue
		}
		var got []string
		for _, s := range prog.Probes[0].Specs {
			got = append(got, strconv.Quote(s.Raw)+" "+strings.Join(append([]string{s.Provider}, s.Parts...), "|"))
		}
		if prog.Probes[0].Pred != nil {
			got = append(got, "(pred)")
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("%q:\n got  %s\n want %s", tt.src, s, tt.want)
		}
	}
}
