package lang

import (
	"fmt"
	"strings"
	"testing"
)

// diagList renders diagnostics as "line:col: message" joined by "; ".
func diagList(d *Diags) string {
	var out []string
	for _, g := range d.List {
		out = append(out, fmt.Sprintf("%d:%d: %s", g.Span.Start.Line, g.Span.Start.Col, g.Msg))
	}
	return strings.Join(out, "; ")
}

// Expressions, parsed as the only statement of a probe.
var exprTests = []struct{ src, want string }{
	// literals and names
	{"1", "1"},
	{"0x10", "0x10"},
	{"100ms", "100ms"},
	{`"a\n"`, `"a\n"`},
	{"true", "true"},
	{"false", "false"},
	{"pid", "pid"},
	{"$x", "$x"},
	{"$1", "$1"},
	{"$#", "$#"},
	{"@", "@"},
	{"@m", "@m"},
	{"@m[1]", "(@m 1)"},
	{`@m[1, "a"]`, `(@m 1 "a")`},
	{"@m[(1, 2)]", "(@m (tuple 1 2))"},
	{"@m[1][2]", "(index (@m 1) 2)"},
	// precedence and associativity
	{"1 + 2 * 3", "(+ 1 (* 2 3))"},
	{"1 * 2 + 3", "(+ (* 1 2) 3)"},
	{"1 - 2 - 3", "(- (- 1 2) 3)"},
	{"1 / 2 % 3", "(% (/ 1 2) 3)"},
	{"1 << 2 + 3", "(<< 1 (+ 2 3))"},
	{"a < b == c > d", "(== (< a b) (> c d))"},
	{"a & b ^ c | d", "(| (^ (& a b) c) d)"},
	{"a || b && c", "(|| a (&& b c))"},
	{"a && b || c && d", "(|| (&& a b) (&& c d))"},
	{"a == b != c", "(!= (== a b) c)"},
	{"a >= b <= c", "(<= (>= a b) c)"},
	{"a >> b << c", "(<< (>> a b) c)"},
	{"(1 + 2) * 3", "(* (+ 1 2) 3)"},
	{"a ? b : c", "(? a b c)"},
	{"a ? b : c ? d : e", "(? a b (? c d e))"},
	{"a || b ? c + 1 : d", "(? (|| a b) (+ c 1) d)"},
	{"a ?: b", "(?: a b)"},
	{"a ? : b ?: c", "(?: a (?: b c))"},
	// unary and postfix
	{"-1", "(- 1)"},
	{"- -x", "(- (- x))"},
	{"!a && ~b", "(&& (! a) (~ b))"},
	{"*$p", "(* $p)"},
	{"**($p + 1)", "(* (* (+ $p 1)))"},
	{"&$x", "(& $x)"},
	{"++$x", "(++ $x)"},
	{"$x++", "(post++ $x)"},
	{"@--", "(post-- @)"},
	{"*++$b", "(* (++ $b))"},
	{"-$x.y", "(- (. $x y))"},
	{"$x->y->z", "(-> (-> $x y) z)"},
	{"args.filename", "(. args filename)"},
	{"$t.0.1", "(. (. $t 0) 1)"},
	{"$a[0][1]", "(index (index $a 0) 1)"},
	{"$a.x[$i]", "(index (. $a x) $i)"},
	{"@.c", "(. @ c)"},
	{"config().max_strlen", "(. (call config) max_strlen)"},
	// calls
	{"f()", "(call f)"},
	{`printf("%d %s\n", pid, comm)`, `(call printf "%d %s\n" pid comm)`},
	{"kstack(perf, 10)", "(call kstack perf 10)"},
	{"sizeof(struct task_struct)", "(call sizeof <struct task_struct>)"},
	{"sizeof(uint64)", "(call sizeof <uint64>)"},
	{"sizeof($x)", "(call sizeof $x)"},
	{"sizeof(x)", "(call sizeof x)"},
	{"sizeof(b*)", "(call sizeof <b*>)"},
	{"sizeof(1 == 1)", "(call sizeof (== 1 1))"},
	{"offsetof(struct foo, bar)", "(call offsetof <struct foo> bar)"},
	{"offsetof(struct foo, bar.baz)", "(call offsetof <struct foo> (. bar baz))"},
	{"container_of($n, typeof(struct Foo), n)", "(call container_of $n <typeof <struct Foo>> n)"},
	{"m(typeof(uint64*))", "(call m <typeof <uint64*>>)"},
	{"m(typeof($x))", "(call m <typeof $x>)"},
	// casts
	{"(int64)x", "(cast <int64> x)"},
	{"(uint8*)p", "(cast <uint8*> p)"},
	{"(struct task_struct *)curtask", "(cast <struct task_struct*> curtask)"},
	{"(struct sock*)arg0", "(cast <struct sock*> arg0)"},
	{"(int8[4])x", "(cast <int8[4]> x)"},
	{"(int8[])x", "(cast <int8[]> x)"},
	{"(unsigned long long)x", "(cast <unsigned long long> x)"},
	{"(uint64_t)1", "(cast <uint64_t> 1)"},
	{"(int8)-1", "(cast <int8> (- 1))"},
	{"(uint64)3 - (uint64)5", "(- (cast <uint64> 3) (cast <uint64> 5))"},
	{"(bool[2])(uint16)1", "(cast <bool[2]> (cast <uint16> 1))"},
	{"((struct A *)arg0).x", "(. (cast <struct A*> arg0) x)"},
	{"(struct A *)arg0->x", "(cast <struct A*> (-> arg0 x))"},
	{"*(struct foo *)(&$v)", "(* (cast <struct foo*> (& $v)))"},
	{"(a*)-1", "(cast <a*> (- 1))"},
	{"(my_t)arg0", "(cast <my_t> arg0)"},
	{"(typeof(x))1", "(cast <typeof x> 1)"},
	{"(x) - 1", "(- x 1)"},
	{"(x) * y", "(* x y)"},
	{"(pid)", "pid"},
	{"(x)", "x"},
	{"(ONE)", "ONE"},
	// tuples and records
	{`(1, "a", $x)`, `(tuple 1 "a" $x)`},
	{"(1, (2, 3))", "(tuple 1 (tuple 2 3))"},
	{"(1,)", "(tuple 1)"},
	{"()", "(tuple)"},
	{"(a = 1, b = (2, \"x\"))", `(record (a 1) (b (tuple 2 "x")))`},
	{"(a = 1)", "(record (a 1))"},
	{"(a == 1)", "(== a 1)"},
	// block and if expressions
	{"{ $a = 1; $a + 1 }", "(block* (= $a 1) (+ $a 1))"},
	{"@x = { let $a = 100; avg($a) }", "(= @x (block* (let $a _ 100) (call avg $a)))"},
	{"print({ printf(\"hi\") })", `(call print (block* (call printf "hi")))`},
	{"print(if ($x) { 1 } else { 2 })", "(call print (if $x (block* 1) (block* 2)))"},
	{"_ = { print(1); 1 }", "(= _ (block* (call print 1) 1))"},
}

