package compiler

import (
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

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

// percpu_kaddr("name" [, cpu]): the address of a kernel per-CPU variable on
// this CPU or on the given one, typed by BTF. The variable's BTF id goes
// into a BPF_PSEUDO_BTF_ID load, which the kernel resolves to the
// variable; bpf_this_cpu_ptr / bpf_per_cpu_ptr find the CPU's copy.

// pseudoBTFID is BPF_PSEUDO_BTF_ID: an ld_imm64 whose constant is a kernel
// BTF id (and, in its upper half, the fd of a module's BTF, 0 for vmlinux).
const pseudoBTFID = asm.Register(3)

// percpuVar finds a per-CPU variable in the kernel's BTF.
func (c *compiler) percpuVar(name string) (*btf.Var, btf.TypeID, bool) {
	spec, err := c.opts.Env.KernelBTF()
	if err != nil {
		return nil, 0, false
	}
	var ds *btf.Datasec
	if spec.TypeByName(".data..percpu", &ds) != nil {
		return nil, 0, false
	}
	for _, v := range ds.Vars {
		if vr, ok := v.Type.(*btf.Var); ok && vr.Name == name {
			id, err := spec.TypeID(vr)
			return vr, id, err == nil
		}
	}
	return nil, 0, false
}

func checkPercpuKaddr(k *checker, e *lang.Call) *Type {
	// After an error, a pointer to an integer: no second error where it is read.
	bad := &Type{Kind: KPtr, Size: 8, Elem: tUint64}
	lit, ok := k.nameArg(e, 1, 2, "the variable's name")
	if !ok {
		return bad
	}
	if len(e.Args) == 2 {
		if t := k.expr(e.Args[1]); t.Kind != KInt {
			k.errorf(e.Args[1].Sp(), "percpu_kaddr()'s cpu must be an integer, not %s", t)
		}
	}
	v, _, ok := k.c.percpuVar(lit.Val)
	if !ok {
		k.errorf(lit.Span, "percpu_kaddr(): no per-CPU variable %q in the kernel's BTF", lit.Val)
		return bad
	}
	if !k.c.opts.Env.HasKernelSymbol(lit.Val) {
		k.errorf(lit.Span, "percpu_kaddr(): the kernel cannot resolve %q: /proc/kallsyms does not list it (a kernel built without CONFIG_KALLSYMS_ALL lists no variables)", lit.Val)
	}
	return &Type{Kind: KPtr, Size: 8, BTF: v.Type}
}

func emitPercpuKaddr(g *gen, e *lang.Call) *val {
	_, id, _ := g.c.percpuVar(g.c.constName(e.Args[0]))
	var cpu *val
	if len(e.Args) == 2 {
		cpu = g.toTemp(g.expr(e.Args[1]))
	}
	ld := asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R1, Src: pseudoBTFID, Constant: int64(id)}
	if cpu != nil {
		g.load(asm.R2, cpu)
		g.release(cpu)
		g.emit(ld, asm.FnPerCpuPtr.Call())
		// The result may be NULL (no such CPU); the verifier allows
		// arithmetic on it only past a NULL check.
		done := g.label()
		g.emit(asm.JEq.Imm(asm.R0, 0, done))
		g.mark(done)
	} else {
		g.emit(ld, asm.FnThisCpuPtr.Call())
	}
	r := g.newTemp(g.sc.types[e])
	g.emit(asm.Mov.Reg(r.reg, asm.R0))
	return r
}
