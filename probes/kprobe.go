package probes

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
)

// kprobe/kretprobe: any kernel function by name (kprobe:func,
// kprobe:module:func, kprobe:func+offset), wildcards from the kernel's
// traceable functions. Arguments are arg0..arg5 from pt_regs; casts like
// (struct usb_device *)arg0 type them through BTF.
func init() {
	for _, ret := range []bool{false, true} {
		name, alias := "kprobe", "k"
		if ret {
			name, alias = "kretprobe", "kr"
		}
		register(&Provider{
			Name:     name,
			Aliases:  []string{alias},
			ProgType: ebpf.Kprobe,
			Expand:   func(env *Env, parts []string) ([]Point, error) { return expandKprobe(env, name, parts) },
			Context: func(env *Env, p Point) (*Context, error) {
				c := uprobeContext(Point{Target: []string{"", p.Target[len(p.Target)-1]}}, ret)
				c.UserPtrs = false
				if !ret && len(p.Multi) == 0 {
					// Reached through ResolveOverride, which checked the target.
					c.Override = OverrideHelper
				}
				if len(p.Multi) > 0 {
					// One program for many functions: func is found at run time.
					delete(c.Strings, "func")
					c.Builtins = append(c.Builtins, Field{Name: "func", Size: 8, Conv: ConvFuncIP})
				}
				return c, nil
			},
			AttachTypeFor: func(p Point) ebpf.AttachType {
				if len(p.Multi) > 0 {
					return ebpf.AttachTraceKprobeMulti
				}
				return ebpf.AttachNone
			},
			Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
				if len(p.Multi) > 0 {
					opts := link.KprobeMultiOptions{Symbols: p.Multi}
					if ret {
						return link.KretprobeMulti(prog, opts)
					}
					return link.KprobeMulti(prog, opts)
				}
				target := p.Target[len(p.Target)-1]
				if p.Symbol != "" {
					target = p.Symbol
				}
				sym, off := splitOffset(target)
				opts := &link.KprobeOptions{Offset: off}
				if ret {
					return link.Kretprobe(sym, prog, opts)
				}
				return link.Kprobe(sym, prog, opts)
			},
		})
	}
}

// ErrNoKprobes says the kernel cannot attach kprobes.
var ErrNoKprobes = errors.New("kprobes are not available: " + whyNoKprobes)

// Why kprobes and trampolines do not work, as the errors and --info say it.
const (
	whyNoKprobes     = "this kernel was built without CONFIG_KPROBES"
	whyNoTrampolines = "this kernel cannot attach BPF trampolines (ftrace is unavailable)"
)