func TestExprs(t *testing.T) {
	for _, tt := range exprTests {
		prog, ok := parseBegin(t, tt.src)
		if !ok {
			continue
		}
		if len(prog.Probes) != 1 || len(prog.Probes[0].Body.Stmts) != 1 {
			t.Errorf("%s: not one statement: %s", tt.src, Dump(prog))
			continue
		}
		if got := Dump(prog.Probes[0].Body.Stmts[0]); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.src, got, tt.want)
		}
	}
}

// parseBegin parses body as a BEGIN probe's; false, with the errors
// reported, when it does not parse.
func parseBegin(t *testing.T, body string) (*Program, bool) {
	t.Helper()
	prog, d := Parse("t", []byte("BEGIN { "+body+" }"))
	if d.HasErrors() {
		t.Errorf("%s: %s", body, diagList(d))
		return nil, false
	}
	return prog, true
}

// Statements, parsed as a probe body.
var stmtTests = []struct{ src, want string }{
	{"", "(block)"},
	{";;", "(block)"},
	{"a; b", "(block* a b)"},
	{"a; b;", "(block a b)"},
	{"$x = 1; @y += 2; @z[1] <<= 3; @ ^= 4", "(block (= $x 1) (+= @y 2) (<<= (@z 1) 3) (^= @ 4))"},
	{"$x -= 1; $x *= 2; $x /= 3; $x %= 4; $x &= 5; $x |= 6; $x >>= 7", "(block (-= $x 1) (*= $x 2) (/= $x 3) (%= $x 4) (&= $x 5) (|= $x 6) (>>= $x 7))"},
	{"reply = 1; $a.b = 2; $a[1] = 3", "(block (= reply 1) (= (. $a b) 2) (= (index $a 1) 3))"},
	{"let $x", "(block (let $x _ _))"},
	{"let $x = 1", "(block (let $x _ 1))"},
	{"let $x: uint8 = 1;", "(block (let $x <uint8> 1))"},
	{"let $f: struct task_struct *;", "(block (let $f <struct task_struct*> _))"},
	{"let $x: struct Foo *[2] = args.foos;", "(block (let $x <struct Foo*[2]> (. args foos)))"},
	{"let $y: typeof(x);", "(block (let $y <typeof x> _))"},
	{"let $y: typeof(size_t*) = 1", "(block (let $y <typeof <size_t*>> 1))"},
	{"if (a) { b }", "(block* (if a (block* b)))"},
	{"if (a) { b } c", "(block* (if a (block* b)) c)"},
	{"if (a) { b; };", "(block (if a (block b)))"},
	{"if a { b } else { c }", "(block* (if a (block* b) (block* c)))"},
	{"if (a) { } else if (b) { c } else { d }", "(block* (if a (block) (if b (block* c) (block* d))))"},
	{"if ($a) && ($b) { }", "(block* (if (&& $a $b) (block)))"},
	{"if ((int32)nsecs) { }", "(block* (if (cast <int32> nsecs) (block)))"},
	{"unroll(3) { @c++ }", "(block (unroll 3 (block* (post++ @c))))"},
	{"unroll 3 { }", "(block (unroll 3 (block)))"},
	{"while ($i < 3) { $i++; break; continue }", "(block (while (< $i 3) (block (post++ $i) (break) (continue))))"},
	{"for ($kv : @map) { print($kv.1) }", "(block (for $kv @map (block* (call print (. $kv 1)))))"},
	{"for ($kv : @) { }", "(block (for $kv @ (block)))"},
	{"for ($i : 0..10) { }", "(block (for $i (.. 0 10) (block)))"},
	{"for ($i : $a..$b) { }", "(block (for $i (.. $a $b) (block)))"},
	{"for ($i : (1+1)..(2*4)) { }", "(block (for $i (.. (+ 1 1) (* 2 4)) (block)))"},
	{"for ($i : 0..@m[5]) { }", "(block (for $i (.. 0 (@m 5)) (block)))"},
	{"for ($i : (-3)..3) { }", "(block (for $i (.. (- 3) 3) (block)))"},
	{"for $i : 1..2 { }", "(block (for $i (.. 1 2) (block)))"},
	{"return", "(block (return))"},
	{"return;", "(block (return))"},
	{"return $a + 1", "(block (return (+ $a 1)))"},
	{"{ a; { b } }", "(block* (block* a (block* b)))"},
	{"exit(); @x++", "(block* (call exit) (post++ @x))"},
	{"nsecs ? printf(\"y\") : printf(\"n\") ;", `(block (? nsecs (call printf "y") (call printf "n")))`},
}

