package privtest

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvSuite names the environment variable that points at a copy of
// bpftrace's runtime tests (the directory of its test files, tests/runtime
// in bpftrace's tree). No test reads anything outside the repository
// unless it is set; CI sets it.
const EnvSuite = "BPFSH_BPFTRACE_SUITE"

// SuiteDir returns the directory named by BPFSH_BPFTRACE_SUITE, or "" when
// the variable is unset. A set variable that names no directory of test
// files fails t: whoever set it expects the suite to be measured.
func SuiteDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvSuite)
	if dir == "" {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("%s=%s: %v", EnvSuite, dir, err)
	}
	if files, _ := filepath.Glob(filepath.Join(abs, "*")); len(files) == 0 {
		t.Fatalf("%s=%s: no bpftrace runtime tests there", EnvSuite, dir)
	}
	return abs
}

// RequireSuite returns bpftrace's runtime tests directory (SuiteDir); it
// skips t, naming the variable, when BPFSH_BPFTRACE_SUITE is unset.
func RequireSuite(t testing.TB) string {
	t.Helper()
	dir := SuiteDir(t)
	if dir == "" {
		t.Skipf("measures bpfsh against bpftrace's runtime tests: set %s=path/to/bpftrace/tests/runtime", EnvSuite)
	}
	return dir
}

// OptIn skips t unless the environment variable name is "1" (a measurement
// too long for every run).
func OptIn(t testing.TB, name, what string) {
	t.Helper()
	if os.Getenv(name) != "1" {
		t.Skipf("set %s=1 to %s", name, what)
	}
}

// Inapplicable skips t, whatever BPFSH_REQUIRE_PRIV says, because the
// running kernel is not the kind the test is about (a test of the messages
// for a missing feature, on a kernel that has it); reason says which, and
// where the feature is tested instead.
func Inapplicable(t testing.TB, reason string) {
	t.Helper()
	t.Skipf("not applicable on this kernel: %s", reason)
}
