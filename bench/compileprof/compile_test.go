// Package compileprof profiles bpfsh's front end in-process (lang.Parse and
// compiler.Compile on the bench's generated scripts), for pprof:
//
//	go test ./bench/compileprof -run XXX -bench . -cpuprofile cpu.out
//	go tool pprof -top bench/compileprof/compileprof.test cpu.out
//
// It needs tracefs (tracepoint formats), so run it as root.
package compileprof

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// Script shapes, the same as the bench's workload 6.
func probesScript(n int) string {
	var b strings.Builder
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, "t:syscalls:sys_enter_openat /pid == %d/ { @[comm] = count(); }\n", k)
	}
	return b.String()
}

func stmtsScript(n int) string {
	var b strings.Builder
	b.WriteString("t:syscalls:sys_enter_openat {\n")
	for k := 1; k <= n-2; k++ {
		fmt.Fprintf(&b, "  if (pid == %d) { @[comm] = count(); }\n", k)
	}
	b.WriteString("}\n")
	return b.String()
}

func compile(b *testing.B, src string) {
	if _, err := os.Stat(probes.TracefsRoot()); err != nil {
		b.Skip("no tracefs")
	}
	for i := 0; i < b.N; i++ {
		prog, diags := lang.Parse("gen.bt", []byte(src))
		if diags.HasErrors() {
			b.Fatal(diags.Format())
		}
		_, cd := compiler.Compile(prog, compiler.Options{Env: probes.SystemEnv(), MaxProbes: 100000})
		if cd.HasErrors() {
			b.Fatal(cd.Format())
		}
	}
}

func BenchmarkParseProbes5000(b *testing.B) {
	src := []byte(probesScript(5000))
	for i := 0; i < b.N; i++ {
		if _, d := lang.Parse("gen.bt", src); d.HasErrors() {
			b.Fatal(d.Format())
		}
	}
}

func BenchmarkProbes(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { compile(b, probesScript(n)) })
	}
}

func BenchmarkStmts(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { compile(b, stmtsScript(n)) })
	}
}
