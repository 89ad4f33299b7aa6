//go:build !amd64 && !arm64

package runtime

// syscallNames has no table for this architecture: syscall_name() prints
// numbers (scripts/gensyscalls.sh writes the tables).
var syscallNames, genericSyscallNames []string