func TestStmts(t *testing.T) {
	for _, tt := range stmtTests {
		prog, ok := parseBegin(t, tt.src)
		if !ok {
			continue
		}
		if got := Dump(prog.Probes[0].Body); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.src, got, tt.want)
		}
	}
}

// Whole programs: top-level items.
var programTests = []struct{ src, want string }{
	{"BEGIN { }", `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"BEGIN,END{}", `(probe (spec "BEGIN" "BEGIN") (spec "END" "END") (block))`},
	{"kprobe:f /pid == 1/ { @ = count() }", `(probe (spec "kprobe:f" "kprobe" "f") (pred (== pid 1)) (block (= @ (call count))))`},
	{"lsm:file_open /args.file->f_inode->i_rdev == 1/ { override(EPERM); }", `(probe (spec "lsm:file_open" "lsm" "file_open") (pred (== (-> (-> (. args file) f_inode) i_rdev) 1)) (block (call override EPERM)))`},
	{"fmod_ret:usbcore:usb_probe_interface, fmod_ret:security_file_open { override(-EPERM) }", `(probe (spec "fmod_ret:usbcore:usb_probe_interface" "fmod_ret" "usbcore" "usb_probe_interface") (spec "fmod_ret:security_file_open" "fmod_ret" "security_file_open") (block* (call override (- EPERM))))`},
	{"k:f / $x / 2 > 1 / { }", `(probe (spec "k:f" "k" "f") (pred (> (/ $x 2) 1)) (block))`},
	{"k:f /(a / 2)/ { }", `(probe (spec "k:f" "k" "f") (pred (/ a 2)) (block))`},
	{"k:f /str(args.argv[0]) == \"./t\"/ { }", `(probe (spec "k:f" "k" "f") (pred (== (call str (index (. args argv) 0)) "./t")) (block))`},
	{"#!/bin/bpftrace\nBEGIN {}", "(shebang \"#!/bin/bpftrace\")\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"#include <linux/sched.h>\n#define N 4\nBEGIN {}", `(c "#include <linux/sched.h>")` + "\n" + `(c "#define N 4")` + "\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"struct Foo { int x; char c[4]; }\nBEGIN {}", `(c "struct Foo { int x; char c[4]; }")` + "\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"struct Foo { struct { int a; } b; };\nBEGIN {}", `(c "struct Foo { struct { int a; } b; };")` + "\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"enum { A, B = 2 }; union U { int a; long b; } __attribute__((packed)) BEGIN {}", `(c "enum { A, B = 2 };")` + "\n" + `(c "union U { int a; long b; } __attribute__((packed))")` + "\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"config = { max_strlen = 8; missing_probes = warn; license = \"GPL\" } BEGIN {}", `(config (= max_strlen 8) (= missing_probes warn) (= license "GPL"))` + "\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"config = { a = true; };", `(config (= a true))`},
	{"let @a = hash(10); let @b = lruhash(1)\nBEGIN {}", "(mapdecl @a hash 10)\n(mapdecl @b lruhash 1)\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"macro add($x, @m, y) { $x + y }", `(macro add ($x @m y) (block* (+ $x y)))`},
	{"macro one() { 1 } BEGIN { print(one()) }", "(macro one () (block* 1))\n" + `(probe (spec "BEGIN" "BEGIN") (block* (call print (call one))))`},
	{`import "stdlib/x"; BEGIN {}`, "(import \"stdlib/x\")\n" + `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"// comment\n/* c */ BEGIN { /* x */ } // end", `(probe (spec "BEGIN" "BEGIN") (block))`},
	{"struct:x { }", `(probe (spec "struct:x" "struct" "x") (block))`},
	{"struct, { }", `(probe (spec "struct" "struct") (block))`},
	{"enum[1],{}", `(probe (spec "enum[1]" "enum[1]") (block))`},
}

