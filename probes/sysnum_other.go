//go:build !amd64

package probes

// Elsewhere bpfsh knows no syscall numbers: syscall tracepoints attach
// one by one.
var syscallNumbers []sysnum

var syscallArgRegs []string
