package probes

import (
	"slices"
	"sort"
	"strings"
)

// A kprobe's function is looked up in the kernel's traceable functions
// (available_filter_functions, as bpftrace; kallsyms' code symbols when
// tracefs cannot be read) when the script is compiled: a name the kernel lacks is an error then, with the
// nearest names, rather than at attach time; a function the compiler
// renamed (finish_task_switch.isra.0: GCC's interprocedural clones and
// split parts) is attached under its symbol while the probe keeps the name
// the script gave it.

// textSymbols are KernelFunctions (sorted by name), read once.
func (e *Env) textSymbols() []KernelFunction {
	e.textOnce.Do(func() {
		funcs, err := e.KernelFunctions()
		if err == nil {
			e.text = slices.DeleteFunc(funcs, func(f KernelFunction) bool { return strings.HasPrefix(f.Name, "__pfx_") })
			e.textRead = true
		}
	})
	return e.text
}

// resolveKernelFunction finds the symbol to attach a kprobe on module's
// (any module's when "") function fn to: fn itself, else its one
// compiler-suffixed variant. The error is a MissingError with the nearest
// names as its hint. When kallsyms cannot be read, fn is returned as it is
// (the kernel decides at attach time).
func (e *Env) resolveKernelFunction(module, fn string) (string, error) {
	syms := e.textSymbols()
	if !e.textRead {
		return fn, nil
	}
	in := func(kf KernelFunction) bool {
		return module == "" || module == "*" || kf.Module == module || module == "vmlinux" && kf.Module == ""
	}
	i := sort.Search(len(syms), func(i int) bool { return syms[i].Name >= fn })
	var variant, cold string
	for ; i < len(syms) && strings.HasPrefix(syms[i].Name, fn); i++ {
		s := syms[i]
		switch {
		case !in(s):
		case s.Name == fn:
			return fn, nil
		case variant == "" && compilerSuffix(s.Name[len(fn):]):
			if strings.HasSuffix(s.Name, ".cold") {
				if cold == "" {
					cold = s.Name
				}
			} else {
				variant = s.Name
			}
		}
	}
	if variant == "" {
		variant = cold
	}
	if variant != "" {
		return variant, nil
	}
	where := "the kernel"
	if module != "" && module != "*" && module != "vmlinux" {
		where = "module " + module
	}
	err := &MissingError{msg: "no function " + fn + " in " + where + "'s traceable functions"}
	if addrs, _ := e.KernelSymbolAddrs([]string{fn}); len(addrs) > 0 {
		err.Hint = "kallsyms has " + fn + ", but it cannot be traced (inlined where it is called, or notrace)"
	} else if near := nearestNames(fn, syms, in, 3); len(near) > 0 {
		err.Hint = "did you mean " + strings.Join(near, ", ") + "?"
	}
	return "", err
}

// compilerSuffix reports whether s (".isra.0", ".constprop.0.isra.0",
// ".part.3", ".cold", ".llvm.123456") is what GCC or LLVM appends to a
// function it clones or splits.
func compilerSuffix(s string) bool {
	if s == "" || s[0] != '.' {
		return false
	}
	parts := strings.Split(s[1:], ".")
	for i := 0; i < len(parts); i++ {
		switch parts[i] {
		case "cold":
			if i+1 < len(parts) && isDigits(parts[i+1]) {
				i++
			}
		case "isra", "constprop", "part", "llvm", "lto_priv":
			if i+1 >= len(parts) || !isDigits(parts[i+1]) {
				return false
			}
			i++
		default:
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// nearestNames are at most n names of syms (those in() accepts) closest
// to name: by edit distance, ties broken by the longer common prefix, then
// by name. Names too far to be a typo of it are left out.
func nearestNames(name string, syms []KernelFunction, in func(KernelFunction) bool, n int) []string {
	type cand struct {
		name         string
		dist, prefix int
	}
	limit := max(2, len(name)/5)
	var cands []cand
	seen := map[string]bool{}
	for _, s := range syms {
		if !in(s) || seen[s.Name] {
			continue
		}
		diff := max(len(s.Name)-len(name), len(name)-len(s.Name))
		prefix, short := commonPrefix(name, s.Name), min(len(name), len(s.Name))
		d := limit + 1
		if diff <= limit {
			d = editDistance(name, s.Name, limit)
		}
		if d > limit && prefix == short && short >= 6 && diff <= short/2 {
			d = diff // one is the other and more (do_sys_open, do_sys_openat2)
		} else if d > limit {
			continue
		}
		seen[s.Name] = true
		cands = append(cands, cand{s.Name, d, prefix})
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.dist != b.dist {
			return a.dist < b.dist
		}
		if a.prefix != b.prefix {
			return a.prefix > b.prefix
		}
		return a.name < b.name
	})
	var out []string
	for i := 0; i < len(cands) && i < n; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// editDistance is the Levenshtein distance of a and b, or limit+1 as soon
// as it is known to exceed limit.
func editDistance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