func TestPrograms(t *testing.T) {
	for _, tt := range programTests {
		prog, d := Parse("t", []byte(tt.src))
		if d.HasErrors() {
			t.Errorf("%s: %s", tt.src, diagList(d))
			continue
		}
		if got := Dump(prog); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.src, got, tt.want)
		}
	}
}

// Syntax errors: each is reported at its place, several per run.
var errorTests = []struct {
	src        string
	errs       string
	incomplete bool
}{
	{"BEGIN { $x = 1 $y = 2 }", "1:15: missing ';' after statement", false},
	{"BEGIN { printf(\"a\" 1); $x = ; }", "1:20: unexpected integer 1, expecting ',' or ')'; 1:29: unexpected ';', expecting an expression", false},
	{"k:f /pid = 1/ { }", "1:10: '=' is assignment, not allowed in a predicate", false},
	{"BEGIN { if ($x = 1) { } }", "1:16: '=' is assignment, not allowed in a condition", false},
	{"BEGIN { 1 = 2; f() += 1 }", "1:9: cannot assign to a literal; 1:16: cannot assign to a call to f", false},
	{"BEGIN { \"abc }", "1:9: unterminated string", true},
	{"BEGIN { \"abc\n\" }", "1:9: unterminated string; 2:1: unterminated string", false},
	{"BEGIN { \"\\q\" }", `1:10: unknown escape sequence '\q'`, false},
	{"BEGIN {", "1:8: unexpected end of input, expecting '}'", true},
	{"BEGIN { print((1, 2)", "1:21: unexpected end of input, expecting ',' or ')'", true},
	{"BEGIN { @x[1", "1:13: unexpected end of input, expecting ',' or ']'", true},
	{"BEGIN { /* ", "1:9: unterminated comment", true},
	{"BEGIN", "1:6: unexpected end of input, expecting '{'", false},
	{"BEGIN { } }", "1:11: unexpected '}', expecting a probe", false},
	{"BEGIN { $x = 1.5 }", "1:14: floating-point numbers are not supported", false},
	{"BEGIN { @x = 10sec }", `1:16: invalid suffix "sec" on integer 10sec`, false},
	{"BEGIN { `x` }", "1:9: invalid character '`'; 1:11: invalid character '`'", false},
	{"BEGIN { print(1) } END { x y } i:s:1 { z; ) }", "1:27: missing ';' after statement; 1:43: unexpected ')', expecting an expression", false},
	{"BEGIN foo { }", "1:7: unexpected identifier 'foo', expecting '{'", false},
	{"printf(\"x\")", "1:7: unexpected '(', expecting '{'", false},
	{"BEGIN { for ($x : 5) { } a }", "1:19: expected a map or a range lo..hi after ':'", false},
	{"BEGIN { for (x : @m) { } }", "1:14: unexpected identifier 'x', expecting a $variable", false},
	{"BEGIN { (a = 1, a = 2) }", "1:17: duplicate field a in record", false},
	{"BEGIN { $0 }", "1:9: positional parameters start at $1", false},
	{"BEGIN { #include <x> \n }", "1:9: preprocessor directive must come before the probes", false},
	{"let $x = 1;", "1:5: unexpected variable $x, expecting a map (only maps can be declared at the top level, e.g. let @m = hash(1024);)", false},
	{"BEGIN { if (x) } END { }", "1:16: unexpected '}', expecting '{'", false},
	{"BEGIN { a.; b }", "1:11: unexpected ';', expecting a field name after '.'", false},
	{"BEGIN { x ? y }", "1:15: unexpected '}', expecting ':'", false},
	{" #!/bin/sh\nBEGIN { }", "1:2: a #! line is only allowed at the very start of the script", false},
	{"fn f($a: int64): int64 { }", "1:1: functions (fn) are not supported", false},
	{"k:f // { }", "1:11: unexpected end of input, expecting '{'", false},
	{"BEGIN { @m[1,] }", "1:14: unexpected ']', expecting an expression", false},
	{"k:f // x\n/", "2:2: unexpected end of input, expecting an expression", false},
	{"BEGIN { if (1) { print(1) ", "1:27: unexpected end of input, expecting '}'", true},
}

