package compiler

import (
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestKprobeFunctions: a kprobe's function is resolved against the
// kernel's traceable functions when compiling (testdata/kprobes: a kernel
// with kprobes and GCC's clones, whose available_filter_functions lacks
// untraceable_fn; tracing-nofilter has none: kallsyms is read instead): a
// suffixed variant is attached under its symbol with the probe named as
// written; an absent one is a positioned error with the nearest names.
func TestKprobeFunctions(t *testing.T) {
	for _, tracing := range []string{"tracing", "tracing-nofilter"} {
		t.Run(tracing, func(t *testing.T) { testKprobeFunctions(t, "testdata/kprobes/"+tracing) })
	}
}

func testKprobeFunctions(t *testing.T, tracing string) {
	env := probes.Env{TracefsRoot: tracing, SysfsRoot: testEnv.SysfsRoot, ProcRoot: "testdata/kprobes/proc",
		BTFFile: testEnv.BTFFile, Hz: testEnv.Hz, SkipCgroupCheck: true}
	for _, tc := range []struct{ spec, symbol string }{
		{"kprobe:blk_account_io_start", ""},
		{"kprobe:finish_task_switch", "finish_task_switch.isra.0"},
		{"kretprobe:finish_task_switch", "finish_task_switch.isra.0"},
		{"kprobe:do_sys_openat2", "do_sys_openat2.constprop.0.isra.0"},
		{"kprobe:finish_task_switch+4", "finish_task_switch.isra.0+4"},
		{"kprobe:only_cold", "only_cold.cold"},
		{"kprobe:xfs:xfs_file_read_iter", ""},
		{"kprobe:vmlinux:tcp_v4_connect", ""},
		{"kprobe:untraceable_fn", ""}, // without available_filter_functions
	} {
		if tc.spec == "kprobe:untraceable_fn" && strings.HasSuffix(tracing, "/tracing") {
			continue
		}
		obj, diags := compileWith(t, &env, false, tc.spec+` { printf("%s\n", probe); }`)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", tc.spec, diags.Format())
			continue
		}
		p := obj.Programs[0].Point
		if p.Symbol != tc.symbol || p.String() != tc.spec {
			t.Errorf("%s: point %s attached at %q, want %s at %q", tc.spec, p, p.Symbol, tc.spec, tc.symbol)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{"kprobe:blk_account_io_startx { }", `test.bt:1:1: error: no function blk_account_io_startx in the kernel's traceable functions
kprobe:blk_account_io_startx { }
^~~~~~~~~~~~~~~~~~~~~~~~~~~~
hint: did you mean blk_account_io_start?`},
		{"BEGIN { }\nkprobe:tcp_v5_connect { }", "test.bt:2:1: error: no function tcp_v5_connect in the kernel's traceable functions\n" +
			"kprobe:tcp_v5_connect { }\n^~~~~~~~~~~~~~~~~~~~~\nhint: did you mean tcp_v4_connect, tcp_v6_connect?"},
		{"kprobe:xfs:vfs_read { }", "error: no function vfs_read in module xfs's traceable functions"},
		{"kprobe:vmlinux:xfs_file_read_iter { }", "error: no function xfs_file_read_iter in the kernel's traceable functions"},
		{"kprobe:untraceable_fn { }", "hint: kallsyms has untraceable_fn, but it cannot be traced (inlined where it is called, or notrace)"},
		{"kprobe:completely_unrelated_name { }", "error: no function completely_unrelated_name in the kernel's traceable functions\n" +
			"kprobe:completely_unrelated_name { }\n^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"},
	} {
		if strings.Contains(tc.src, "untraceable") && strings.HasSuffix(tracing, "nofilter") {
			continue
		}
		_, diags := compileWith(t, &env, false, tc.src)
		if got := diags.Format(); !strings.Contains(got, tc.want) || strings.Count(got, "error:") != 1 {
			t.Errorf("%q: want one error\n%s\ngot\n%s", tc.src, tc.want, got)
		}
	}
}

// TestKprobeWildcardAlternative: a wildcard matching nothing among a
// probe's alternatives (bpftrace's dcsnoop: kprobe:lookup_fast,
// kprobe:lookup_fast.constprop.*) is a warning; alone, an error.
func TestKprobeWildcardAlternative(t *testing.T) {
	env := probes.Env{TracefsRoot: "testdata/kprobes/tracing", SysfsRoot: testEnv.SysfsRoot, ProcRoot: "testdata/kprobes/proc",
		BTFFile: testEnv.BTFFile, Hz: testEnv.Hz, SkipCgroupCheck: true}
	for _, tc := range []struct{ src, want string }{
		{"kprobe:tcp_v4_connect, kprobe:tcp_v4_connect.constprop.* { }",
			`test.bt:1:24: warning: no kernel function matches "tcp_v4_connect.constprop.*": skipping this attach point`},
		{"kprobe:tcp_v4_connect.constprop.* { }", `test.bt:1:1: error: no kernel function matches "tcp_v4_connect.constprop.*"`},
	} {
		prog, diags := lang.Parse("test.bt", []byte(tc.src))
		if !diags.HasErrors() {
			_, diags = Compile(prog, Options{Env: &env})
		}
		if got := diags.Format(); !strings.Contains(got, tc.want) || strings.Count(got, "test.bt:") != 1 {
			t.Errorf("%s: want\n%s\ngot\n%s", tc.src, tc.want, got)
		}
	}
}
