package probes

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Entry is one probe as -l lists it: its full name and, with -lv, its
// arguments as C declarations. The completer reads the same entries, so
// what it offers is what -l prints.
type Entry struct {
	Name string
	Args []string
}

// List writes every probe matching pattern (a glob over full names such as
// "tracepoint:syscalls:sys_enter_*"; aliases allowed), one per line; with
// verbose, each probe's arguments follow, indented. What was found before
// an error is written too.
func List(env *Env, pattern string, verbose bool, w io.Writer) error {
	entries, err := Entries(env, pattern, verbose)
	for _, e := range entries {
		fmt.Fprintln(w, e.Name)
		for _, a := range e.Args {
			fmt.Fprintf(w, "    %s\n", a)
		}
	}
	return err
}

// Entries returns the probes List prints, in its order; with an error,
// those found before it.
func Entries(env *Env, pattern string, verbose bool) ([]Entry, error) {
	l := newLister(env, pattern, verbose)
	for _, step := range []func() error{
		l.tracepoints, l.rawTracepoints, l.perfEvents, l.timers, l.usb, l.kernelFuncs,
		l.lsmHooks, l.overridable, l.targetUSDT, l.usdt, l.uprobes,
	} {
		if err := step(); err != nil {
			return l.out, err
		}
	}
	return l.out, nil
}

// lister holds one pattern, split into its provider and the rest, and the
// entries found so far.
type lister struct {
	env         *Env
	pattern     string
	provider    string // the part before the first ':', an alias resolved; may be a glob
	rest        string
	hasProvider bool
	verbose     bool
	out         []Entry
}

func newLister(env *Env, pattern string, verbose bool) *lister {
	if pattern == "" {
		pattern = "*"
	}
	l := &lister{env: env, pattern: pattern, verbose: verbose}
	l.provider, l.rest, l.hasProvider = strings.Cut(pattern, ":")
	if l.hasProvider {
		if p, ok := Lookup(l.provider); ok {
			l.provider = p.Name
			l.pattern = l.provider + ":" + l.rest
		}
	}
	return l
}

func (l *lister) add(name string, args []string) {
	l.out = append(l.out, Entry{Name: name, Args: args})
}

// wants reports whether the pattern can match probes of a provider: a
// pattern without one matches them all.
func (l *lister) wants(provider string) bool {
	if !l.hasProvider {
		return true
	}
	ok, _ := path.Match(l.provider, provider)
	return ok
}

func (l *lister) match(name string) bool {
	ok, _ := path.Match(l.pattern, name)
	return ok
}

// fixed matches entries that stand for a family ("interval:ms:",
// "software:cpu-clock:"): they also match a full attach point such as
// "interval:ms:100".
func (l *lister) fixed(name string) bool {
	if l.match(name) || l.match(strings.TrimSuffix(name, ":")) {
		return true
	}
	parts := strings.SplitN(l.pattern, ":", 3)
	if len(parts) < 3 {
		return false
	}
	ok, _ := path.Match(parts[0]+":"+parts[1]+":", name)
	return ok
}

// tracepoints fails only when the pattern names a provider: listing
// everything on a machine without tracefs still lists the rest.
func (l *lister) tracepoints() error {
	if !l.wants("tracepoint") {
		return nil
	}
	pts, err := l.env.Tracepoints("*", "*")
	if err != nil {
		if l.hasProvider {
			return err
		}
		return nil
	}
	for _, p := range pts {
		name := p.String()
		if !l.match(name) {
			continue
		}
		var args []string
		if l.verbose {
			if c, err := tracepointContext(l.env, p); err == nil {
				for _, f := range c.Args {
					args = append(args, fieldDecl(f))
				}
			}
		}
		l.add(name, args)
	}
	return nil
}

func (l *lister) rawTracepoints() error {
	if !l.wants("rawtracepoint") {
		return nil
	}
	names, err := l.env.RawTracepoints()
	if err != nil {
		return nil
	}
	for _, n := range names {
		if name := "rawtracepoint:" + n; l.match(name) {
			var args []string
			if l.verbose {
				params, _ := l.env.TracepointProto(n)
				args = paramDecls(params)
			}
			l.add(name, args)
		}
	}
	return nil
}

