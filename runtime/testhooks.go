//go:build bpfsh_testhooks

package runtime

import "os"

// injectPanic is fault injection for the teardown test, in binaries built
// with -tags bpfsh_testhooks only (the tests' build): with
// BPFSH_INJECT_PANIC=attached, Run panics once the probes are attached, and
// cleanup must survive it. A released binary knows no such variable.
func injectPanic() {
	if os.Getenv("BPFSH_INJECT_PANIC") == "attached" {
		panic("injected panic after attaching")
	}
}
