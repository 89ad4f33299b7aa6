package probes

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// rawtracepoint: a tracepoint without the perf record: its arguments are
// the tracepoint function's own, typed from BTF (btf_trace_NAME).
func init() {
	register(&Provider{
		Name:     "rawtracepoint",
		Aliases:  []string{"rt"},
		ProgType: ebpf.RawTracepoint,
		Expand:   expandRawTracepoint,
		Context:  rawTracepointContext,
		Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			return link.AttachRawTracepoint(link.RawTracepointOptions{Name: p.Target[0], Program: prog})
		},
	})
}

const btfTracePrefix = "btf_trace_"

func expandRawTracepoint(env *Env, parts []string) ([]Point, error) {
	// rawtracepoint:NAME, or rawtracepoint:MODULE:NAME (vmlinux or a
	// module with BTF, as bpftrace's; or, as older scripts write it, the
	// tracepoint's category). Names are global: the module only has to exist.
	if len(parts) == 0 || len(parts) > 2 || parts[len(parts)-1] == "" {
		return nil, errorf("rawtracepoint needs a name: rawtracepoint:NAME")
	}
	name := parts[len(parts)-1]
	if len(parts) == 2 && parts[0] != "" && !HasWildcard(parts[0]) && !env.rawModule(parts[0]) {
		return nil, missingf("no kernel module %q with raw tracepoints (no BTF at %s, no tracepoint category %s)",
			parts[0], env.sysPath("kernel", "btf", parts[0]), parts[0])
	}
	if !HasWildcard(name) {
		return []Point{{Provider: "rawtracepoint", Target: []string{name}}}, nil
	}
	names, err := env.RawTracepoints()
	if err != nil {
		return nil, err
	}
	var out []Point
	for _, n := range names {
		if ok, _ := path.Match(name, n); ok {
			out = append(out, Point{Provider: "rawtracepoint", Target: []string{n}})
		}
	}
	if len(out) == 0 {
		return nil, missingf("no raw tracepoint matches %q", name)
	}
	return out, nil
}

// rawModule reports whether m names where raw tracepoints are: vmlinux, a
// module with BTF, or a tracepoint category.
func (e *Env) rawModule(m string) bool {
	if m == "vmlinux" {
		return true
	}
	if _, err := e.moduleBTF(m); err == nil {
		return true
	}
	if tfs := e.tracefs(); tfs != "" {
		if st, err := os.Stat(filepath.Join(tfs, "events", m)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// RawTracepoints lists raw tracepoint names known to kernel BTF.
func (e *Env) RawTracepoints() ([]string, error) {
	return e.kernelNames(func(t btf.Type) (string, bool) {
		td, ok := t.(*btf.Typedef)
		if !ok || !strings.HasPrefix(td.Name, btfTracePrefix) {
			return "", false
		}
		return strings.TrimPrefix(td.Name, btfTracePrefix), true
	})
}

// TracepointProto returns the BTF prototype of a raw tracepoint's arguments
// (without the leading __data).
func (e *Env) TracepointProto(name string) ([]btf.FuncParam, error) {
	spec, err := e.KernelBTF()
	if err != nil {
		return nil, err
	}
	var td *btf.Typedef
	if err := spec.TypeByName(btfTracePrefix+name, &td); err != nil {
		if _, serr := os.Stat(e.sysPath("kernel", "tracing", "events")); serr == nil {
			return nil, missingf("raw tracepoint %q not found in kernel BTF", name)
		}
		return nil, missingf("raw tracepoint %q not found", name)
	}
	ptr, ok := btf.UnderlyingType(td.Type).(*btf.Pointer)
	if !ok {
		return nil, errorf("unexpected BTF for %s", td.Name)
	}
	proto, ok := btf.UnderlyingType(ptr.Target).(*btf.FuncProto)
	if !ok || len(proto.Params) == 0 {
		return nil, errorf("unexpected BTF for %s", td.Name)
	}
	// The typedef's prototype has no parameter names; the tracepoint's
	// __bpf_trace_ function, when it shares the name, has them, or else
	// (kernels whose BTF leaves that notrace function out, as 5.10's)
	// its __traceiter_ function (Linux 5.10).
	for _, prefix := range []string{"__bpf_trace_", "__traceiter_"} {
		var fn *btf.Func
		if err := spec.TypeByName(prefix+name, &fn); err == nil {
			if fp, ok := fn.Type.(*btf.FuncProto); ok && len(fp.Params) == len(proto.Params) {
				proto = fp
				break
			}
		}
	}
	params := append([]btf.FuncParam(nil), proto.Params[1:]...)
	for i := range params {
		if params[i].Name == "" {
			params[i].Name = "arg" + string(rune('0'+i))
		}
	}
	return params, nil
}

func rawTracepointContext(env *Env, p Point) (*Context, error) {
	params, err := env.TracepointProto(p.Target[0])
	if err != nil {
		return nil, err
	}
	c := &Context{}
	for i, prm := range params {
		f := Field{Name: prm.Name, Offset: 8 * i, Size: 8, BTF: prm.Type}
		c.Args = append(c.Args, f)
		c.Builtins = append(c.Builtins, Field{Name: "arg" + string(rune('0'+i)), Offset: 8 * i, Size: 8})
	}
	return c, nil
}
