package probes

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
)

// Probes that act on the kernel: their program's return value, or the
// bpf_override_return helper, replaces what a kernel function returns.
//
//	fmod_ret:FUNC  a BPF trampoline before FUNC; a program returning non-zero
//	               skips FUNC, which returns that value instead
//	lsm:HOOK       a BPF LSM program on a security hook (bpf_lsm_HOOK); a
//	               negative errno denies the operation
//
// The kernel lets a return value be replaced only on functions in its
// error-injection list (both mechanisms) and, for fmod_ret, on security_*
// functions and a few it marks modifiable itself: bpfsh checks the target
// before loading so that a refusal names the rule, not an errno.

// OverrideKind is how override() replaces a return value at a point.
type OverrideKind int

const (
	OverrideNone   OverrideKind = iota // override() is not possible here
	OverrideHelper                     // bpf_override_return(ctx, rc) from a kprobe
	OverrideReturn                     // the program's return value (fmod_ret, lsm)
)

func init() {
	register(&Provider{
		Name:       "fmod_ret",
		ProgType:   ebpf.Tracing,
		AttachType: ebpf.AttachModifyReturn,
		Expand:     expandFmodRet,
		Context: func(env *Env, p Point) (*Context, error) {
			c, err := fentryContext(env, p, false)
			if err != nil {
				return nil, err
			}
			c.Override = OverrideReturn
			if proto, _ := env.FuncProto(moduleOf(p), p.Target[len(p.Target)-1]); proto != nil {
				c.Returns = nonVoid(proto.Return)
			}
			return c, nil
		},
		AttachTo: func(p Point) string { return p.Target[len(p.Target)-1] },
		Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			l, err := link.AttachTracing(link.TracingOptions{Program: prog})
			if err != nil && errors.Is(err, os.ErrPermission) {
				return nil, errorf("fmod_ret:%s: BPF trampolines are not available on this kernel (%v)", p.Target[len(p.Target)-1], err)
			}
			return l, err
		},
	})
	register(&Provider{
		Name:       "lsm",
		ProgType:   ebpf.LSM,
		AttachType: ebpf.AttachLSMMac,
		Expand:     expandLSM,
		Context:    lsmContext,
		AttachTo:   func(p Point) string { return p.Target[0] },
		Attach: func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			l, err := link.AttachLSM(link.LSMOptions{Program: prog})
			if err != nil {
				if active, ok := activeLSMs(env); ok && !hasLSM(active, "bpf") {
					return nil, lsmNotActive(active)
				}
			}
			return l, err
		},
	})
}

func nonVoid(t btf.Type) btf.Type {
	if _, ok := t.(*btf.Void); ok {
		return nil
	}
	return t
}

func moduleOf(p Point) string {
	if len(p.Target) == 2 {
		return p.Target[0]
	}
	return ""
}

// noTrampolines says a trampoline-based probe type cannot work here.
func noTrampolines(provider string) error {
	return &NotSupportedError{What: provider + " probes are not available: " + whyNoTrampolines}
}

func expandFmodRet(env *Env, parts []string) ([]Point, error) {
	if len(parts) < 1 || len(parts) > 2 || parts[len(parts)-1] == "" {
		return nil, errorf("fmod_ret needs a function: fmod_ret:FUNCTION or fmod_ret:MODULE:FUNCTION")
	}
	fn := parts[len(parts)-1]
	if HasWildcard(fn) {
		return nil, errorf("not supported yet: wildcards in fmod_ret probes")
	}
	if !env.HaveTrampolines() {
		return nil, noTrampolines("fmod_ret")
	}
	if !env.FmodRetAllowed(fn) {
		return nil, env.notOverridable(fn)
	}
	return []Point{{Provider: "fmod_ret", Target: parts}}, nil
}

func expandLSM(env *Env, parts []string) ([]Point, error) {
	if len(parts) != 1 || parts[0] == "" {
		return nil, errorf("lsm needs a hook: lsm:HOOK, e.g. lsm:file_open (list them: bpfsh -l 'lsm:*')")
	}
	if HasWildcard(parts[0]) {
		return nil, errorf("not supported yet: wildcards in lsm probes")
	}
	if !env.HaveTrampolines() {
		return nil, noTrampolines("lsm")
	}
	if active, ok := activeLSMs(env); ok && !hasLSM(active, "bpf") {
		return nil, lsmNotActive(active)
	}
	return []Point{{Provider: "lsm", Target: parts}}, nil
}

