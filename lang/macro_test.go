package lang

import (
	"strings"
	"testing"
)

// expand parses src, expands its macros (with lib and builtin) and renders
// the probes on one line, or the diagnostics when there are any.
func expand(t *testing.T, src string, lib *Library, builtin func(string) bool) string {
	t.Helper()
	p, d := Parse("stdin", []byte(src))
	if d.HasErrors() {
		t.Fatalf("parse %q: %s", src, d.Format())
	}
	ExpandMacros(p, MacroOptions{Library: lib, Builtin: builtin}, d)
	if len(d.List) > 0 {
		return d.Format()
	}
	p.Macros = nil
	var parts []string
	for _, line := range strings.Split(Print(p), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

func TestExpandMacros(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"expression body becomes the expression",
			`macro add1(x) { x + 1 } BEGIN { print(add1(2)); }`,
			`BEGIN { print(2 + 1); }`},
		{"a $param is the caller's variable",
			`macro inc($x) { $x += 1; } BEGIN { $a = 1; inc($a); }`,
			`BEGIN { $a = 1; ({ $a += 1; }); }`},
		{"a @param is the caller's map",
			`macro set(@m) { @m[1] = 2; } BEGIN { set(@a); }`,
			`BEGIN { ({ @a[1] = 2; }); }`},
		{"a plain param is substituted at each use",
			`macro twice(x) { x; x; } BEGIN { twice(printf("hi")); }`,
			`BEGIN { ({ printf("hi"); printf("hi"); }); }`},
		{"a variable passed to a plain param is read, not shared",
			`macro get(x) { x } BEGIN { $a = 1; print(get($a)); }`,
			`BEGIN { $a = 1; print({ $a }); }`},
		{"the body's variables are renamed per expansion",
			`macro inc(x) { $y = x + 1; $y } BEGIN { $y = 2; $z = inc(5) + inc(6); }`,
			`BEGIN { $y = 2; $z = { $$inc_1_y = 5 + 1; $$inc_1_y } + { $$inc_2_y = 6 + 1; $$inc_2_y }; }`},
		{"let and loop variables are renamed",
			`macro k(@m) { let $x; for ($kv : @m) { $x = $kv.0; } $x } BEGIN { print(k(@a)); }`,
			`BEGIN { print({ let $$k_1_x; for ($$k_1_kv : @a) { $$k_1_x = $$k_1_kv.0; } $$k_1_x }); }`},
		{"variables the body only reads are the caller's",
			`macro get() { $outer } BEGIN { $outer = 1; print(get()); }`,
			`BEGIN { $outer = 1; print($outer); }`},
		{"macros use macros defined later",
			`macro add2(x) { add1(add1(x)) } macro add1(x) { x + 1 } BEGIN { print(add2(1)); }`,
			`BEGIN { print(1 + 1 + 1); }`},
		{"arguments are expanded where they are written",
			`macro add1(x) { x + 1 } BEGIN { print(add1(add1(1) * 2)); }`,
			`BEGIN { print((1 + 1) * 2 + 1); }`},
		{"$params pass through nested macros",
			`macro a($x) { $x += 1; } macro b($y) { a($y); } BEGIN { $v = 1; b($v); }`,
			`BEGIN { $v = 1; ({ ({ $v += 1; }); }); }`},
		{"a bare name expands a macro without parameters",
			`macro one() { 1 } BEGIN { print(one + one()); }`,
			`BEGIN { print(1 + 1); }`},
		{"a parameter wins over a macro of the same name",
			`macro add() { 2 } macro id(add) { add } BEGIN { print(id(1)); }`,
			`BEGIN { print(1); }`},
		{"overloads are chosen by argument kinds",
			`macro f($x) { 1 } macro f(@m) { 2 } macro f(x) { 3 } BEGIN { $v = 0; print((f($v), f(@a), f(0))); }`,
			`BEGIN { $v = 0; print((1, 2, 3)); }`},
		{"overloads are chosen by argument count",
			`macro f() { 0 } macro f(x) { 1 } macro f(x, y) { 2 } BEGIN { print((f, f(9), f(9, 9))); }`,
			`BEGIN { print((0, 1, 2)); }`},
		{"typeof arguments stand for types",
			`macro sof(a, b) { sizeof(a[2]) + sizeof(b*) + sizeof(b) } BEGIN { print(sof(typeof(uint64*), typeof(struct Foo))); }`,
			`BEGIN { print(sizeof(uint64 *[2]) + sizeof(struct Foo *) + sizeof(struct Foo)); }`},
		{"type params in casts and declarations",
			`macro c(t) { let $v: t = 1; (t*)$v } BEGIN { print(c(typeof(uint8))); }`,
			`BEGIN { print({ let $$c_1_v: uint8 = 1; (uint8 *)$$c_1_v }); }`},
		{"typeof of a parameter's expression",
			`macro z(x) { let $v: typeof(x); $v } BEGIN { print(z(1 + 1)); }`,
			`BEGIN { print({ let $$z_1_v: typeof(1 + 1); $$z_1_v }); }`},
		{"a name inside typeof that is no parameter is a type",
			`macro z() { let $v: typeof(u64); $v } BEGIN { print(z()); }`,
			`BEGIN { print({ let $$z_1_v: typeof(u64); $$z_1_v }); }`},
		{"names that are no macros stay",
			`macro m() { 1 } BEGIN { print(pid + m); }`,
			`BEGIN { print(pid + 1); }`},
		{"predicates expand too",
			`macro big(x) { x > 10 } BEGIN /big(pid)/ { exit(); }`,
			`BEGIN /pid > 10/ { exit(); }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expand(t, tt.src, nil, nil); got != tt.want {
				t.Errorf("%s\n got: %s\nwant: %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestExpandMacrosErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"an error in a body shows the call",
			`macro f() { 1 + $z } BEGIN { print(f() + f(9)); }`,
			"stdin:1:42: error: no definition of macro f fits f(an expression)\n" +
				"macro f() { 1 + $z } BEGIN { print(f() + f(9)); }\n" +
				"                                         ^~~~\n" +
				"stdin:1:1: note: the closest definition takes 0 arguments, not 1\n" +
				"macro f() { 1 + $z } BEGIN { print(f() + f(9)); }\n" +
				"^~~~~~~~~\n"},
		{"wrong kind of argument",
			`macro add($x, y) { $x + y } BEGIN { add(1, 1); }`,
			"stdin:1:37: error: no definition of macro add fits add(an expression, an expression)\n" +
				"macro add($x, y) { $x + y } BEGIN { add(1, 1); }\n" +
				"                                    ^~~~~~~~~\n" +
				"stdin:1:41: error: add() wants a $variable here, not an expression\n" +
				"macro add($x, y) { $x + y } BEGIN { add(1, 1); }\n" +
				"                                        ^\n" +
				"stdin:1:11: note: the parameter in the closest definition\n" +
				"macro add($x, y) { $x + y } BEGIN { add(1, 1); }\n" +
				"          ^~\n"},
		{"a map where a variable is wanted",
			`macro f($x) { $x } BEGIN { f(@a); }`,
			"error: f() wants a $variable here, not a map"},
		{"a map element is not a map",
			`macro f(@m) { @m } BEGIN { f(@a[1]); }`,
			"error: f() wants a map here, not a map element"},
		{"recursion",
			`macro a(x) { b(x) } macro b(x) { a(x) } BEGIN { print(a(1)); }`,
			"stdin:1:34: error: macro a uses itself: a > b > a\n" +
				"macro a(x) { b(x) } macro b(x) { a(x) } BEGIN { print(a(1)); }\n" +
				"                                 ^~~~\n" +
				"hint: macros cannot be recursive\n" +
				"stdin:1:14: note: in expansion of macro b\n" +
				"macro a(x) { b(x) } macro b(x) { a(x) } BEGIN { print(a(1)); }\n" +
				"             ^~~~\n" +
				"stdin:1:55: note: in expansion of macro a\n" +
				"macro a(x) { b(x) } macro b(x) { a(x) } BEGIN { print(a(1)); }\n" +
				"                                                      ^~~~\n"},
		{"maps must be passed in",
			`macro set() { @x[1] = 1; 1 } BEGIN { set(); }`,
			"stdin:1:15: error: macro set uses map @x, which is not one of its parameters\n" +
				"macro set() { @x[1] = 1; 1 } BEGIN { set(); }\n" +
				"              ^~~~~\n" +
				"hint: pass the map in: macro set(@x, ...)\n" +
				"stdin:1:38: note: in expansion of macro set\n" +
				"macro set() { @x[1] = 1; 1 } BEGIN { set(); }\n" +
				"                                     ^~~~~\n"},
		{"two parameters with one name",
			`macro s($x, $x) { 1 } BEGIN { }`,
			"stdin:1:13: error: macro s has two parameters called $x"},
		{"two plain parameters with one name",
			`macro s(x, x) { 1 } BEGIN { }`,
			"stdin:1:12: error: macro s has two parameters called x"},
		{"redefinition",
			`macro s($x) { 1 } macro s($y) { 2 } BEGIN { }`,
			"stdin:1:19: error: macro s is already defined with parameters that fit the same arguments\n" +
				"macro s($x) { 1 } macro s($y) { 2 } BEGIN { }\n" +
				"                  ^~~~~~~~~~~\n" +
				"stdin:1:1: note: the first definition of s\n"},
		{"let may not hide a $param",
			`macro s($x) { let $x = 1; } BEGIN { $a = 1; s($a); }`,
			"stdin:1:19: error: let $x would hide the macro's parameter $x"},
		{"a builtin is no parameter name",
			`macro test(pid) { } BEGIN { }`,
			"stdin:1:12: error: builtin pid cannot be a macro parameter"},
		{"a type parameter that cannot fit",
			`macro m(t) { sizeof(struct t) } BEGIN { print(m(typeof(uint64*))); }`,
			"stdin:1:49: error: this cannot stand for m's type parameter t in struct t\n" +
				"macro m(t) { sizeof(struct t) } BEGIN { print(m(typeof(uint64*))); }\n" +
				"                                                ^~~~~~~~~~~~~~~\n" +
				"stdin:1:21: note: the type in the macro\n"},
		{"exponential expansion is stopped",
			`macro d(x) { x + x } BEGIN { print(d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(d(1))))))))))))))))))); }`,
			"error: macro expansion makes the program too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expand(t, tt.src, nil, nil); !strings.Contains(got, tt.want) {
				t.Errorf("%s\n got: %s\nwant: %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestMacroLibrary(t *testing.T) {
	lib := NewLibrary("stdlib/test.bt", []byte(
		"macro twice(x)\n{\n  x * 2\n}\n"+
			"macro quad(x)\n{\n  twice(twice(x))\n}\n"+
			"macro bad(x)\n{\n  x + \"s\"\n}\n"+
			"macro cpu()\n{\n  __builtin_cpu\n}\n"))
	if lib.Has("nope") || !lib.Has("quad") {
		t.Fatal("Has: want quad, not nope")
	}
	builtin := func(name string) bool { return name == "cpu" || name == "pid" }
	tests := []struct{ name, src, want string }{
		{"library macros expand", `BEGIN { print(quad(1)); }`, `BEGIN { print(1 * 2 * 2); }`},
		{"the program's macros come first", `macro twice(x) { x } BEGIN { print(twice(1)); }`, `BEGIN { print(1); }`},
		{"inside the library only library macros count",
			`macro twice(x) { 0 } BEGIN { print(quad(1)); }`, `BEGIN { print(1 * 2 * 2); }`},
		{"another signature leaves the library's",
			`macro cpu(x) { x } BEGIN { print((cpu(7), cpu())); }`, `BEGIN { print((7, __builtin_cpu)); }`},
		{"a builtin that fits no macro stays",
			`macro pid(x) { x } BEGIN { print(pid); }`, `BEGIN { print(pid); }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expand(t, tt.src, lib, builtin); got != tt.want {
				t.Errorf("%s\n got: %s\nwant: %s", tt.src, got, tt.want)
			}
		})
	}

	// Positions inside a library macro name its file; the note shows the call.
	p, d := Parse("stdin", []byte(`BEGIN { print(bad(1)); }`))
	ExpandMacros(p, MacroOptions{Library: lib}, d)
	call := p.Probes[0].Body.Stmts[0].(*ExprStmt).X.(*Call)
	sum := call.Args[0].(*Binary)
	if sum.Span.Exp == nil || sum.Span.Exp.File != "stdlib/test.bt" || sum.Span.Start.Line != 11 {
		t.Fatalf("span of the expanded body: %+v", sum.Span)
	}
	d.Errorf(sum.Span, "cannot add")
	want := "stdlib/test.bt:11:3: error: cannot add\n" +
		"  x + \"s\"\n" +
		"  ^~~~~~~\n" +
		"stdin:1:15: note: in expansion of macro bad\n" +
		"BEGIN { print(bad(1)); }\n" +
		"              ^~~~~~\n"
	if got := d.Format(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if r := sum.Span.Root(); r.Exp != nil || r.Start.Offset != 14 || r.End.Offset != 20 {
		t.Errorf("Root: %+v, want the span of bad(1)", r)
	}
}

func TestDiagAtRoot(t *testing.T) {
	src := "macro inner() { $nope }\nmacro outer() { inner() + 1 }\nBEGIN { print(outer()); }"
	p, d := Parse("stdin", []byte(src))
	ExpandMacros(p, MacroOptions{}, d)
	v := Inspect[*Var](p.Probes[0])[0]
	d.Errorf(v.Span, "undefined variable $nope").Note(p.Macros[0].Head, "defined here")
	g := d.List[0].AtRoot()
	if g.Span.Exp != nil || g.Span.Start.Line != 3 || g.Span.Start.Col != 15 {
		t.Errorf("span %+v, want the call of outer at 3:15", g.Span)
	}
	if g.Msg != "undefined variable $nope (in macro inner, used by outer)" {
		t.Errorf("msg %q", g.Msg)
	}
	if len(g.Notes) != 0 || len(g.Hints) != 1 || g.Hints[0].String() != "defined here: line 1, column 1" {
		t.Errorf("notes %v, hints %q", g.Notes, g.Hints)
	}
}
