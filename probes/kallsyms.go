package probes

import (
	"bufio"
	"os"
	"strings"
	"sync"
)

// HasKernelSymbol reports whether /proc/kallsyms lists name: the kernel
// resolves a BPF program's references to kernel variables through it, and
// lists variables only when built with CONFIG_KALLSYMS_ALL. True when
// kallsyms cannot be read (let the kernel decide).
func (e *Env) HasKernelSymbol(name string) bool {
	kallsymsOnce.Do(func() {
		f, err := os.Open("/proc/kallsyms")
		if err != nil {
			return
		}
		defer f.Close()
		kallsymsNames = map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "ffffffff81000000 T _stext [module]"
			f := strings.Fields(sc.Text())
			if len(f) >= 3 && (f[1] == "d" || f[1] == "D" || f[1] == "b" || f[1] == "B" || f[1] == "r" || f[1] == "R") {
				kallsymsNames[f[2]] = true
			}
		}
	})
	return kallsymsNames == nil || kallsymsNames[name]
}

var (
	kallsymsOnce  sync.Once
	kallsymsNames map[string]bool // data symbols only
)
