// Package probes knows every kind of attach point bpfsh supports: how a
// probe spec is resolved into concrete points (wildcards, aliases), what the
// program's context looks like (as data, for the compiler), and how a loaded
// program is attached. One file per provider; this file holds the registry.
package probes

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// Point is one concrete attach point, after alias and wildcard resolution.
type Point struct {
	Provider string   // canonical provider name, e.g. "tracepoint"
	Target   []string // provider-specific parts, e.g. ["syscalls", "sys_enter_openat"]
	// Multi lists the functions one program attaches to at once (a kprobe
	// wildcard through kprobe_multi); Target then holds the pattern.
	Multi []string
	// Loc picks one location of a usdt probe (1 + its index among the
	// probe's notes): each location gets its own program, as their
	// arguments may live in different places.
	Loc int
	// Symbol is the kernel symbol a kprobe attaches to when it is not the
	// function the script names: its compiler-suffixed variant
	// (finish_task_switch.isra.0). The probe keeps the script's name.
	Symbol string
}

// String renders the point the way bpftrace names probes ("tracepoint:syscalls:sys_enter_openat").
func (p Point) String() string {
	if len(p.Target) == 0 {
		return p.Provider
	}
	return p.Provider + ":" + strings.Join(p.Target, ":")
}

// Field is one named value in a probe's context (for tracepoints, a field of
// the event record), described as data so code generation stays in the compiler.
type Field struct {
	Name    string
	CType   string // as the kernel spells it, e.g. "const char *"
	Offset  int
	Size    int      // bytes of the whole field (all elements for arrays)
	Signed  bool     //
	Ptr     bool     // a pointer (to CType without the '*')
	Elems   int      // > 0 for arrays: number of elements
	DataLoc bool     // __data_loc: u32 with offset (low 16 bits) and length (high 16 bits) of data in the record
	Char    bool     // element type is char: arrays, pointers and data_loc read as strings
	Conv    string   // how to convert the raw value (sockops: ConvBswap32, ...)
	BTF     btf.Type // the field's type when known from BTF (raw tracepoints, kprobes)
	Offset6 int      // ConvInetAddr: offset of the IPv6 form
	StrOff  int      // ConvUserStr: the string's offset in the block
	USDT    *USDTArg // ConvUSDT: where the argument lives
	// Regs: the value is at Offset in the struct pt_regs the context's
	// first word points to (a syscall's arguments, syscalls.go).
	Regs bool
}

// Context is what a program sees at a point.
type Context struct {
	Args []Field
	// UserPtrs says pointers in Args point into user memory (syscall arguments).
	UserPtrs bool
	// Syscalls is set when one program serves several syscalls'
	// tracepoints (syscalls.go).
	Syscalls *SyscallDispatch
	// PtRegs says ctx is the probed task's struct pt_regs (kprobes,
	// uprobes, usdt): reg() reads it.
	PtRegs bool
	// Builtins are context values a script names directly (sockops: op, lport, ...).
	Builtins []Field
	// Strings are names that stand for constant strings (func).
	Strings map[string]string
	// Consts are names that stand for integers in this context (TIMEOUT_INIT, ...).
	Consts map[string]int64
	// Reply is the writable result field (sockops' reply), nil when none.
	Reply *Field
	// Return is what the program returns when it ends normally.
	Return int32
	// CallbackFlags maps constant names to the callback flags that must be
	// enabled for the kernel to call the program with that op.
	CallbackFlags map[string]int64
	// Packet is set for programs that see packets (xdp, tc): see xdp.go.
	Packet *Packet
	// CtxType is the BTF type ctx points to (iter: struct bpf_iter__task).
	CtxType btf.Type
	// SeqFile: the program writes printf() output into the seq_file that
	// ctx->meta->seq points to, with bpf_seq_printf (iterators).
	SeqFile bool
	// Override is how override() replaces the function's return value here.
	Override OverrideKind
	// Returns is the BTF return type of the function or hook whose result
	// the program may replace (fmod_ret, lsm); nil for void.
	Returns btf.Type
	// tracepointID is the ID line of a tracepoint's format (0 when none):
	// attaching it needs no second read of tracefs.
	tracepointID uint64
}

