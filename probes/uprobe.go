package probes

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// uprobe/uretprobe: a function in an executable or shared library, by ELF
// symbol. The program is a kprobe-type program reading x86-64 pt_regs.
func init() {
	for _, ret := range []bool{false, true} {
		name, alias := "uprobe", "u"
		if ret {
			name, alias = "uretprobe", "ur"
		}
		register(&Provider{
			Name:        name,
			Aliases:     []string{alias},
			ProgType:    ebpf.Kprobe,
			NewestFirst: true,
			Expand:      func(_ *Env, parts []string) ([]Point, error) { return expandUprobe(name, parts) },
			Context:     func(_ *Env, p Point) (*Context, error) { return uprobeContext(p, ret), nil },
			Attach: func(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
				ex, err := link.OpenExecutable(p.Target[0])
				if err != nil {
					return nil, err
				}
				opts := &link.UprobeOptions{PID: env.TargetPID}
				sym, off, addr, err := uprobeTarget(p)
				if err != nil {
					return nil, err
				}
				opts.Offset, opts.Address = off, addr
				if ret {
					return ex.Uretprobe(sym, prog, opts)
				}
				return ex.Uprobe(sym, prog, opts)
			},
		})
	}
}

// x86-64 struct pt_regs offsets of the argument and return registers.
var ptRegsArgs = []int{112, 104, 96, 88, 72, 64} // di, si, dx, cx, r8, r9

const ptRegsAX = 80

func uprobeContext(p Point, ret bool) *Context {
	c := &Context{UserPtrs: true, PtRegs: true, Strings: map[string]string{"func": uprobeFunc(p)}}
	if ret {
		c.Builtins = append(c.Builtins, Field{Name: "retval", Offset: ptRegsAX, Size: 8})
		return c
	}
	for i, off := range ptRegsArgs {
		c.Builtins = append(c.Builtins, Field{Name: "arg" + string(rune('0'+i)), Offset: off, Size: 8})
	}
	return c
}

func expandUprobe(provider string, parts []string) ([]Point, error) {
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, errorf("%s needs a binary and a function: %s:/path/to/binary:function", provider, provider)
	}
	bin, err := ResolveBinary(parts[0])
	if err != nil {
		return nil, err
	}
	if pt, ok, err := uprobeAt(provider, bin, parts[1]); ok {
		return pt, err
	}
	syms, err := FuncSymbols(bin)
	if err != nil {
		return nil, errorf("%s: %v", bin, err)
	}
	var out []Point
	for _, s := range syms {
		if ok, _ := path.Match(parts[1], s); ok {
			out = append(out, Point{Provider: provider, Target: []string{bin, s}})
		}
	}
	if len(out) == 0 {
		if HasWildcard(parts[1]) {
			return nil, missingf("no function in %s matches %q", bin, parts[1])
		}
		return nil, notInBinary(parts[1], bin)
	}
	return out, nil
}

// ResolveBinary finds an executable or library: a path as given, a name on
// PATH, or a library name (libc, libc.so.6) in the usual library directories.
func ResolveBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", missingf("binary %s: %v", name, err)
		}
		return filepath.Abs(name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	base := strings.TrimPrefix(name, "lib")
	for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"} {
		for _, pat := range []string{name, "lib" + base + ".so.*", "lib" + base + ".so", name + ".so*"} {
			matches, _ := filepath.Glob(filepath.Join(dir, pat))
			sort.Strings(matches)
			for _, m := range matches {
				if isELF(m) {
					return filepath.EvalSymlinks(m)
				}
			}
		}
	}
	return "", missingf("cannot find binary or library %q (give a path)", name)
}

// FuncSymbols lists the defined function symbols of an ELF file, sorted.
func FuncSymbols(file string) ([]string, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		syms, _ := get()
		for _, s := range syms {
			if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 && s.Name != "" {
				seen[strings.SplitN(s.Name, "@", 2)[0]] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// isELF reports whether file is an ELF object (not a linker script).
func isELF(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == elf.ELFMAG
}

// notInBinary says fn is not in bin and, when a library bin loads defines
// it, names that one: glibc 2.34 moved pthread_create and the rest of
// libpthread into libc, leaving libpthread.so.0 a stub that loads libc.
func notInBinary(fn, bin string) error {
	err := &MissingError{msg: fmt.Sprintf("function %q not found in %s", fn, bin)}
	f, ferr := elf.Open(bin)
	if ferr != nil {
		return err
	}
	needed, _ := f.ImportedLibraries()
	f.Close()
	for _, lib := range needed {
		p := filepath.Join(filepath.Dir(bin), lib)
		if _, serr := os.Stat(p); serr != nil {
			if p, serr = ResolveBinary(lib); serr != nil {
				continue
			}
		}
		if syms, serr := FuncSymbols(p); serr == nil && slices.Contains(syms, fn) {
			err.Hint = fmt.Sprintf("%s, which %s loads, defines it: uprobe:%s:%s", p, filepath.Base(bin), p, fn)
			break
		}
	}
	return err
}
