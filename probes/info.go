package probes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// What bpfsh --info reports: the machine, and for each thing bpfsh relies on
// (probe types, helpers, map types, override mechanisms, attach modes,
// mounts) whether it works on this kernel and, when not, why. Each answer
// comes from asking the kernel (a probe load, a file that must exist), not
// from the kernel's version.

// InfoItem is one line of --info.
type InfoItem struct {
	Name string
	OK   bool
	// Detail says what it is (when it works) or what is missing.
	Detail string
}

// InfoSection is a titled group of InfoItems.
type InfoSection struct {
	Title string
	Items []InfoItem
}

// Helper is a kernel helper bpfsh's programs call: which construct needs it
// and the first Linux version that has it (for the message when it is
// missing). Program is a type that may call it, for the probe.
type Helper struct {
	Fn      asm.BuiltinFunc
	Program ebpf.ProgramType
	Needed  string
	Since   string
}

// Helpers lists the helpers whose absence changes what a script can do;
// those every kernel bpfsh runs on has (map lookups, pid, comm) are left out.
var Helpers = []Helper{
	{asm.FnProbeReadKernel, ebpf.TracePoint, "kernel memory reads", "5.5"},
	{asm.FnProbeReadKernelStr, ebpf.TracePoint, "str() of kernel memory", "5.5"},
	{asm.FnProbeReadUser, ebpf.TracePoint, "user memory reads", "5.5"},
	{asm.FnProbeReadUserStr, ebpf.TracePoint, "str() of user memory", "5.5"},
	{asm.FnRingbufOutput, ebpf.TracePoint, "printf() and every other output", "5.8"},
	{asm.FnKtimeGetBootNs, ebpf.TracePoint, "nsecs(boot)", "5.8"},
	{asm.FnGetCurrentCgroupId, ebpf.TracePoint, "cgroup", "4.18"},
	{asm.FnGetNsCurrentPidTgid, ebpf.TracePoint, "pid and tid inside a pid namespace", "5.7"},
	{asm.FnSendSignal, ebpf.TracePoint, "signal()", "5.3"},
	{asm.FnForEachMapElem, ebpf.TracePoint, "for ($kv : @map)", "5.13"},
	{asm.FnLoop, ebpf.TracePoint, "for ($i : a..b) with bounds known at run time", "5.17"},
	{asm.FnMapLookupPercpuElem, ebpf.TracePoint, "reading a per-CPU aggregation (count(), sum() ...) in a probe", "5.19"},
	{asm.FnKtimeGetTaiNs, ebpf.TracePoint, "nsecs(tai)", "6.1"},
	{asm.FnJiffies64, ebpf.TracePoint, "jiffies", "5.5"},
	{asm.FnThisCpuPtr, ebpf.TracePoint, "percpu_kaddr()", "5.10"},
	{asm.FnGetFuncIp, ebpf.Kprobe, "func in kprobes", "5.15"},
	{asm.FnOverrideReturn, ebpf.Kprobe, "override() from a kprobe", "4.16"},
	{asm.FnSeqPrintf, ebpf.Tracing, "iter probes", "5.7"},
	{asm.FnSetsockopt, ebpf.SockOps, "setsockopt() in sockops", "4.13"},
}

// mapTypes are the map types bpfsh creates, with what needs each.
var mapTypes = []struct {
	typ    ebpf.MapType
	needed string
}{
	{ebpf.Hash, "keyed maps"},
	{ebpf.PerCPUHash, "keyed count(), sum(), hist() ..."},
	{ebpf.Array, "scalar maps"},
	{ebpf.PerCPUArray, "scalar aggregations, scratch space"},
	{ebpf.LRUHash, "lruhash() map declarations"},
	{ebpf.StackTrace, "kstack, ustack"},
	{ebpf.RingBuf, "output"},
}

// Info describes what bpfsh can do on this machine.
func (e *Env) Info() []InfoSection {
	return []InfoSection{e.systemInfo(), e.probeInfo(), e.helperInfo(), mapInfo(), e.overrideInfo(), e.attachInfo(), e.mountInfo()}
}

// KernelRelease is the running kernel's release (uname -r).
func (e *Env) KernelRelease() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

// KernelBefore reports whether the running kernel's release is older than
// major.minor (false when the release does not parse).
func (e *Env) KernelBefore(major, minor int) bool {
	var maj, min int
	if n, _ := fmt.Sscanf(e.KernelRelease(), "%d.%d", &maj, &min); n != 2 {
		return false
	}
	return maj < major || maj == major && min < minor
}

