package cpp

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestHeaders reads testdata's headers (guards, nesting, #if, macros of
// macros, enums) and checks each name's value, or that it has none.
func TestHeaders(t *testing.T) {
	p := New([]string{"testdata/sys/inc"}, "PREDEF=3")
	var read []string
	p.ReadFile = func(name string) ([]byte, error) {
		read = append(read, filepath.Base(name))
		return os.ReadFile(name)
	}
	for _, h := range []string{"<guarded.h>", "<guarded.h>", "<sub/nested.h>", "<cond.h>", `"local.h"`} {
		if err := p.Include(h, "testdata/user"); err != nil {
			t.Fatalf("Include(%s): %v", h, err)
		}
	}
	if got := strings.Join(read, " "); got != "guarded.h nested.h guarded.h cond.h local.h sibling.h" {
		t.Errorf("files read: %s (nested.h has #pragma once and is included again, never.h is under #if 0)", got)
	}
	for _, tc := range []struct {
		name string
		want int64
		ok   bool
	}{
		{"PREDEF", 3, true},
		{"_GUARDED_H", 1, true},
		{"GUARD_COUNT", 17, true},
		{"NESTED_BASE", 16, true},
		{"LONG_MACRO", 256, true},
		{"WITH_COMMENT", 3, true},
		{"FN_LIKE", 0, false},
		{"USES_FN", 0, false},
		{"SELF", 0, false},
		{"LOOP_A", 0, false},
		{"STRINGY", 0, false},
		{"CHARS", 75, true},
		{"CAST", 0xffffffff, true},
		{"SUFFIXED", 10, true},
		{"OCTAL", 0755, true},
		{"TERNARY", 1, true},
		{"IF_TAKEN", 1, true},
		{"ELIF_WRONG", 0, false},
		{"ELSE_WRONG", 0, false},
		{"UNKNOWN_IS_TRUE", 0, false},
		{"FN_CALL_IS_TRUE", 0, false},
		{"UNKNOWN_IS_ZERO", 1, true},
		{"NESTED_INACTIVE", 0, false},
		{"NESTED_ACTIVE", 2, true},
		{"NEVER_READ", 0, false},
		{"ARITH_OK", 1, true},
		{"AFTER_GUARD", 0, false}, // #undef
		{"RED", 0, true},
		{"GREEN", 5, true},
		{"BLUE", 6, true}, // an enumerator glibc-style, with a #define of itself
		{"CYAN", 17, true},
		{"E_TWO", 2, true},
		{"QUOTED_LOCAL", 11, true},
		{"SIBLING", 12, true},
		{"NOT_DEFINED", 0, false},
	} {
		v, ok := p.Int(tc.name)
		if v != tc.want || ok != tc.ok {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", tc.name, v, ok, tc.want, tc.ok)
		}
	}
}

// TestIncludeErrors: only the header named must exist.
func TestIncludeErrors(t *testing.T) {
	p := New([]string{"testdata/sys/inc"})
	for _, tc := range []struct{ spec, want string }{
		{"<nope.h>", "header <nope.h> not found"},
		{`"local.h"`, `header "local.h" not found`}, // not in the system path
		{"local.h", `#include expects <FILE> or "FILE"`},
		{"<sub>", "header <sub> not found"}, // a directory
	} {
		err := p.Include(tc.spec, "testdata")
		if err == nil || err.Error() != tc.want {
			t.Errorf("Include(%s) = %v, want %s", tc.spec, err, tc.want)
		}
		var nf *NotFoundError
		if strings.Contains(tc.want, "not found") != errors.As(err, &nf) {
			t.Errorf("Include(%s): %T, NotFoundError wanted: %v", tc.spec, err, strings.Contains(tc.want, "not found"))
		}
	}
}

// TestDirective: the script's own conditionals.
func TestDirective(t *testing.T) {
	p := New(nil, "BPFTRACE_HAVE_BTF")
	type step struct {
		line           string
		handled, activ bool
		err            string
	}
	for i, s := range []step{
		{"#ifndef BPFTRACE_HAVE_BTF", true, false, ""},
		{"#include <linux/socket.h>", false, false, ""},
		{"#define INACTIVE 1", true, false, ""},
		{"#else", true, true, ""},
		{"#include <sys/socket.h>", false, true, ""},
		{"#define ACTIVE 2 // comment", true, true, ""},
		{"#endif", true, true, ""},
		{"#if ACTIVE == 2 && !defined(INACTIVE)", true, true, ""},
		{"#endif", true, true, ""},
		{"#pragma once", false, true, ""},
		{"#endif", true, true, "#endif without #if"},
		{"#else", true, true, "#else without #if"},
		{"struct x { int a; };", false, true, ""},
	} {
		handled, err := p.Directive(s.line)
		if handled != s.handled || p.Active() != s.activ || (err == nil) != (s.err == "") || err != nil && err.Error() != s.err {
			t.Errorf("step %d %q: handled %v, active %v, err %v; want %v, %v, %q", i, s.line, handled, p.Active(), err, s.handled, s.activ, s.err)
		}
	}
	if v, ok := p.Int("ACTIVE"); v != 2 || !ok || p.Defined("INACTIVE") || p.Unterminated() {
		t.Errorf("ACTIVE = %d, %v; INACTIVE defined %v; unterminated %v", v, ok, p.Defined("INACTIVE"), p.Unterminated())
	}
	p.Directive("#if 1")
	if !p.Unterminated() {
		t.Error("an open #if is not reported")
	}
}

