package compiler

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
)

// Scoped variables, let, &$x, pointer arithmetic, getopt, records and
// booleans: programs that must compile and load.
var langPrograms = []string{
	`BEGIN { let $a; $a = 10; let $b = 2; let $c: uint16; let $t: struct task_struct *; $t = curtask; printf("%d %d %d %d\n", $a, $b, $c, $t->pid); }`,
	`BEGIN { if (1) { $x = "str"; printf("%s\n", $x); } if (1) { $x = 5; printf("%d\n", $x); } let $x; print($x); }`,
	`BEGIN { @a[1] = 1; for ($kv : @a) { $x = 2; print(($x, $kv.1)); } for ($i : 0..3) { let $n; $n += $i; } }`,
	`BEGIN { $a = 1; $b = &$a; print(($b, *$b)); $s = "hello"; $p = (int8 *)&$s; printf("%c %c\n", *$p, *++$p); $t = (1, "x"); print(*(&$t)); }`,
	`BEGIN { @p = (int32 *)0x32; @p++; @p -= 2; $q = (int64 *)0x10; $q += 3; $r = 2 + $q - 1; print(($q, $r, $q > 0x10)); }`,
	`BEGIN { print((getopt("a", 1), getopt("b", -2), getopt("c"), getopt("d", "x"))); }`,
	`BEGIN { $r = (a = 1, b = "x", c = (2, 3)); print(($r.a, $r.b, $r.c.1)); @r = $r; print($r); }`,
	`BEGIN { @z = 0; print((10 / @z, 10 % @z, -10 / @z, 1 < 2, (bool)@z, @z ?: 3)); }`,
	`i:ms:1 { print(usermode); } BEGIN { print(usermode); }`,
	`config = { max_strlen = 150 } BEGIN { if (1) { $a = str((uint64)curtask); } if (1) { $b = str((uint64)curtask); } if (1) { $c = str((uint64)curtask); } if (1) { $d = str((uint64)curtask); } }`,
	// Scoped variables in scratch memory, in a loop callback too.
	`config = { on_stack_limit = 0 } BEGIN { if (1) { $a = "aaaa"; print($a); } if (1) { $b = "bb"; $c = (1, "c"); print(($b, $c)); } @m[1] = 1; for ($kv : @m) { $d = "dd"; print(($d, $kv.0)); } $e = "e"; print($e); }`,
	// Block expressions and macros are scopes; a macro's let in a loop.
	`macro m(x) { let $t = x; $t * 2 } BEGIN { $i = 0; while ($i < 3) { $v = { let $u = m($i); $u + 1 }; print($v); $i++; } $u = "u"; print($u); }`,
}

// TestScopedVarsShareScratch: variables of sibling blocks share scratch
// memory as they share stack.
func TestScopedVarsShareScratch(t *testing.T) {
	size := func(src string) int {
		obj := compileLang(t, src)
		if obj == nil || obj.Scratch == nil {
			t.Fatalf("%s: no scratch memory", src)
		}
		return int(obj.Scratch.ValueSize)
	}
	const cfg = `config = { on_stack_limit = 0; max_strlen = 200 } `
	siblings := size(cfg + `BEGIN { if (1) { $a = str((uint64)curtask); print($a); } if (1) { $b = str((uint64)curtask + 8); print($b); } }`)
	nested := size(cfg + `BEGIN { if (1) { $a = str((uint64)curtask); if (1) { $b = str((uint64)curtask + 8); print(($a, $b)); } } }`)
	if siblings >= nested || nested-siblings < 200 {
		t.Errorf("scratch bytes: %d for sibling blocks, %d for nested ones; want 200 fewer for siblings", siblings, nested)
	}
}

func compileLang(t *testing.T, src string) *Object {
	t.Helper()
	prog, pd := lang.Parse("test.bt", []byte(src))
	if pd.HasErrors() {
		t.Errorf("parse %s:\n%s", src, pd.Format())
		return nil
	}
	obj, diags := Compile(prog, Options{Env: testEnv, NamedArgs: []string{"a=5", "c"}})
	if diags.HasErrors() {
		t.Errorf("%s:\n%s", src, diags.Format())
		return nil
	}
	return obj
}

func TestLangPrograms(t *testing.T) {
	for _, src := range langPrograms {
		compileLang(t, src)
	}
}

// TestLangProgramsVerify loads each of langPrograms into the real verifier.
func TestLangProgramsVerify(t *testing.T) {
	privtest.Require(t)
	for _, src := range langPrograms {
		obj := compileLang(t, src)
		if obj == nil {
			continue
		}
		if err := verify(obj); err != nil {
			t.Errorf("%s:\n%+v", src, err)
		}
	}
}

func TestLangErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`BEGIN { if (1) { $x = 1; } print($x); }`, "1:34: error: undefined variable $x"},
		{`BEGIN { $x = 1; let $x; }`, "1:17: error: variable $x was already declared"},
		{`BEGIN { $i = 1; for ($i : 0..2) { } }`, "1:22: error: loop declaration shadows existing variable: $i"},
		{`BEGIN { let $x: nosuchtype; }`, "error: not supported yet: variables of type nosuchtype"},
		{`BEGIN { $b = &$nope; }`, "1:15: error: undefined variable $nope"},
		{`BEGIN { $p = (int8 *)1; $x = 1 - $p; }`, "error: the - operator can not be used on expressions of types int64, int8 *"},
		{`BEGIN { $p = (int8 *)1; $p *= 2; }`, "error: *= cannot be applied to a pointer"},
		{`BEGIN { print(getopt(1)); }`, "error: first argument to getopt() must be a string literal"},
		{`BEGIN { print((getopt("a", 1), getopt("a", 2))); }`, "error: command line option 'a' needs to have the same default value"},
		{`BEGIN { $r = (a = 1); print($r.b); }`, `error: the record (a=int64) has no field "b"`},
		{`config = { license = "MIT" } BEGIN { }`, "error: Invalid value for license. Found: MIT."},
		{`config = { nosuch = 1 } BEGIN { }`, "error: nosuch: not a known configuration option"},
		{`BEGIN { unroll(101) { } }`, "error: unroll maximum value is 100"},
		{`BEGIN { unroll(0) { } }`, "error: unroll minimum value is 1"},
		{`BEGIN { $a = 1; $p = &$a; @m[1] = 1; for ($kv : @m) { } }`, "1:23: error: not supported yet: the address of a variable in a probe with a loop"},
	}
	wantErrors(t, tests)
}

func TestLangWarnings(t *testing.T) {
	tests := []struct{ src, want string }{
		{`BEGIN { let $a; if ($a) { $a = 1; } }`, "1:20: warning: variable used before it was assigned: $a"},
		{`BEGIN { let $a; print($a); }`, "1:9: warning: variable $a was never assigned to"},
		{`BEGIN { exit(); @x = 1; }`, "1:17: warning: unreachable statement"},
		{`BEGIN { if (1) { return; } else { exit(); } @x = 1; }`, "1:45: warning: unreachable statement"},
		{`config = { stack_mode = raw } BEGIN { }`, "warning: config option stack_mode has no effect in bpfsh"},
	}
	for _, tt := range tests {
		obj, diags := compile(t, tt.src)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", tt.src, diags.Format())
			continue
		}
		if !strings.Contains(obj.Warnings, tt.want) {
			t.Errorf("%s:\nwant %q in:\n%s", tt.src, tt.want, obj.Warnings)
		}
	}
	// An exit() that is an error itself does not also make what follows unreachable.
	_, diags := compile(t, `BEGIN { exit(1, 2); @x = 1; }`)
	if strings.Contains(diags.Format(), "unreachable") {
		t.Errorf("unreachable warning after a bad exit():\n%s", diags.Format())
	}
}