func (e *Env) systemInfo() InfoSection {
	var u unix.Utsname
	unix.Uname(&u)
	s := InfoSection{Title: "System", Items: []InfoItem{
		{Name: "kernel", OK: true, Detail: unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Version[:])},
		{Name: "arch", OK: true, Detail: runtime.GOARCH},
	}}
	if _, err := e.KernelBTF(); err != nil {
		s.Items = append(s.Items, InfoItem{Name: "BTF", Detail: err.Error()})
	} else {
		mods, _ := filepath.Glob(e.sysPath("kernel", "btf", "*"))
		s.Items = append(s.Items, InfoItem{Name: "BTF", OK: true, Detail: "vmlinux and " + plural(len(mods)-1, "module")})
	}
	if hz, from := e.HZ(); hz > 0 {
		s.Items = append(s.Items, InfoItem{Name: "HZ", OK: true, Detail: strconv.Itoa(hz) + " (" + from + ")"})
	}
	return s
}

// probeInfo says which probe types attach here.
func (e *Env) probeInfo() InfoSection {
	s := InfoSection{Title: "Probe types"}
	for _, p := range canonical {
		why := e.probeMissing(p)
		s.Items = append(s.Items, InfoItem{Name: p.Name, OK: why == "", Detail: why})
	}
	return s
}

// probeMissing says what this machine lacks for probes of p ("" when none).
func (e *Env) probeMissing(p *Provider) string {
	switch p.Name {
	case "kprobe", "kretprobe":
		if !e.HaveKprobes() {
			return whyNoKprobes
		}
	case "fentry", "fexit", "fmod_ret":
		if !e.HaveTrampolines() {
			return whyNoTrampolines
		}
	case "lsm":
		if !e.HaveTrampolines() {
			return whyNoTrampolines
		}
		if active, ok := activeLSMs(e); ok && !hasLSM(active, "bpf") {
			return "the BPF LSM is not active (add bpf to the lsm= boot parameter)"
		}
	case "tracepoint":
		if _, err := os.Stat(e.eventsDir()); err != nil {
			return "tracefs is not mounted (bpfsh mounts it when run as root)"
		}
	case "uprobe", "uretprobe", "usdt":
		if !exists(e.pmuPath("uprobe")) {
			return "this kernel was built without CONFIG_UPROBE_EVENTS"
		}
	case "usb":
		if hubs, _ := filepath.Glob(e.sysPath("bus/usb/devices/usb*")); len(hubs) == 0 {
			return "no USB host controller (a kernel without CONFIG_USB, or none present)"
		}
	case "hardware":
		if !exists(e.pmuPath("cpu")) {
			return "no hardware performance counters (a virtual machine without a PMU)"
		}
	case "sockops":
		if _, err := e.Cgroup2Root(); err != nil {
			return err.Error()
		}
	case "iter":
		// The program type's own probe needs a trampoline; iterators do not.
		if !e.kernelEnumHas("bpf_attach_type", "BPF_TRACE_ITER") {
			return "this kernel has no BPF iterators (Linux 5.8)"
		}
		return ""
	}
	if p.ProgType == ebpf.UnspecifiedProgram {
		return ""
	}
	if err := features.HaveProgramType(p.ProgType); err != nil {
		return "the kernel cannot load " + p.ProgType.String() + " programs"
	}
	return ""
}

func (e *Env) helperInfo() InfoSection {
	s := InfoSection{Title: "Kernel helpers"}
	for _, h := range Helpers {
		it := InfoItem{Name: HelperName(h.Fn), OK: true, Detail: h.Needed}
		if err := e.haveHelper(h); err != nil {
			it.OK = false
			it.Detail = h.Needed + " needs it (Linux " + h.Since + ")"
			if !errors.Is(err, ebpf.ErrNotSupported) {
				it.Detail += ": " + err.Error()
			}
		}
		s.Items = append(s.Items, it)
	}
	return s
}

// haveHelper asks the kernel whether programs can call h: nil when they can.
func (e *Env) haveHelper(h Helper) error {
	if h.Program == ebpf.Tracing {
		// No probe loads a tracing program without a trampoline; the
		// iterators' helpers come with the iterators.
		if e.probeMissing(registry["iter"]) != "" {
			return ebpf.ErrNotSupported
		}
		return nil
	}
	return features.HaveProgramHelper(h.Program, h.Fn)
}