// Builtin returns the named builtin field.
func (c *Context) Builtin(name string) (Field, bool) {
	for _, f := range c.Builtins {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Arg returns the named field.
func (c *Context) Arg(name string) (Field, bool) {
	for _, f := range c.Args {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Lifecycle says when a provider's programs run: the runtime, the
// compiler and --probe-filter decide by it, never by a provider's name.
type Lifecycle uint8

const (
	OnEvent  Lifecycle = iota // attached to kernel events (the default)
	AtBegin                   // once, before anything is attached (BEGIN)
	AtEnd                     // once, as the script ends (END)
	OnSignal                  // each time bpfsh receives SIGUSR1 (self)
	OnWalk                    // once, after BEGIN: the kernel walks its objects (iter)
	OnDevice                  // once per USB device or interface, to decide on it (usb)
)

// Once reports whether the programs run exactly once, at the start or end
// of the script: they are not attach points to filter, and exit() cannot
// have stopped them beforehand.
func (l Lifecycle) Once() bool { return l == AtBegin || l == AtEnd }

// Driven reports whether bpfsh runs the programs itself (through
// BPF_PROG_TEST_RUN) instead of attaching them: bpftrace calls these
// probes "special", and a pinned policy, which has no bpfsh process, cannot
// have them.
func (l Lifecycle) Driven() bool {
	return l == AtBegin || l == AtEnd || l == OnSignal || l == OnDevice
}

// Provider describes one probe type.
type Provider struct {
	Name    string
	Aliases []string
	// Runs is when the programs run.
	Runs Lifecycle
	// ProgType is the BPF program type generated for this provider.
	ProgType   ebpf.ProgramType
	AttachType ebpf.AttachType
	// Expand validates the spec's parts and resolves wildcards into points.
	Expand func(env *Env, parts []string) ([]Point, error)
	// Context describes a point's context; nil means there is none.
	Context func(env *Env, p Point) (*Context, error)
	// AttachTypeFor overrides AttachType for a point, nil when it does not vary.
	AttachTypeFor func(p Point) ebpf.AttachType
	// AttachTo names the kernel function a program is bound to at load
	// time (fentry/fexit), nil when none.
	AttachTo func(p Point) string
	// NewestFirst says the kernel runs the programs attached to one point
	// last-attached first (uprobes): they are attached in reverse so they
	// run in the script's order.
	NewestFirst bool
	// Attach attaches a loaded program to a point, on the machine env
	// describes. Nil for providers the runtime drives itself (BEGIN, END).
	Attach func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error)
}

// The providers register in init functions: sized for them all (and
// their aliases), the table is not rebuilt as it grows at every start.
var registry = make(map[string]*Provider, 64)
var canonical = make([]*Provider, 0, 32)

func register(p *Provider) {
	canonical = append(canonical, p)
	registry[p.Name] = p
	for _, a := range p.Aliases {
		registry[a] = p
	}
}

// Lookup finds a provider by name or alias.
func Lookup(name string) (*Provider, bool) {
	p, ok := registry[name]
	return p, ok
}

// Names lists canonical provider names with their aliases, sorted.
func Names() []string {
	var out []string
	for _, p := range canonical {
		out = append(out, p.Name)
		out = append(out, p.Aliases...)
	}
	sort.Strings(out)
	return out
}

// Env is the one way to the machine: providers, the compiler and the
// runtime read tracefs, sysfs, procfs, kernel BTF and the kernel's build
// configuration through it. Tests point its roots at captured copies.
type Env struct {
	TracefsRoot string // "/sys/kernel/tracing" by default
	// AutoMount mounts tracefs when it is needed and missing (root only);
	// Mounted, when set, is told of it.
	AutoMount bool
	Mounted   MountNotice
	// Hz is the kernel's CONFIG_HZ; 0 means find it on first use.
	Hz int
	// SkipCgroupCheck accepts any cgroup path (compiling without the kernel).
	SkipCgroupCheck bool
	// BTFFile is a BTF blob to use instead of the running kernel's.
	BTFFile string
	// DebugfsRoot and SecurityfsRoot are where debugfs (the error-injection
	// list) and securityfs (the active LSMs) are mounted; empty means
	// /sys/kernel/debug and /sys/kernel/security.
	DebugfsRoot    string
	SecurityfsRoot string
	// SysfsRoot is where sysfs is mounted ("" means /sys): the PMUs under
	// bus/event_source/devices, module BTF, online CPUs.
	SysfsRoot string
	// ProcRoot is where procfs is mounted ("" means /proc): kallsyms, the
	// mount table, processes' mappings.
	ProcRoot string
	// TargetPID (-p) limits uprobes and usdt probes to one process, whose
	// binaries usdt probes without one are looked up in; 0 means every
	// process.
	TargetPID int
	// OverrideHelper says whether kprobes may call bpf_override_return;
	// nil means ask the kernel.
	OverrideHelper *bool
	// WithoutLoop compiles as for a kernel without bpf_loop (before 5.17):
	// ranges as verifier-bounded loops. SystemEnv sets it from
	// BPFSH_WITHOUT_LOOP=1, so that tests prove that fallback on any kernel.
	WithoutLoop bool
	// PidNS is the pid namespace bpfsh runs in when it is not the initial
	// one: pid and tid are counted there, as bpftrace's (nil: initial).
	PidNS *PidNS

	mountOnce sync.Once
	btfOnce   sync.Once
	btf       *btf.Spec
	btfErr    error
	modOnce   sync.Once
	mods      []*btf.Spec
	injOnce   sync.Once
	inj       map[string]bool
	injNote   string
	ovrOnce   sync.Once
	ovr       bool
	ksymOnce  sync.Once
	ksymData  map[string]bool // kallsyms' variables
	textOnce  sync.Once
	text      []KernelFunction // kallsyms' functions by name (kfuncs.go)
	textRead  bool
	enumMu    sync.Mutex
	enumRaw   []byte // vmlinux's raw BTF, read by the first Enumerator
}

// SystemEnv reads the running kernel's files, mounting tracefs when it is
// needed and missing (as root).
func SystemEnv() *Env {
	e := &Env{AutoMount: true, WithoutLoop: os.Getenv("BPFSH_WITHOUT_LOOP") == "1"}
	e.TracefsRoot, e.PidNS = e.findTracefs(), e.currentPidNS()
	return e
}

// pmuPath is the sysfs directory of the perf PMU named name.
func (e *Env) pmuPath(name string) string {
	return e.sysPath("bus", "event_source", "devices", name)
}

// sysPath names a file under sysfs.
func (e *Env) sysPath(elem ...string) string { return under(e.SysfsRoot, "/sys", elem) }

// ProcPath names a file under procfs: ProcPath("self", "mountinfo").
func (e *Env) ProcPath(elem ...string) string { return under(e.ProcRoot, "/proc", elem) }

// under joins elem to root, or to def when root is empty.
func under(root, def string, elem []string) string {
	if root == "" {
		root = def
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// HasWildcard reports whether s contains glob characters.
func HasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }

// NotSupportedError says a feature is missing on this kernel or in bpfsh.
type NotSupportedError struct{ What string }

func (e *NotSupportedError) Error() string { return e.What }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// MissingError says an attach point names nothing that exists here (no
// such tracepoint, function or symbol): what bpftrace's missing_probes
// setting may turn into a warning or ignore.
type MissingError struct {
	msg  string
	Hint string // where the thing is instead, when known
}

func (e *MissingError) Error() string { return e.msg }

func missingf(format string, args ...any) error {
	return &MissingError{msg: fmt.Sprintf(format, args...)}
}

// Missing reports whether err says an attach point does not exist here,
// or needs what the kernel lacks.
func Missing(err error) bool {
	var m *MissingError
	return errors.As(err, &m) || KernelLacks(err)
}

// KernelLacks reports whether err says the running kernel lacks a feature
// (rather than that a script named something wrong).
func KernelLacks(err error) bool {
	var ns *NotSupportedError
	return errors.Is(err, ErrNoKprobes) || errors.Is(err, ErrNoTrampolines) || errors.As(err, &ns)
}

// KernelBTF returns the running kernel's BTF, loaded on first use (types are
// only parsed when a script needs one).
func (e *Env) KernelBTF() (*btf.Spec, error) {
	e.btfOnce.Do(func() {
		if e.BTFFile != "" {
			e.btf, e.btfErr = btf.LoadSpec(e.BTFFile)
			return
		}
		e.btf, e.btfErr = btf.LoadKernelSpec()
	})
	if e.btfErr != nil {
		return nil, errorf("kernel BTF is not available (%v): bpfsh needs /sys/kernel/btf/vmlinux for typed kernel data", e.btfErr)
	}
	return e.btf, nil
}

// kernelNames lists, sorted, what pick makes of the kernel's BTF types:
// the name to list, and whether the type is one to list.
func (e *Env) kernelNames(pick func(btf.Type) (string, bool)) ([]string, error) {
	spec, err := e.KernelBTF()
	if err != nil {
		return nil, err
	}
	var out []string
	for t, err := range spec.All() {
		if err != nil {
			return nil, err
		}
		if name, ok := pick(t); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// FindType looks a named type up in vmlinux's BTF, then in every loaded
// module's (struct urb lives in usbcore's), the way btf.Spec.TypeByName
// does: out is a pointer to a *btf.Struct, *btf.Typedef, *btf.Func, ...
func (e *Env) FindType(name string, out any) error {
	spec, err := e.KernelBTF()
	if err != nil {
		return err
	}
	if err := spec.TypeByName(name, out); err == nil {
		return nil
	}
	for _, m := range e.modules() {
		if err := m.TypeByName(name, out); err == nil {
			return nil
		}
	}
	return errorf("%s not found in kernel or module BTF", name)
}

// modules loads the BTF of every loaded module once.
func (e *Env) modules() []*btf.Spec {
	e.modOnce.Do(func() {
		ents, err := os.ReadDir(e.sysPath("kernel", "btf"))
		if err != nil {
			return
		}
		for _, ent := range ents {
			if ent.Name() == "vmlinux" {
				continue
			}
			if s, err := e.moduleBTF(ent.Name()); err == nil {
				e.mods = append(e.mods, s)
			}
		}
	})
	return e.mods
}

// moduleBTF loads a module's BTF, split from vmlinux's.
func (e *Env) moduleBTF(module string) (*btf.Spec, error) {
	if e.SysfsRoot == "" && e.BTFFile == "" {
		return btf.LoadKernelModuleSpec(module) // cached by the library
	}
	base, err := e.KernelBTF()
	if err != nil {
		return nil, err
	}
	return btf.LoadSplitSpec(e.sysPath("kernel", "btf", module), base)
}
