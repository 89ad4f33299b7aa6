//go:build !amd64

package probes

// Elsewhere bpfsh knows no syscall numbers: syscall tracepoints attach
// one by one.
var syscallNumbers map[string]int

var syscallArgRegs []string
