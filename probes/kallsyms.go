package probes

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// KernelSymbol is one line of /proc/kallsyms:
// "ffffffff81000000 T _stext [module]".
type KernelSymbol struct {
	Addr   uint64 // 0 when kallsyms hides addresses (kptr_restrict)
	Type   byte   // 't'/'T' text, 'd'/'D' data, 'b'/'B' bss, 'r'/'R' read-only, ...
	Name   string
	Module string // "" for vmlinux
}

// IsText reports whether the symbol is code (weak symbols included).
func (s KernelSymbol) IsText() bool {
	switch s.Type {
	case 't', 'T', 'w', 'W':
		return true
	}
	return false
}

// KernelSymbols calls fn with every symbol in kallsyms, in its order. It is
// the one reader of the file: each user keeps only what it needs of it, as
// the whole list is large (a few hundred thousand symbols).
func (e *Env) KernelSymbols(fn func(KernelSymbol)) error {
	f, err := os.Open(e.ProcPath("kallsyms"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || len(fields[1]) != 1 {
			continue
		}
		s := KernelSymbol{Type: fields[1][0], Name: fields[2]}
		s.Addr, _ = strconv.ParseUint(fields[0], 16, 64)
		if len(fields) > 3 {
			s.Module = strings.Trim(fields[3], "[]")
		}
		fn(s)
	}
	return sc.Err()
}

// HasKernelSymbol reports whether kallsyms lists name as a variable: the
// kernel resolves a BPF program's references to kernel variables through
// it, and lists variables only when built with CONFIG_KALLSYMS_ALL. True
// when kallsyms cannot be read (let the kernel decide).
func (e *Env) HasKernelSymbol(name string) bool {
	e.ksymOnce.Do(func() {
		data := map[string]bool{}
		err := e.KernelSymbols(func(s KernelSymbol) {
			switch s.Type {
			case 'd', 'D', 'b', 'B', 'r', 'R':
				data[s.Name] = true
			}
		})
		if err == nil {
			e.ksymData = data
		}
	})
	return e.ksymData == nil || e.ksymData[name]
}

// KernelSymbolAddrs finds the addresses of the named symbols in kallsyms
// in one pass (vmlinux's symbol before a module's of the same name); a
// name kallsyms does not list is missing from the result. An address is 0
// when kallsyms hides addresses (kptr_restrict).
func (e *Env) KernelSymbolAddrs(names []string) (map[string]uint64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]uint64{}
	err := e.KernelSymbols(func(s KernelSymbol) {
		if _, seen := out[s.Name]; want[s.Name] && (!seen || s.Module == "") {
			out[s.Name] = s.Addr
		}
	})
	return out, err
}
