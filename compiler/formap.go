package compiler

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// for ($kv : @map) { body } runs body in a callback of
// bpf_for_each_map_elem. The callback has its own frame: the probe's
// variables are copied in from the caller's frame (passed as the callback
// context) at entry and copied back at exit, so the body reads and writes
// them as usual; $kv is filled from the element's key and value.

func (g *gen) forMap(s *lang.For) {
	mi := g.c.maps[s.Map.Name]
	g.nsub++
	name := fmt.Sprintf("%s_each%d", g.prefix, g.nsub)
	child := &gen{c: g.c, k: g.k, sc: g.sc, vars: map[string]*val{}, alias: map[string]string{},
		prefix: name, callback: true}
	child.freeRegs = append([]asm.Register(nil), tempRegs...)
	child.exit = child.label()
	child.callbackBody(s, mi)
	if child.maxSp+g.maxSp > maxStack {
		g.k.errorf(s.Span, "this loop and its probe need %d bytes of stack together, more than BPF's %d", child.maxSp+g.maxSp, maxStack)
	}
	insns := child.finish()
	insns[0] = btf.WithFuncMetadata(insns[0].WithSymbol(name), callbackFunc(name))
	g.subprogs = append(g.subprogs, insns)

	g.mapPtr(asm.R1, mi.Spec.Name)
	fn := asm.LoadImm(asm.R2, -1, asm.DWord).WithReference(name)
	fn.Src = asm.PseudoFunc
	g.emit(fn,
		asm.Mov.Reg(asm.R3, asm.R10), asm.Add.Imm(asm.R3, int32(-g.varsBytes)),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnForEachMapElem.Call())
}

// callbackBody generates the callback: long cb(map, key, value, ctx).
func (g *gen) callbackBody(s *lang.For, mi *Map) {
	g.setSource(s.Span)
	// R9 keeps the caller's variables; R6 and R7 the element's key and value.
	g.emit(asm.Mov.Reg(ctxReg, asm.R4), asm.Mov.Reg(asm.R6, asm.R2), asm.Mov.Reg(asm.R7, asm.R3))
	g.freeRegs = []asm.Register{asm.R8}
	g.allocVarsNoInit()
	for i := 0; i < g.varsBytes; i += 8 {
		g.emit(asm.LoadMem(asm.R0, ctxReg, int16(i), asm.DWord),
			asm.StoreMem(asm.R10, int16(-g.varsBytes+i), asm.R0, asm.DWord))
	}
	kv := g.vars[s.Var.Name]
	kt := mi.Key
	for i := 0; i < kt.MemSize(); i += 8 {
		g.emit(asm.LoadMem(asm.R0, asm.R6, int16(i), asm.DWord),
			asm.StoreMem(asm.R10, kv.off+int16(i), asm.R0, asm.DWord))
	}
	vsize := mi.Value.MemSize()
	if !mi.Value.InMemory() {
		vsize = 8
	}
	for i := 0; i < vsize; i += 8 {
		g.emit(asm.LoadMem(asm.R0, asm.R7, int16(i), asm.DWord),
			asm.StoreMem(asm.R10, kv.off+int16(kt.MemSize()+i), asm.R0, asm.DWord))
	}
	g.freeRegs = append([]asm.Register(nil), tempRegs...)
	brk, cont, out := g.label(), g.label(), g.label()
	g.loops = append(g.loops, loop{brk: brk, cont: cont})
	g.block(s.Body)
	g.loops = g.loops[:len(g.loops)-1]
	g.mark(cont)
	g.emit(asm.Mov.Imm(asm.R6, 0), asm.Ja.Label(out))
	g.mark(brk)
	g.emit(asm.Mov.Imm(asm.R6, 1))
	g.mark(out)
	for i := 0; i < g.varsBytes; i += 8 {
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(-g.varsBytes+i), asm.DWord),
			asm.StoreMem(ctxReg, int16(i), asm.R0, asm.DWord))
	}
	g.emit(asm.Mov.Reg(asm.R0, asm.R6), asm.Return())
	// exit() or return inside the body: stop iterating.
	g.mark(g.exit)
	g.emit(asm.Mov.Imm(asm.R6, 1), asm.Ja.Label(out))
}

func callbackFunc(name string) *btf.Func {
	ptr := &btf.Pointer{Target: &btf.Void{}}
	long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	return &btf.Func{Name: name, Linkage: btf.StaticFunc, Type: &btf.FuncProto{Return: long, Params: []btf.FuncParam{
		{Name: "map", Type: ptr}, {Name: "key", Type: ptr}, {Name: "value", Type: ptr}, {Name: "ctx", Type: ptr}}}}
}

func mainFunc(name string) *btf.Func {
	ptr := &btf.Pointer{Target: &btf.Void{}}
	i := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	return &btf.Func{Name: name, Linkage: btf.StaticFunc, Type: &btf.FuncProto{Return: i, Params: []btf.FuncParam{{Name: "ctx", Type: ptr}}}}
}
