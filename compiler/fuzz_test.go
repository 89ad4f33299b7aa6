package compiler

import (
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// FuzzCompile runs parse → check → codegen on arbitrary input: no input may
// panic, and every rejected program gets a positioned diagnostic.
func FuzzCompile(f *testing.F) {
	for _, src := range append(validPrograms, typedPrograms...) {
		f.Add(src)
	}
	f.Add(`struct s { int a:3; char n[4]; } __attribute__((packed)) enum E { A = 1 << 2, B } BEGIN { print((sizeof(struct s), (enum E)5, (a=1, b=(int8[])"x"))); }`)
	for _, src := range langPrograms {
		f.Add(src)
	}
	f.Add(`BEGIN { @x[1] = hist(2); print(@x); delete(@x[1]); }`)
	f.Add(`sockops /op == TIMEOUT_INIT/ { reply = 3s; setsockopt(SOL_TCP, TCP_BPF_IW, 10); }`)
	f.Add(`macro inc($x) { $x += 1; $x } macro get(@m, k) { @m[k] } macro two(x) { x + x } BEGIN { $a = 1; @m[1] = inc($a); print((get(@m, 1), two({ $b = 2; $b }))); }`)
	f.Add(`BEGIN { let $v; $s = if (pid) { "a" } else { "b" }; _ = { printf("x"); 1 }; @a = { let $t: uint8 = 3; avg($t) }; assert(ppid > 0, strlen($s)); }`)
	// Deep trees on the left (long chains, under the parser's limit) and
	// programs full of errors.
	f.Add("BEGIN { $x = 1" + strings.Repeat(" + 1", 9000) + "; exit(); }")
	f.Add("BEGIN { @a = 1; $x = @a" + strings.Repeat("[1]", 2000) + "; }")
	f.Add("BEGIN { $s = curtask" + strings.Repeat("->parent", 2000) + "->pid; }")
	f.Add("BEGIN { " + strings.Repeat("$x = nosuch + @u; ", 300) + "}")
	env := &probes.Env{TracefsRoot: testEnv.TracefsRoot, SysfsRoot: testEnv.SysfsRoot, ProcRoot: testEnv.ProcRoot, BTFFile: testEnv.BTFFile, Hz: 250, SkipCgroupCheck: true}
	f.Fuzz(func(t *testing.T, src string) {
		prog, diags := lang.Parse("fuzz.bt", []byte(src))
		if diags.HasErrors() {
			return
		}
		_, cd := Compile(prog, Options{Env: env, Params: []string{"1", "two"}, NamedArgs: []string{"a=5", "c"}, Unsafe: true})
		if cd.HasErrors() {
			for _, d := range cd.List {
				if d.Severity == lang.Error && d.Span.Start.Line == 0 {
					t.Fatalf("diagnostic without a position for %q: %s", src, d.Msg)
				}
			}
		}
	})
}
