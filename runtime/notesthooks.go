//go:build !bpfsh_testhooks

package runtime

// injectPanic does nothing outside the tests' build (testhooks.go).
func injectPanic() {}
