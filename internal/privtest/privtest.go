// Package privtest decides whether a test that needs the kernel (root and a
// working bpf(2)) may run. Such a test calls Require first: without the
// privileges it is skipped, unless BPFSH_REQUIRE_PRIV=1 (set by CI), where a
// skip would hide a regression and so it fails instead.
package privtest

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EnvRequire names the environment variable that turns skips into failures.
const EnvRequire = "BPFSH_REQUIRE_PRIV"

var (
	once   sync.Once
	reason string // why privileged tests cannot run; "" when they can
)

// Enabled reports whether privileged tests can run here: the effective user is
// root and the kernel lets us create a BPF map.
func Enabled() bool {
	once.Do(probe)
	return reason == ""
}

// Reason says why Enabled is false ("" when it is true).
func Reason() string {
	once.Do(probe)
	return reason
}

// Required reports whether BPFSH_REQUIRE_PRIV=1 is set.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Require skips t when privileged tests cannot run here, or fails it when
// BPFSH_REQUIRE_PRIV=1.
func Require(t testing.TB) {
	t.Helper()
	if Enabled() {
		return
	}
	if Required() {
		t.Fatalf("privileged test cannot run (%s) and %s=1", Reason(), EnvRequire)
	}
	t.Skipf("skipping privileged test: %s (set %s=1 to fail instead)", Reason(), EnvRequire)
}

func probe() {
	if os.Geteuid() != 0 {
		reason = fmt.Sprintf("not root (euid %d)", os.Geteuid())
		return
	}
	if err := createMap(); err != nil {
		reason = fmt.Sprintf("bpf(BPF_MAP_CREATE) failed: %v", err)
	}
}

// createMap creates and closes a one-element array map: the cheapest proof
// that bpf(2) works for us (not disabled, not filtered by seccomp).
func createMap() error {
	// struct bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size,
	// max_entries (all u32), then fields we leave zero.
	var attr [64]byte
	put := func(off int, v uint32) { *(*uint32)(unsafe.Pointer(&attr[off])) = v }
	put(0, unix.BPF_MAP_TYPE_ARRAY)
	put(4, 4) // key_size
	put(8, 8) // value_size
	put(12, 1)
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_MAP_CREATE, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if errno != 0 {
		return errno
	}
	unix.Close(int(fd))
	return nil
}

// Need skips a test whose prerequisite (a C compiler, kernel BTF) is
// missing, and fails it instead where privileged tests are required (CI),
// which installs every prerequisite.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if Required() {
		t.Fatalf("%s, and %s=1 forbids skipping", what, EnvRequire)
	}
	t.Skip(what)
}

// Tool returns the path of the command name, which the Debian package pkg
// provides; when it is missing the test skips, or fails where privileged
// tests are required (Need). make test's set-up installs every such package.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	Need(t, err == nil, fmt.Sprintf("%s is not installed (package %s: make test installs it as root on Debian and Ubuntu)", name, pkg))
	return path
}