// HaveKprobes reports whether the kernel has kprobes (tracefs's
// kprobe_events or the kprobe PMU).
func (e *Env) HaveKprobes() bool {
	for _, p := range []string{filepath.Join(e.tracefs(), "kprobe_events"), e.pmuPath("kprobe")} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func splitOffset(s string) (string, uint64) {
	sym, off, ok := strings.Cut(s, "+")
	if !ok {
		return s, 0
	}
	n, _ := strconv.ParseUint(off, 0, 64)
	return sym, n
}

func expandKprobe(env *Env, provider string, parts []string) ([]Point, error) {
	if len(parts) < 1 || len(parts) > 2 || parts[len(parts)-1] == "" {
		return nil, errorf("%s needs a function: %s:FUNCTION or %s:MODULE:FUNCTION", provider, provider, provider)
	}
	if !env.HaveKprobes() {
		return nil, ErrNoKprobes
	}
	fn := parts[len(parts)-1]
	if !HasWildcard(fn) {
		name, off, _ := strings.Cut(fn, "+")
		module := ""
		if len(parts) == 2 {
			module = parts[0]
		}
		sym, err := env.resolveKernelFunction(module, name)
		if err != nil {
			return nil, err
		}
		p := Point{Provider: provider, Target: parts}
		if sym != name {
			p.Symbol = sym
			if off != "" {
				p.Symbol += "+" + off
			}
		}
		return []Point{p}, nil
	}
	funcs, err := env.KernelFunctions()
	if err != nil {
		return nil, err
	}
	var out []Point
	var names []string
	for _, f := range funcs {
		if ok, _ := path.Match(fn, f.Name); ok && (len(parts) == 1 || parts[0] == "*" || parts[0] == f.Module || parts[0] == "vmlinux" && f.Module == "") {
			out = append(out, Point{Provider: provider, Target: []string{f.Name}})
			names = append(names, f.Name)
		}
	}
	if len(out) == 0 {
		return nil, missingf("no kernel function matches %q", fn)
	}
	if len(out) > 1 && features.HaveBPFLinkKprobeMulti() == nil {
		// One program and one link for every match (kprobe_multi).
		return []Point{{Provider: provider, Target: parts, Multi: names}}, nil
	}
	return out, nil
}

// KernelFunction is a traceable kernel function and its module ("" for vmlinux).
type KernelFunction struct{ Name, Module string }

// KernelFunctions lists traceable functions (available_filter_functions,
// else kallsyms text symbols).
func (e *Env) KernelFunctions() ([]KernelFunction, error) {
	seen := map[KernelFunction]bool{}
	var out []KernelFunction
	add := func(kf KernelFunction) {
		if !seen[kf] {
			seen[kf] = true
			out = append(out, kf)
		}
	}
	if err := e.filterFunctions(add); err != nil {
		err = e.KernelSymbols(func(s KernelSymbol) {
			if s.Type == 't' || s.Type == 'T' {
				add(KernelFunction{Name: s.Name, Module: s.Module})
			}
		})
		if err != nil {
			return nil, errorf("cannot list kernel functions: %v", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// filterFunctions reads tracefs's available_filter_functions:
// "name [module]" a line.
func (e *Env) filterFunctions(fn func(KernelFunction)) error {
	f, err := os.Open(filepath.Join(e.tracefs(), "available_filter_functions"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 1 {
			continue
		}
		kf := KernelFunction{Name: fields[0]}
		if len(fields) > 1 {
			kf.Module = strings.Trim(fields[1], "[]")
		}
		fn(kf)
	}
	return nil
}

// fentry/fexit (old names kfunc/kretfunc): BPF trampolines on kernel
// functions with BTF-typed arguments (args.NAME) and, for fexit, retval.
func init() {
	for _, exit := range []bool{false, true} {
		name, aliases := "fentry", []string{"f", "kfunc"}
		attach := ebpf.AttachTraceFEntry
		if exit {
			name, aliases, attach = "fexit", []string{"fr", "kretfunc"}, ebpf.AttachTraceFExit
		}
		register(&Provider{
			Name:       name,
			Aliases:    aliases,
			ProgType:   ebpf.Tracing,
			AttachType: attach,
			Expand: func(env *Env, parts []string) ([]Point, error) {
				if len(parts) < 1 || len(parts) > 2 || parts[len(parts)-1] == "" {
					return nil, errorf("%s needs a function: %s:FUNCTION or %s:MODULE:FUNCTION", name, name, name)
				}
				if HasWildcard(parts[len(parts)-1]) {
					return nil, errorf("not supported yet: wildcards in %s probes", name)
				}
				if !env.HaveTrampolines() {
					return nil, ErrNoTrampolines
				}
				return []Point{{Provider: name, Target: parts}}, nil
			},
			Context:  func(env *Env, p Point) (*Context, error) { return fentryContext(env, p, exit) },
			AttachTo: func(p Point) string { return p.Target[len(p.Target)-1] },
			Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
				l, err := link.AttachTracing(link.TracingOptions{Program: prog})
				if err != nil && errors.Is(err, os.ErrPermission) {
					return nil, errorf("%s:%s: BPF trampolines are not available on this kernel (%v)", name, p.Target[len(p.Target)-1], err)
				}
				return l, err
			},
		})
	}
}

// ErrNoTrampolines says the kernel cannot attach fentry/fexit programs.
var ErrNoTrampolines = errors.New("fentry/fexit are not available: " + whyNoTrampolines)

// HaveTrampolines reports whether BPF trampolines can work: they are built
// on ftrace, whose function list is readable when it is enabled.
func (e *Env) HaveTrampolines() bool {
	f, err := os.Open(filepath.Join(e.tracefs(), "available_filter_functions"))
	if err != nil {
		return false
	}
	defer f.Close()
	var b [1]byte
	n, _ := f.Read(b[:])
	return n == 1
}

// FuncProto finds a kernel function's BTF prototype in vmlinux or, for
// MODULE:FUNCTION, the module's BTF.
func (e *Env) FuncProto(module, name string) (*btf.FuncProto, error) {
	spec, err := e.KernelBTF()
	if err != nil {
		return nil, err
	}
	if module != "" && module != "vmlinux" {
		if spec, err = e.moduleBTF(module); err != nil {
			return nil, errorf("BTF of module %s: %v", module, err)
		}
	}
	var fn *btf.Func
	if err := spec.TypeByName(name, &fn); err != nil {
		if module != "" || e.FindType(name, &fn) != nil {
			return nil, missingf("function %s not found in kernel or module BTF", name)
		}
	}
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return nil, errorf("unexpected BTF for %s", name)
	}
	return proto, nil
}

func fentryContext(env *Env, p Point, exit bool) (*Context, error) {
	module := ""
	if len(p.Target) == 2 {
		module = p.Target[0]
	}
	name := p.Target[len(p.Target)-1]
	proto, err := env.FuncProto(module, name)
	if err != nil {
		return nil, err
	}
	c := &Context{Strings: map[string]string{"func": name}}
	for i, prm := range proto.Params {
		c.Args = append(c.Args, Field{Name: prm.Name, Offset: 8 * i, Size: 8, BTF: prm.Type})
		c.Builtins = append(c.Builtins, Field{Name: "arg" + strconv.Itoa(i), Offset: 8 * i, Size: 8})
	}
	if exit {
		c.Builtins = append(c.Builtins, Field{Name: "retval", Offset: 8 * len(proto.Params), Size: 8, BTF: proto.Return})
	}
	return c, nil
}
