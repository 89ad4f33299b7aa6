package main

import "runtime"

// BEGIN, END and self probes run in bpfsh's own context: on its main
// thread, as in bpftrace, so their tid is bpfsh's pid (1 when bpfsh is the
// first process of a pid namespace). The main goroutine stays on it.
func init() { runtime.LockOSThread() }