// perfEvents lists the software and hardware events by name and alias.
func (l *lister) perfEvents() error {
	for _, pe := range []struct {
		provider string
		events   []softwareEvent
	}{{"software", softwareEvents}, {"hardware", hardwareEvents}} {
		if !l.wants(pe.provider) {
			continue
		}
		for _, e := range pe.events {
			for _, n := range []string{e.name, e.alias} {
				if name := pe.provider + ":" + n + ":"; n != "" && l.fixed(name) {
					l.add(name, nil)
				}
			}
		}
	}
	return nil
}

func (l *lister) timers() error {
	for _, timer := range []string{"interval", "profile"} {
		if !l.wants(timer) {
			continue
		}
		for _, unit := range []string{"hz", "us", "ms", "s"} {
			if name := timer + ":" + unit + ":"; l.fixed(name) {
				l.add(name, nil)
			}
		}
	}
	return nil
}

// kernelFuncs lists the kernel functions each function provider can
// attach to; only a pattern that names a provider lists them, as there are
// tens of thousands.
func (l *lister) kernelFuncs() error {
	if !l.hasProvider {
		return nil
	}
	for _, kind := range []string{"kprobe", "kretprobe", "fentry", "fexit", "fmod_ret"} {
		if !l.wants(kind) {
			continue
		}
		if err := l.funcsAvailable(kind); err != nil {
			return err
		}
		funcs, err := l.env.KernelFunctions()
		if err != nil {
			return err
		}
		for _, f := range funcs {
			if kind == "fmod_ret" && !l.env.FmodRetAllowed(f.Name) {
				continue
			}
			name := kind + ":" + qualified(f)
			if l.match(name) || l.match(kind+":"+f.Name) {
				l.add(name, l.funcArgs(kind, f.Module, f.Name))
			}
		}
	}
	return nil
}

// funcsAvailable says why a function provider cannot attach on this kernel.
func (l *lister) funcsAvailable(kind string) error {
	switch kind {
	case "kprobe", "kretprobe":
		if !l.env.HaveKprobes() {
			return ErrNoKprobes
		}
	case "fentry", "fexit":
		if !l.env.HaveTrampolines() {
			return ErrNoTrampolines
		}
	default:
		if !l.env.HaveTrampolines() {
			return noTrampolines(kind)
		}
	}
	return nil
}

// funcArgs is what -lv shows for a kernel function: the typed parameters
// for the BTF-based providers (and fexit's retval), nothing for kprobes.
func (l *lister) funcArgs(kind, module, name string) []string {
	if !l.verbose || kind == "kprobe" || kind == "kretprobe" {
		return nil
	}
	proto, err := l.env.FuncProto(module, name)
	if err != nil {
		return nil
	}
	args := paramDecls(proto.Params)
	if kind == "fexit" {
		args = append(args, typeString(proto.Return)+" retval")
	}
	return args
}

func (l *lister) lsmHooks() error {
	if !l.hasProvider || !l.wants("lsm") {
		return nil
	}
	if !l.env.HaveTrampolines() {
		return noTrampolines("lsm")
	}
	hooks, err := l.env.LSMHooks()
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if name := "lsm:" + h; l.match(name) {
			l.add(name, l.funcArgs("lsm", "", "bpf_lsm_"+h))
		}
	}
	return nil
}

// overridable answers "override:PATTERN", which is not a probe type: the
// functions whose return value override() can replace, as the probe that
// would do it.
func (l *lister) overridable() error {
	if !l.hasProvider || l.provider != "override" {
		return nil
	}
	names, err := l.env.Overridable()
	if err != nil {
		return err
	}
	for _, n := range names {
		kind, fn, _ := strings.Cut(n, ":")
		_, bare, _ := strings.Cut(fn, ":")
		if !l.match("override:"+fn) && (bare == "" || !l.match("override:"+bare)) {
			continue
		}
		var args []string
		if kind == "fmod_ret" {
			mod, name, ok := strings.Cut(fn, ":")
			if !ok {
				mod, name = "", fn
			}
			args = l.funcArgs(kind, mod, name)
		}
		l.add(n, args)
	}
	return nil
}

