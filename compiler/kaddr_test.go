package compiler

import (
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/probes"
)

// TestKaddr: kaddr() is checked against kallsyms when compiling and leaves
// the address to the loader: the object names the symbol to patch.
func TestKaddr(t *testing.T) {
	env := probes.Env{TracefsRoot: testEnv.TracefsRoot, SysfsRoot: testEnv.SysfsRoot, ProcRoot: "testdata/kallsyms",
		BTFFile: testEnv.BTFFile, Hz: testEnv.Hz, SkipCgroupCheck: true}
	obj, diags := compileWith(t, &env, false, `BEGIN { @a = kaddr("vfs_read"); @v = *kaddr("some_var"); }`)
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	var got []string
	for sym, kind := range obj.Patches {
		if kind == PatchKernelAddr {
			got = append(got, obj.KernelAddrs[sym])
		}
	}
	if strings.Join(got, " ") != "vfs_read some_var" && strings.Join(got, " ") != "some_var vfs_read" {
		t.Errorf("kernel address patches for %v, want vfs_read and some_var", got)
	}
	_, diags = compileWith(t, &env, false, `BEGIN { @a = kaddr("no_such_symbol"); }`)
	if want := `test.bt:1:20: error: kaddr(): no kernel symbol "no_such_symbol" in /proc/kallsyms`; !strings.Contains(diags.Format(), want) {
		t.Errorf("want %q, got\n%s", want, diags.Format())
	}
	addrs, err := env.KernelSymbolAddrs([]string{"vfs_read", "nope"})
	if err != nil || addrs["vfs_read"] != 0xffffffff816dbaf0 || len(addrs) != 1 {
		t.Errorf("KernelSymbolAddrs = %x, %v; want vmlinux's vfs_read only", addrs, err)
	}
}
