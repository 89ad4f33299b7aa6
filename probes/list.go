package probes

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// List writes every probe matching pattern (a glob over full names such as
// "tracepoint:syscalls:sys_enter_*"; aliases allowed), one per line; with
// verbose, each probe's arguments follow, indented.
func List(env *Env, pattern string, verbose bool, w io.Writer) error {
	if pattern == "" {
		pattern = "*"
	}
	provider, rest, hasProvider := strings.Cut(pattern, ":")
	if hasProvider {
		if p, ok := Lookup(provider); ok {
			provider = p.Name
			pattern = provider + ":" + rest
		}
	}
	wants := func(name string) bool {
		if !hasProvider {
			return true
		}
		ok, _ := path.Match(provider, name)
		return ok
	}
	match := func(name string) bool {
		ok, _ := path.Match(pattern, name)
		return ok
	}
	// Fixed entries ("interval:ms:", "software:cpu-clock:") also match a
	// full attach point such as "interval:ms:100".
	fixed := func(name string) bool {
		if match(name) || match(strings.TrimSuffix(name, ":")) {
			return true
		}
		parts := strings.SplitN(pattern, ":", 3)
		if len(parts) < 3 {
			return false
		}
		ok, _ := path.Match(parts[0]+":"+parts[1]+":", name)
		return ok
	}
	if wants("tracepoint") {
		pts, err := env.Tracepoints("*", "*")
		if err == nil {
			for _, p := range pts {
				if name := p.String(); match(name) {
					fmt.Fprintln(w, name)
					if verbose {
						if c, err := tracepointContext(env, p); err == nil {
							for _, f := range c.Args {
								fmt.Fprintf(w, "    %s\n", fieldDecl(f))
							}
						}
					}
				}
			}
		} else if hasProvider {
			return err
		}
	}
	if wants("rawtracepoint") {
		names, err := env.RawTracepoints()
		if err == nil {
			for _, n := range names {
				if name := "rawtracepoint:" + n; match(name) {
					fmt.Fprintln(w, name)
					if verbose {
						params, _ := env.TracepointProto(n)
						for _, prm := range params {
							fmt.Fprintf(w, "    %s %s\n", typeString(prm.Type), prm.Name)
						}
					}
				}
			}
		}
	}
	for _, pe := range []struct {
		provider string
		events   []softwareEvent
	}{{"software", softwareEvents}, {"hardware", hardwareEvents}} {
		if !wants(pe.provider) {
			continue
		}
		for _, e := range pe.events {
			for _, n := range []string{e.name, e.alias} {
				if name := pe.provider + ":" + n + ":"; n != "" && fixed(name) {
					fmt.Fprintln(w, name)
				}
			}
		}
	}
	for _, timer := range []string{"interval", "profile"} {
		if !wants(timer) {
			continue
		}
		for _, unit := range []string{"hz", "us", "ms", "s"} {
			if name := timer + ":" + unit + ":"; fixed(name) {
				fmt.Fprintln(w, name)
			}
		}
	}
	for _, kp := range []string{"kprobe", "kretprobe", "fentry", "fexit"} {
		if !wants(kp) || !hasProvider {
			continue
		}
		if (kp == "kprobe" || kp == "kretprobe") && !env.HaveKprobes() {
			return ErrNoKprobes
		}
		if (kp == "fentry" || kp == "fexit") && !env.HaveTrampolines() {
			return ErrNoTrampolines
		}
		funcs, err := env.KernelFunctions()
		if err != nil {
			return err
		}
		for _, f := range funcs {
			name := kp + ":" + f.Name
			if f.Module != "" {
				name = kp + ":" + f.Module + ":" + f.Name
			}
			if !match(name) && !match(kp+":"+f.Name) {
				continue
			}
			fmt.Fprintln(w, name)
			if verbose && (kp == "fentry" || kp == "fexit") {
				if proto, err := env.FuncProto(f.Module, f.Name); err == nil {
					for _, prm := range proto.Params {
						fmt.Fprintf(w, "    %s %s\n", typeString(prm.Type), prm.Name)
					}
					if kp == "fexit" {
						fmt.Fprintf(w, "    %s retval\n", typeString(proto.Return))
					}
				}
			}
		}
	}
	if hasProvider && wants("fmod_ret") {
		if !env.HaveTrampolines() {
			return noTrampolines("fmod_ret")
		}
		funcs, err := env.KernelFunctions()
		if err != nil {
			return err
		}
		for _, f := range funcs {
			name := "fmod_ret:" + qualified(f)
			if !env.FmodRetAllowed(f.Name) || !match(name) && !match("fmod_ret:"+f.Name) {
				continue
			}
			fmt.Fprintln(w, name)
			if verbose {
				listParams(w, env, f.Module, f.Name)
			}
		}
	}
	if hasProvider && wants("lsm") {
		if !env.HaveTrampolines() {
			return noTrampolines("lsm")
		}
		hooks, err := env.LSMHooks()
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if name := "lsm:" + h; match(name) {
				fmt.Fprintln(w, name)
				if verbose {
					listParams(w, env, "", "bpf_lsm_"+h)
				}
			}
		}
	}
	if hasProvider && provider == "override" {
		// Not a probe type: the functions whose return value override()
		// can replace, as the probe that would do it.
		names, err := env.Overridable()
		if err != nil {
			return err
		}
		for _, n := range names {
			kind, fn, _ := strings.Cut(n, ":")
			_, bare, _ := strings.Cut(fn, ":")
			if match("override:"+fn) || bare != "" && match("override:"+bare) {
				fmt.Fprintln(w, n)
				if verbose && kind == "fmod_ret" {
					mod, name, ok := strings.Cut(fn, ":")
					if !ok {
						mod, name = "", fn
					}
					listParams(w, env, mod, name)
				}
			}
		}
	}
	if !hasProvider && env.TargetPID != 0 {
		// -l -p PID: the process's usdt probes too.
		var b strings.Builder
		if err := ListUSDT(env, &b, "", "*"); err == nil {
			for _, l := range strings.SplitAfter(b.String(), "\n") {
				if l != "" && (pattern == "*" || match(strings.TrimSuffix(l, "\n"))) {
					fmt.Fprint(w, l)
				}
			}
		}
	}
	if hasProvider && provider == "usdt" {
		bin, spec, _ := strings.Cut(rest, ":")
		return ListUSDT(env, w, bin, spec)
	}
	if hasProvider && (provider == "uprobe" || provider == "uretprobe") {
		bin, sym, _ := strings.Cut(rest, ":")
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
				fmt.Fprintf(w, "%s:%s:%s\n", provider, file, s)
			}
		}
	}
	return nil
}

// listParams prints a kernel function's typed parameters (-lv).
func listParams(w io.Writer, env *Env, module, name string) {
	if proto, err := env.FuncProto(module, name); err == nil {
		for _, prm := range proto.Params {
			fmt.Fprintf(w, "    %s %s\n", typeString(prm.Type), prm.Name)
		}
	}
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
