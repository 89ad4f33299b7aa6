package probes

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestNotInBinary: a function a library does not define, but a library it
// loads does (glibc 2.34's libpthread.so.0 stub and libc.so.6), is named
// in the error's hint; a function nothing defines has none.
func TestNotInBinary(t *testing.T) {
	bin, err := ResolveBinary("libpthread.so.0")
	if err != nil {
		privtest.Inapplicable(t, "no libpthread.so.0 here")
	}
	if syms, err := FuncSymbols(bin); err != nil || slices.Contains(syms, "pthread_create") {
		privtest.Inapplicable(t, "libpthread.so.0 defines pthread_create here (glibc before 2.34)")
	}
	var m *MissingError
	if err := notInBinary("pthread_create", bin); !errors.As(err, &m) || !strings.Contains(m.Hint, "libc.so.6, which libpthread.so.0 loads, defines it") {
		t.Errorf("notInBinary(pthread_create) = %v (hint %q)", err, m.Hint)
	}
	if err := notInBinary("no_such_function_xyz", bin); !errors.As(err, &m) || m.Hint != "" || !Missing(err) {
		t.Errorf("notInBinary(no_such_function_xyz) = %v (hint %q)", err, m.Hint)
	}
}