// targetUSDT adds, for -l -p PID without a provider, the process's usdt
// probes.
func (l *lister) targetUSDT() error {
	if l.hasProvider || l.env.TargetPID == 0 {
		return nil
	}
	names, err := usdtNames(l.env, "", "*")
	if err != nil {
		return nil
	}
	for _, n := range names {
		if l.pattern == "*" || l.match(n) {
			l.add(n, nil)
		}
	}
	return nil
}

func (l *lister) usdt() error {
	if !l.hasProvider || l.provider != "usdt" {
		return nil
	}
	bin, spec, _ := strings.Cut(l.rest, ":")
	names, err := usdtNames(l.env, bin, spec)
	for _, n := range names {
		l.add(n, nil)
	}
	return err
}

func (l *lister) uprobes() error {
	if !l.hasProvider || l.provider != "uprobe" && l.provider != "uretprobe" {
		return nil
	}
	bin, sym, _ := strings.Cut(l.rest, ":")
	file, err := ResolveBinary(bin)
	if err != nil {
		return err
	}
	if sym == "" {
		sym = "*"
	}
	syms, err := FuncSymbols(file)
	if err != nil {
		return err
	}
	for _, s := range syms {
		if ok, _ := path.Match(sym, s); ok {
			l.add(l.provider+":"+file+":"+s, nil)
		}
	}
	return nil
}

// paramDecls renders typed parameters as C declarations (-lv).
func paramDecls(params []btf.FuncParam) []string {
	var out []string
	for _, prm := range params {
		out = append(out, typeString(prm.Type)+" "+prm.Name)
	}
	return out
}

func fieldDecl(f Field) string {
	t := f.CType
	if f.DataLoc {
		t = "__data_loc " + t + "[]"
	}
	if f.Elems > 0 {
		return fmt.Sprintf("%s %s[%d]", t, f.Name, f.Elems)
	}
	return t + " " + f.Name
}

// typeString renders a BTF type as C.
func typeString(t btf.Type) string {
	switch u := t.(type) {
	case nil, *btf.Void:
		return "void"
	case *btf.Pointer:
		return typeString(u.Target) + " *"
	case *btf.Const:
		return "const " + typeString(u.Type)
	case *btf.Volatile:
		return "volatile " + typeString(u.Type)
	case *btf.Struct:
		return "struct " + u.Name
	case *btf.Union:
		return "union " + u.Name
	case *btf.Enum:
		return "enum " + u.Name
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", typeString(u.Type), u.Nelems)
	}
	return t.TypeName()
}

// ListType writes a C definition of a kernel struct or union ("struct
// task_struct", "union bpf_attr"; glob-free) from BTF, prefixed with where
// the type lives, as bpftrace's -lv does.
func ListType(env *Env, decl string, w io.Writer) error {
	kind, name, _ := strings.Cut(strings.TrimSpace(decl), " ")
	name = strings.TrimSpace(name)
	var members []btf.Member
	switch kind {
	case "struct":
		var st *btf.Struct
		if err := env.FindType(name, &st); err != nil {
			return err
		}
		members = st.Members
	case "union":
		var un *btf.Union
		if err := env.FindType(name, &un); err != nil {
			return err
		}
		members = un.Members
	default:
		return errorf("%q: -l lists struct and union definitions as 'struct NAME'", decl)
	}
	fmt.Fprintf(w, "vmlinux: %s %s {\n", kind, name)
	for _, m := range members {
		fmt.Fprintf(w, "    %s;\n", memberDecl(m))
	}
	fmt.Fprintln(w, "};")
	return nil
}

func memberDecl(m btf.Member) string {
	t := btf.UnderlyingType(m.Type)
	if a, ok := t.(*btf.Array); ok {
		return fmt.Sprintf("%s %s[%d]", typeString(a.Type), m.Name, a.Nelems)
	}
	d := typeString(m.Type)
	if m.Name != "" {
		d += " " + m.Name
	}
	if m.BitfieldSize > 0 {
		d += fmt.Sprintf(" : %d", m.BitfieldSize)
	}
	return d
}
