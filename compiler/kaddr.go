package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// kaddr("name"): the address of a kernel symbol, as bpftrace's. The name is
// checked against kallsyms when compiling (a positioned error), and its
// address is patched into the program when it is loaded (the runtime
// reads kallsyms then: compiled objects hold no addresses).

func checkKaddr(k *checker, e *lang.Call) *Type {
	lit, ok := k.nameArg(e, 1, 1, "the symbol's name")
	if !ok {
		return tUint64
	}
	addrs, err := k.c.opts.Env.KernelSymbolAddrs([]string{lit.Val})
	if _, found := addrs[lit.Val]; err == nil && !found {
		// Unreadable kallsyms is left to the loader, which says why.
		k.errorf(lit.Span, "kaddr(): no kernel symbol %q in /proc/kallsyms", lit.Val).
			Hint("a kernel built without CONFIG_KALLSYMS_ALL lists functions only, not variables")
	}
	return tUint64
}

func emitKaddr(g *gen, e *lang.Call) *val {
	r := g.newTemp(tUint64)
	sym := g.c.patchSymbol(PatchKernelAddr)
	g.c.kernelAddrs[sym] = g.c.constName(e.Args[0])
	g.emit(asm.LoadImm(r.reg, 0, asm.DWord).WithSymbol(sym))
	return r
}