// HelperName is a helper's name as the kernel writes it: probe_read_kernel.
func HelperName(fn asm.BuiltinFunc) string {
	var b strings.Builder
	for i, r := range strings.TrimPrefix(fn.String(), "Fn") {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// attachInfo says how packet and cgroup programs attach: through BPF links
// where the kernel's bpf() knows them (its enums in BTF say so).
func (e *Env) attachInfo() InfoSection {
	item := func(name, enum, value, yes, no string) InfoItem {
		if e.kernelEnumHas(enum, value) && (name != "kprobe_multi" || e.HaveKprobes()) {
			return InfoItem{Name: name, OK: true, Detail: yes}
		}
		return InfoItem{Name: name, Detail: no}
	}
	return InfoSection{Title: "Attach modes", Items: []InfoItem{
		item("xdp link", "bpf_link_type", "BPF_LINK_TYPE_XDP", "XDP programs attach as links", "needs Linux 5.9 (xdp probes need it)"),
		item("tcx", "bpf_attach_type", "BPF_TCX_INGRESS", "tc programs attach as tcx links", "needs Linux 6.6 (tc programs attach as clsact filters)"),
		item("cgroup link", "bpf_link_type", "BPF_LINK_TYPE_CGROUP", "sockops programs attach as links", "needs Linux 5.7 (sockops programs attach with BPF_PROG_ATTACH)"),
		item("kprobe_multi", "bpf_attach_type", "BPF_TRACE_KPROBE_MULTI", "kprobe wildcards attach as one link", "needs kprobes and Linux 5.18 (wildcards attach one kprobe per function)"),
	}}
}

// KernelHasHelper reports whether the kernel knows helper fn, from its
// BTF's enum bpf_func_id (what compiling may consult: no program is
// loaded). Without that enum it answers true: the load says otherwise.
func (e *Env) KernelHasHelper(fn asm.BuiltinFunc) bool {
	if fn == asm.FnLoop && e.WithoutLoop {
		return false
	}
	spec, err := e.KernelBTF()
	var en *btf.Enum
	if err != nil || spec.TypeByName("bpf_func_id", &en) != nil {
		return true
	}
	return e.kernelEnumHas("bpf_func_id", "BPF_FUNC_"+HelperName(fn))
}

// HasKernelStruct reports whether vmlinux's BTF has a struct of that
// name, which tells the kernel's features apart without loading anything
// (false without BTF). Modules' BTF is not read: that costs seconds.
func (e *Env) HasKernelStruct(name string) bool {
	spec, err := e.KernelBTF()
	if err != nil {
		return false
	}
	var t *btf.Struct
	return spec.TypeByName(name, &t) == nil
}

// kernelEnumHas reports whether the kernel's BTF has the enum with that
// value: which bpf() commands, attach and link types the kernel knows.
func (e *Env) kernelEnumHas(enum, value string) bool {
	var en *btf.Enum
	if e.FindType(enum, &en) != nil {
		return false
	}
	for _, v := range en.Values {
		if v.Name == value {
			return true
		}
	}
	return false
}

func mapInfo() InfoSection {
	s := InfoSection{Title: "Map types"}
	for _, m := range mapTypes {
		it := InfoItem{Name: m.typ.String(), OK: true, Detail: m.needed}
		if features.HaveMapType(m.typ) != nil {
			it.OK = false
			it.Detail = m.needed + " need it"
		}
		s.Items = append(s.Items, it)
	}
	return s
}

// overrideInfo says which of override()'s mechanisms this kernel offers.
func (e *Env) overrideInfo() InfoSection {
	kp := InfoItem{Name: "bpf_override_return", OK: e.HaveKprobes() && e.HaveOverrideHelper(),
		Detail: "kprobes on functions in the error-injection list"}
	if !kp.OK {
		kp.Detail = "needs kprobes and CONFIG_BPF_KPROBE_OVERRIDE"
	}
	tr := InfoItem{Name: "fmod_ret", OK: e.HaveTrampolines(), Detail: "trampolines on error-injectable and security_* functions"}
	if !tr.OK {
		tr.Detail = "needs BPF trampolines (ftrace)"
	}
	lsm := InfoItem{Name: "BPF LSM", Detail: e.probeMissing(registry["lsm"])}
	lsm.OK = lsm.Detail == ""
	if lsm.OK {
		lsm.Detail = "lsm probes deny operations"
	}
	return InfoSection{Title: "Override mechanisms", Items: []InfoItem{kp, tr, lsm}}
}

// mountInfo says where the file systems bpfsh uses are.
func (e *Env) mountInfo() InfoSection {
	s := InfoSection{Title: "Mounts"}
	add := func(name string, ok bool, where, missing string) {
		it := InfoItem{Name: name, OK: ok, Detail: where}
		if !ok {
			it.Detail = missing
		}
		s.Items = append(s.Items, it)
	}
	_, err := os.Stat(e.eventsDir())
	add("tracefs", err == nil, e.tracefs(), "not mounted (bpfsh mounts it when run as root)")
	bpffs := e.sysPath("fs", "bpf")
	add("bpffs", isFS(bpffs, unix.BPF_FS_MAGIC), bpffs, "not mounted at "+bpffs+" (bpfsh mounts it for --pin as root)")
	root, err := e.Cgroup2Root()
	add("cgroup2", err == nil, root, "not mounted (sockops probes need it)")
	return s
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