func lsmNotActive(active []string) error {
	return &NotSupportedError{What: "lsm probes are not available: the BPF LSM is not active on this kernel (active: " +
		strings.Join(active, ",") + "; boot with lsm=" + strings.Join(append(active, "bpf"), ",") + ")"}
}

func lsmContext(env *Env, p Point) (*Context, error) {
	hook := p.Target[0]
	proto, err := env.FuncProto("", "bpf_lsm_"+hook)
	if err != nil {
		return nil, errorf("no LSM hook %q in this kernel (list them: bpfsh -l 'lsm:*')", hook)
	}
	c := &Context{Strings: map[string]string{"func": hook}, Override: OverrideReturn, Returns: nonVoid(proto.Return)}
	for i, prm := range proto.Params {
		c.Args = append(c.Args, Field{Name: prm.Name, Offset: 8 * i, Size: 8, BTF: prm.Type})
		c.Builtins = append(c.Builtins, Field{Name: "arg" + strconv.Itoa(i), Offset: 8 * i, Size: 8})
	}
	return c, nil
}

// activeLSMs lists the kernel's active LSMs (securityfs's lsm file); ok is
// false when it cannot be read (securityfs not mounted).
func activeLSMs(env *Env) ([]string, bool) {
	b, err := os.ReadFile(under(env.SecurityfsRoot, env.sysPath("kernel", "security"), []string{"lsm"}))
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.TrimSpace(string(b)), ","), true
}

func hasLSM(list []string, name string) bool {
	for _, l := range list {
		if l == name {
			return true
		}
	}
	return false
}

// fmodRetMarked are functions the kernel itself registers as modifiable
// (register_btf_fmodret_id_set), which no file lists: its BPF self-test
// targets, run through BPF_PROG_TEST_RUN.
var fmodRetMarked = map[string]bool{"bpf_modify_return_test": true, "bpf_modify_return_test2": true}

// ErrorInjectionList returns the functions in the kernel's error-injection
// list (debugfs's error_injection/list). A missing list on a mounted debugfs
// means the kernel has none (no CONFIG_FUNCTION_ERROR_INJECTION); note
// explains an unreadable one.
func (e *Env) ErrorInjectionList() (funcs map[string]bool, note string) {
	e.injOnce.Do(func() {
		root := e.debugfs()
		e.inj = map[string]bool{}
		f, err := os.Open(filepath.Join(root, "error_injection", "list"))
		if err != nil {
			if ents, _ := os.ReadDir(root); len(ents) == 0 {
				e.injNote = "debugfs is not mounted at " + root + ", so the error-injection list could not be read"
			}
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) > 0 {
				e.inj[fields[0]] = true
			}
		}
	})
	return e.inj, e.injNote
}

// FmodRetAllowed reports whether the kernel lets an fmod_ret program replace
// fn's return value (its check_attach_modify_return and fmodret id sets).
func (e *Env) FmodRetAllowed(fn string) bool {
	inj, _ := e.ErrorInjectionList()
	return inj[fn] || strings.HasPrefix(fn, "security_") || fmodRetMarked[fn]
}

// HaveOverrideHelper reports whether kprobe programs may call
// bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE).
func (e *Env) HaveOverrideHelper() bool {
	if e.OverrideHelper != nil {
		return *e.OverrideHelper
	}
	e.ovrOnce.Do(func() {
		e.ovr = e.HaveKprobes() && features.HaveProgramHelper(ebpf.Kprobe, asm.FnOverrideReturn) == nil
	})
	return e.ovr
}

// kprobeOverrideAllowed: bpf_override_return works on fn from a kprobe.
func (e *Env) kprobeOverrideAllowed(fn string) bool {
	inj, _ := e.ErrorInjectionList()
	return inj[fn] && e.HaveKprobes() && e.HaveOverrideHelper()
}

// NotOverridableError says the kernel would refuse to replace a function's
// return value.
type NotOverridableError struct {
	Func string
	Note string // why the error-injection list is unknown, if it is
}

func (e *NotOverridableError) Error() string {
	msg := "the kernel does not let BPF replace what " + e.Func + " returns: only functions in its " +
		"error-injection list and, with fmod_ret, security_* functions can be overridden; list them with: bpfsh -l '" +
		ListPattern(e.Func) + "'"
	if e.Note != "" {
		msg += " (" + e.Note + ")"
	}
	return msg
}

// ListPattern is the -l pattern that lists the overridable functions
// related to fn (override:*usb* for usb_new_device).
func ListPattern(fn string) string {
	for _, word := range strings.Split(fn, "_") {
		if len(word) >= 3 && !commonWords[word] {
			return "override:*" + word + "*"
		}
	}
	return "override:*"
}

