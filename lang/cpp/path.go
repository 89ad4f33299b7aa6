package cpp

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// System is where headers are on this machine, as bpftrace's clang looks
// for them: the -I directories first, then the running kernel's headers
// when installed (/lib/modules/RELEASE/build, and source when the tree is
// split), then /usr/local/include, the multiarch directory and
// /usr/include. root ("" for "/") prefixes every system directory
// (tests); release is the kernel's (uname -r).
type System struct {
	Root    string
	Release string
	IDirs   []string // -I DIR, in order
}

// New returns the preprocessor for s, with the predefined macros of a C
// compiler for this architecture, BPFTRACE_HAVE_BTF (types come from
// BTF) and __KERNEL__ when the kernel's headers are on the path.
func (s System) New() *Preprocessor {
	path := append([]string(nil), s.IDirs...)
	kdirs := s.kernelDirs()
	path = append(path, kdirs...)
	for _, d := range []string{"/usr/local/include", "/usr/include/" + multiarch(), "/usr/include"} {
		path = append(path, filepath.Join(s.root(), d))
	}
	predef := append([]string{"BPFTRACE_HAVE_BTF"}, archMacros()...)
	if len(kdirs) > 0 {
		predef = append(predef, "__KERNEL__", "__BPF_TRACING__")
	}
	return New(path, predef...)
}

func (s System) root() string {
	if s.Root == "" {
		return "/"
	}
	return s.Root
}

// kernelDirs are the kernel header directories of s.Release, nil when
// they are not installed.
func (s System) kernelDirs() []string {
	if s.Release == "" {
		return nil
	}
	obj := filepath.Join(s.root(), "lib/modules", s.Release, "build")
	src := filepath.Join(s.root(), "lib/modules", s.Release, "source")
	if st, err := os.Stat(filepath.Join(src, "include")); err != nil || !st.IsDir() {
		src = obj
	}
	if st, err := os.Stat(filepath.Join(src, "include")); err != nil || !st.IsDir() {
		return nil
	}
	arch := "arch/" + kernelArch()
	return []string{
		filepath.Join(src, arch, "include"), filepath.Join(obj, arch, "include/generated"),
		filepath.Join(src, "include"), filepath.Join(obj, "include"),
		filepath.Join(src, arch, "include/uapi"), filepath.Join(obj, arch, "include/generated/uapi"),
		filepath.Join(src, "include/uapi"), filepath.Join(obj, "include/generated/uapi"),
	}
}

// Release is the running kernel's release ("" when unknown).
func Release() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func multiarch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "aarch64-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	case "riscv64":
		return "riscv64-linux-gnu"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	case "s390x":
		return "s390x-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

func kernelArch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "arm64"
	case "arm":
		return "arm"
	case "riscv64":
		return "riscv"
	case "ppc64le":
		return "powerpc"
	case "s390x":
		return "s390"
	}
	return "x86"
}

// archMacros are what a C compiler predefines that headers test.
func archMacros() []string {
	m := []string{
		"__linux__", "__linux", "__unix__", "__unix", "__STDC__", "__STDC_VERSION__=201112L", "__STDC_HOSTED__",
		"__GNUC__=4", "__GNUC_MINOR__=2", "__GNUC_PATCHLEVEL__=1", "__clang__", "__CHAR_BIT__=8",
		"__ORDER_LITTLE_ENDIAN__=1234", "__ORDER_BIG_ENDIAN__=4321", "__ORDER_PDP_ENDIAN__=3412",
		"__BYTE_ORDER__=__ORDER_LITTLE_ENDIAN__", "__SIZEOF_SHORT__=2", "__SIZEOF_INT__=4",
		"__SIZEOF_LONG_LONG__=8", "__SIZEOF_LONG__=8", "__SIZEOF_POINTER__=8", "__LP64__", "_LP64",
	}
	switch runtime.GOARCH {
	case "arm64":
		m = append(m, "__aarch64__")
	case "riscv64":
		m = append(m, "__riscv", "__riscv_xlen=64")
	case "ppc64le":
		m = append(m, "__powerpc64__", "__PPC64__")
	case "s390x":
		m = append(m, "__s390x__", "__s390__", "__BYTE_ORDER__=__ORDER_BIG_ENDIAN__") // the last definition wins
	default:
		m = append(m, "__x86_64__", "__x86_64", "__amd64__", "__amd64")
	}
	return m
}