func TestElemSize(t *testing.T) {
	tests := []struct {
		cast string
		want int
	}{
		{"(int8 *)0", 1}, {"(int16 *)0", 2}, {"(uint32 *)0", 4}, {"(int64 *)0", 8},
		{"(void *)0", 1}, {"(int8 **)0", 8}, {"(struct task_struct **)0", 8},
	}
	for _, tt := range tests {
		src := "BEGIN { $p = " + tt.cast + "; $q = $p + 1; }"
		prog, _ := lang.Parse("test.bt", []byte(src))
		k := &checker{c: &compiler{prog: prog, opts: Options{Env: testEnv}, strlen: 64, maps: map[string]*Map{}, cdefs: newCdefs(),
			getopts: map[string]*getoptInfo{}, getoptCalls: map[*lang.Call]*getoptInfo{}}, diags: &lang.Diags{}, maps: map[string]*mapInfo{}}
		sc := &scope{}
		sc.reset()
		sc.prov = nil
		k.sc = sc
		as := prog.Probes[0].Body.Stmts[0].(*lang.Assign)
		pt := k.expr(as.RHS)
		if k.diags.HasErrors() {
			if strings.Contains(tt.cast, "struct") {
				continue // no kernel BTF here
			}
			t.Errorf("%s: %s", tt.cast, k.diags.Format())
			continue
		}
		if got := elemSize(pt); got != tt.want {
			t.Errorf("%s: element size %d, want %d", tt.cast, got, tt.want)
		}
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"0", 0, ""}, {"123", 123, ""}, {"0x1F", 31, ""}, {"0b101", 5, ""}, {"0775", 0775, ""},
		{"1_000", 1000, ""}, {"0xffffffffffffffff", 1<<64 - 1, ""}, {"1e3", 1000, ""}, {"5ms", 5e6, ""},
		{"2u", 2, ""}, {"a1111", 0, "invalid integer: a1111"}, {"111a1", 0, "invalid trailing bytes: 111a1"},
		{"not_a_pid", 0, "invalid integer: not_a_pid"}, {"18446744073709551616", 0, "overflow error"},
		{"5000000000u", 0, "overflow error, maximum value is 4294967295"},
	}
	for _, tt := range tests {
		got, err := ParseUint(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseUint(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseUint(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if v, err := ParseInt("-10"); err != nil || v != -10 {
		t.Errorf("ParseInt(-10) = %d, %v", v, err)
	}
	if _, err := ParseInt("0xffffffffffffffff"); err == nil {
		t.Errorf("ParseInt of a value above INT64_MAX: no error")
	}
}

func TestCheckNamedArgs(t *testing.T) {
	obj, diags := compile(t, `BEGIN { print((getopt("n", 1, "a number"), getopt("s", "x"), getopt("f"), getopt("i", -1))); }`)
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	tests := []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"n=5", "s=y", "f", "i=-3"}, "", ""},
		{[]string{"f=no", "n=0x10"}, "", ""},
		{[]string{"n=x"}, "program command line option --n invalid integer (value: x)", ""},
		{[]string{"n"}, "program command line option --n expects an integer (value: true)", ""},
		{[]string{"s"}, "program command line option --s expects a string (value: true)", ""},
		{[]string{"f=maybe"}, "program command line option --f expects a boolean (e.g. 'true') (value: maybe)", ""},
		{[]string{"n=99999999999999999999"}, "program command line option --n value is out of range (value: 99999999999999999999)", ""},
		{[]string{"zz", "yy=1"}, "unexpected program command line options: --zz, --yy", "expected program options: --n, --s, --f, --i"},
		{[]string{"help"}, "", "expected program options:\n--n: a number\n--s\n--f\n--i"},
	}
	for _, tt := range tests {
		err := obj.CheckNamedArgs(tt.args)
		var msg, hint string
		if ne, ok := err.(*NamedParamError); ok {
			msg, hint = ne.Msg, ne.Hint
		} else if err != nil {
			msg = err.Error()
		}
		if msg != tt.msg || hint != tt.hint {
			t.Errorf("%v: got %q / %q, want %q / %q", tt.args, msg, hint, tt.msg, tt.hint)
		}
	}
}

// TestDerefInteger: *n on an integer reads a u64 at address n, as
// bpftrace does, from the memory the probe's pointers address.
func TestDerefInteger(t *testing.T) {
	for _, c := range []struct {
		src  string
		read asm.BuiltinFunc
	}{
		{`BEGIN { $v = *(uint64)curtask; @[sizeof($v)] = *0; }`, asm.FnProbeReadKernel},
		{`t:syscalls:sys_enter_openat { @ = *(uint64)args.filename; }`, asm.FnProbeReadUser},
	} {
		obj, diags := compile(t, c.src)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", c.src, diags.Format())
			continue
		}
		if !callsHelper(obj.Programs[0].Spec.Instructions, c.read) {
			t.Errorf("%s: no call of %v", c.src, c.read)
		}
	}
	if _, diags := compile(t, `BEGIN { $b = true; @ = *$b; }`); !diags.HasErrors() {
		t.Errorf("*bool: compiled without errors")
	}
}

func callsHelper(insns asm.Instructions, fn asm.BuiltinFunc) bool {
	for _, ins := range insns {
		if ins.IsBuiltinCall() && asm.BuiltinFunc(ins.Constant) == fn {
			return true
		}
	}
	return false
}

// TestStrRuntimeLength: str(p, n) takes an n known only at run time, the
// read clamped to max_strlen (the verifier sees a bounded size).
func TestStrRuntimeLength(t *testing.T) {
	obj, diags := compile(t, `t:syscalls:sys_enter_openat { $n = args.flags; @[str(args.filename, $n)] = count(); printf("%s\n", str(args.filename, $n + 1)); }`)
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	if !callsHelper(obj.Programs[0].Spec.Instructions, asm.FnProbeReadUserStr) {
		t.Errorf("no bpf_probe_read_user_str")
	}
	for src, want := range map[string]string{
		`BEGIN { @ = str(0, "x"); }`: "str()'s length must be an integer, not string[2]",
		`BEGIN { @ = str(0, 0); }`:   "str()'s length must be positive",
	} {
		if _, diags := compile(t, src); !strings.Contains(diags.Format(), want) {
			t.Errorf("%s: want %q, got\n%s", src, want, diags.Format())
		}
	}
}