// commonWords say little about what a function is about.
var commonWords = map[string]bool{"x64": true, "sys": true, "security": true, "ia32": true, "arm64": true}

func (e *Env) notOverridable(fn string) error {
	_, note := e.ErrorInjectionList()
	return &NotOverridableError{Func: fn, Note: note}
}

// ResolveOverride resolves the spec of a probe whose body calls override()
// and picks the mechanism: a kprobe stays a kprobe (bpf_override_return)
// where the kernel allows that for the function, else it and fentry become
// fmod_ret trampolines (same arguments, program return value). Other probe
// types resolve as usual; the compiler refuses override() in those that
// cannot replace a return value.
func ResolveOverride(env *Env, prov *Provider, parts []string) (*Provider, []Point, error) {
	if prov.Name != "kprobe" && prov.Name != "fentry" || len(parts) < 1 || len(parts) > 2 || parts[len(parts)-1] == "" {
		pts, err := prov.Expand(env, parts)
		return prov, pts, err
	}
	fn := parts[len(parts)-1]
	if HasWildcard(fn) {
		return nil, nil, errorf("not supported yet: wildcards in a probe that calls override(); name one function")
	}
	if sym, off := splitOffset(fn); off != 0 || sym != fn {
		return nil, nil, errorf("override() needs the function's entry: remove the offset from %s:%s", prov.Name, fn)
	}
	if prov.Name == "kprobe" && !env.HaveKprobes() && !env.HaveTrampolines() {
		return nil, nil, ErrNoKprobes
	}
	if prov.Name == "fentry" && !env.HaveTrampolines() {
		return nil, nil, ErrNoTrampolines
	}
	if !env.FmodRetAllowed(fn) {
		return nil, nil, env.notOverridable(fn)
	}
	if prov.Name == "kprobe" && env.kprobeOverrideAllowed(fn) {
		pts, err := prov.Expand(env, parts)
		return prov, pts, err
	}
	if !env.HaveTrampolines() {
		return nil, nil, &NotSupportedError{What: "override() is not possible on this kernel: it has neither bpf_override_return " +
			"(CONFIG_BPF_KPROBE_OVERRIDE, for functions in the error-injection list) nor BPF trampolines for fmod_ret (ftrace is unavailable)"}
	}
	fmod := registry["fmod_ret"]
	pts, err := fmod.Expand(env, parts)
	return fmod, pts, err
}

// Overridable lists the functions whose return value override() can
// replace here, each as the probe bpfsh would use: kprobe:FUNC where
// bpf_override_return works, fmod_ret:FUNC where a trampoline does.
func (e *Env) Overridable() ([]string, error) {
	tramp := e.HaveTrampolines()
	if !tramp && !(e.HaveKprobes() && e.HaveOverrideHelper()) {
		return nil, &NotSupportedError{What: "override() is not possible on this kernel: it has neither bpf_override_return " +
			"(CONFIG_BPF_KPROBE_OVERRIDE) nor BPF trampolines for fmod_ret (ftrace is unavailable)"}
	}
	funcs, err := e.KernelFunctions()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range funcs {
		if e.kprobeOverrideAllowed(f.Name) {
			out = append(out, "kprobe:"+qualified(f))
		}
		if tramp && e.FmodRetAllowed(f.Name) {
			out = append(out, "fmod_ret:"+qualified(f))
		}
	}
	return out, nil
}

func qualified(f KernelFunction) string {
	if f.Module != "" {
		return f.Module + ":" + f.Name
	}
	return f.Name
}

// nonHooks are bpf_lsm_* functions that are the BPF LSM's own code, not hooks.
var nonHooks = map[string]bool{
	"verify_prog": true, "func_proto": true, "find_cgroup_shim": true, "is_sleepable_hook": true,
	"is_trusted": true, "get_retval_range": true, "has_d_inode_locked": true, "hook_returns_errno": true,
}

// LSMHooks lists the kernel's LSM hooks a BPF LSM program can attach to.
func (e *Env) LSMHooks() ([]string, error) {
	return e.kernelNames(func(t btf.Type) (string, bool) {
		fn, ok := t.(*btf.Func)
		if !ok || !strings.HasPrefix(fn.Name, "bpf_lsm_") {
			return "", false
		}
		hook := fn.Name[len("bpf_lsm_"):]
		return hook, !nonHooks[hook]
	})
}