// TestSystem: the search path, with the kernel's headers when installed.
func TestSystem(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "lib/modules/6.1.0-test/build/include"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := System{Root: root, Release: "6.1.0-test", IDirs: []string{"mine"}}.New()
	if p.Path[0] != "mine" || !strings.HasSuffix(p.Path[1], "build/arch/"+kernelArch()+"/include") ||
		!strings.HasSuffix(p.Path[len(p.Path)-1], "/usr/include") || !p.Defined("__KERNEL__") || !p.Defined("BPFTRACE_HAVE_BTF") {
		t.Errorf("path %v, __KERNEL__ %v", p.Path, p.Defined("__KERNEL__"))
	}
	p = System{Root: root, Release: "5.0-none"}.New()
	if len(p.Path) != 3 || p.Defined("__KERNEL__") {
		t.Errorf("without kernel headers: path %v, __KERNEL__ %v", p.Path, p.Defined("__KERNEL__"))
	}
}

// TestKernelHeaderTree reads a real kernel header tree, as installed by a
// distribution's linux-headers package (make test's set-up installs
// Debian's): the kernel's headers include hundreds of others, with
// function-like macros, inline functions and asm that the preprocessor
// must pass over, and define what only they define (TASK_RUNNING).
func TestKernelHeaderTree(t *testing.T) {
	release := kernelHeaderRelease()
	privtest.Need(t, release != "", "no kernel header tree under /lib/modules (package linux-headers-ARCH: make test installs it as root on Debian)")
	p := System{Release: release}.New()
	if !p.Defined("__KERNEL__") {
		t.Fatalf("release %s: the kernel's headers are not on the path %v", release, p.Path)
	}
	for _, h := range []string{"<linux/sched.h>", "<linux/fs.h>", "<net/tcp_states.h>", "<linux/socket.h>", "<linux/skbuff.h>"} {
		if err := p.Include(h, "."); err != nil {
			t.Errorf("#include %s: %v", h, err)
		}
	}
	// Values that have not changed in years, from kernel-only headers and
	// from the UAPI headers they include in turn.
	for name, want := range map[string]int64{
		"TASK_RUNNING": 0, "TASK_INTERRUPTIBLE": 1, "TASK_UNINTERRUPTIBLE": 2, // linux/sched.h
		"PF_KTHREAD": 0x00200000, "FMODE_READ": 1, "FMODE_WRITE": 2, // ((__force fmode_t)0x2)
		"TCP_ESTABLISHED": 1, "AF_INET": 2, "AF_INET6": 10, "SOCK_STREAM": 1,
		"S_IFREG": 0o100000, "MAX_ERRNO": 4095, "O_RDONLY": 0,
	} {
		if got, ok := p.Int(name); !ok || got != want {
			t.Errorf("%s = %d (%v), want %d", name, got, ok, want)
		}
	}
}

// kernelHeaderRelease is the running kernel's release when its header tree
// is installed, else any release that has one ("" when none has).
func kernelHeaderRelease() string {
	has := func(rel string) bool {
		return rel != "" && (System{Release: rel}).kernelDirs() != nil
	}
	if rel := Release(); has(rel) {
		return rel
	}
	dirs, _ := filepath.Glob("/lib/modules/*")
	for _, d := range dirs {
		if rel := filepath.Base(d); has(rel) {
			return rel
		}
	}
	return ""
}

// TestLogicalLinesUnterminated: a quote left open, even by a backslash at
// the very end, runs to the end of its line or of the text (found by
// FuzzCompile: `#"\` read past the end).
func TestLogicalLinesUnterminated(t *testing.T) {
	for src, want := range map[string][]string{
		`#"\`:             {`#"\`},
		"#define A \"x\\": {`#define A "x\`},
		"#'a\nB":          {"#'a", "B"},
		`#"a\"b" c`:       {`#"a\"b" c`},
	} {
		if got := logicalLines(src); !slices.Equal(got, want) {
			t.Errorf("logicalLines(%q) = %q, want %q", src, got, want)
		}
	}
}
