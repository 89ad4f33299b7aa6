package probes

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// TestKernelFeaturesFromBTF: what compiling asks of a kernel's BTF, here a
// 5.10-like one (bpf_func_id without BPF_FUNC_loop, no struct bpf_mem_alloc)
// and a 6.1-like one.
func TestKernelFeaturesFromBTF(t *testing.T) {
	old := kernelBTF(t, []string{"BPF_FUNC_unspec", "BPF_FUNC_map_lookup_elem", "BPF_FUNC_for_each_map_elem"}, "bpf_map_memory")
	newer := kernelBTF(t, []string{"BPF_FUNC_unspec", "BPF_FUNC_loop", "BPF_FUNC_ktime_get_tai_ns"}, "bpf_mem_alloc")
	for _, c := range []struct {
		env  *Env
		fn   asm.BuiltinFunc
		want bool
	}{
		{old, asm.FnLoop, false}, {old, asm.FnForEachMapElem, true}, {old, asm.FnKtimeGetTaiNs, false},
		{newer, asm.FnLoop, true}, {newer, asm.FnKtimeGetTaiNs, true},
		{&Env{BTFFile: newer.BTFFile, WithoutLoop: true}, asm.FnLoop, false},
		{&Env{BTFFile: filepath.Join(t.TempDir(), "none")}, asm.FnLoop, true}, // no BTF: the load decides
	} {
		if got := c.env.KernelHasHelper(c.fn); got != c.want {
			t.Errorf("%s: KernelHasHelper(%v) = %v, want %v", c.env.BTFFile, c.fn, got, c.want)
		}
	}
	if old.HasKernelStruct("bpf_mem_alloc") || !newer.HasKernelStruct("bpf_mem_alloc") || !old.HasKernelStruct("bpf_map_memory") {
		t.Error("HasKernelStruct does not tell the two kernels apart")
	}
}

// kernelBTF writes a BTF blob with enum bpf_func_id of funcs and an empty
// struct named strct, and returns an Env reading it.
func kernelBTF(t *testing.T, funcs []string, strct string) *Env {
	t.Helper()
	en := &btf.Enum{Name: "bpf_func_id", Size: 4}
	for i, f := range funcs {
		en.Values = append(en.Values, btf.EnumValue{Name: f, Value: uint64(i)})
	}
	return btfEnv(t, []btf.Type{en, &btf.Struct{Name: strct}})
}

// btfEnv writes a BTF blob of types and returns an Env whose kernel BTF it is.
func btfEnv(t *testing.T, types []btf.Type) *Env {
	t.Helper()
	var b btf.Builder
	for _, typ := range types {
		if _, err := b.Add(typ); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Env{BTFFile: file}
}