func TestErrors(t *testing.T) {
	for _, tt := range errorTests {
		_, d := Parse("t", []byte(tt.src))
		if got := diagList(d); got != tt.errs {
			t.Errorf("%q:\n got  %s\n want %s", tt.src, got, tt.errs)
		}
		if d.Incomplete != tt.incomplete {
			t.Errorf("%q: Incomplete = %v, want %v", tt.src, d.Incomplete, tt.incomplete)
		}
	}
}

// Parse never returns a nil program or diagnostics, whatever the input.
func TestParseAlwaysReturns(t *testing.T) {
	for _, src := range []string{"", "{", "}", "(((", "@", "$", "\"", "/*", "BEGIN { (", "k:a /", "struct X {", "config = {", "macro m(", "let @a = hash(", "\x00\xff"} {
		p, d := Parse("t", []byte(src))
		if p == nil || d == nil || d.File != "t" || string(d.Src) != src {
			t.Errorf("%q: Parse returned %v, %v", src, p, d)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	src := "BEGIN { " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }"
	_, d := Parse("t", []byte(src))
	if got := diagList(d); got != "1:2507: program is nested too deeply" {
		t.Errorf("got %s", got)
	}
	src = "BEGIN { " + strings.Repeat("if (1) { ", 600) + strings.Repeat("}", 600) + " }"
	if _, d := Parse("t", []byte(src)); d.HasErrors() {
		t.Errorf("600 nested ifs: %s", diagList(d))
	}
}

// genScript builds a script of at least n lines that uses most of the
// grammar, shaped like real tools (comments, blank lines, short statements:
// about 30 bytes a line).
func genScript(n int) []byte {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bpftrace\n#include <linux/sched.h>\nstruct S { int a; char b[8]; };\nconfig = { max_strlen = 64 }\n\n")
	lines := 5
	for i := 0; lines < n; i++ {
		fmt.Fprintf(&b, `// probe %d: reads by process
tracepoint:syscalls:sys_enter_read%d,
kprobe:vfs_read+%d
/pid == %d && comm != "x"/
{
	$x = (struct S *)arg0;
	@reads[comm, pid] = count();
	@bytes = hist(args->count * 2);
	if ($x->a > %d) {
		printf("%%s %%d\n", str($x.b), $x->a);
	} else {
		@other++;
	}
	for ($i : 0..10) {
		$sum += $i << 2;
	}
	@t = nsecs / 1000 ? 1s : (uint64)100ms;
}

`, i, i, i, i, i)
		lines += 19
	}
	return []byte(b.String())
}

func TestGenScript(t *testing.T) {
	src := genScript(5000)
	prog, d := Parse("gen.bt", src)
	if d.HasErrors() {
		t.Fatal(d.Format())
	}
	if lines := strings.Count(string(src), "\n"); lines < 5000 {
		t.Fatalf("only %d lines", lines)
	}
	if len(prog.Probes) < 250 {
		t.Fatalf("only %d probes", len(prog.Probes))
	}
}

func BenchmarkParse(b *testing.B) {
	src := genScript(5000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Parse("gen.bt", src)
	}
}
