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
// them as usual; $kv is filled from the element's key and value. Variables
// in scratch memory stay there: the callback looks the memory up again
// and uses them in place.

func (g *gen) forMap(s *lang.For) {
	mi := g.c.maps[s.Map.Name]
	child, name := g.newCallback()
	child.callbackBody(s, mi)
	g.addCallback(child, name, s.Span, callbackFunc(name))
	g.mapPtr(asm.R1, mi.Spec.Name)
	g.funcPtr(asm.R2, name)
	g.varsPtr(asm.R3)
	g.emit(asm.Mov.Imm(asm.R4, 0), asm.FnForEachMapElem.Call())
	g.checkReturned()
}

// varsPtr points r at the variables' homes on the stack, the context of a
// loop callback (NULL when every variable is in scratch memory).
func (g *gen) varsPtr(r asm.Register) {
	if g.varsBytes == 0 {
		g.emit(asm.Mov.Imm(r, 0))
		return
	}
	g.emit(asm.Mov.Reg(r, asm.R10), asm.Add.Imm(r, int32(-g.varsBytes)))
}

// callbackBody generates the callback: long cb(map, key, value, ctx).
func (g *gen) callbackBody(s *lang.For, mi *Map) {
	g.setSource(s.Span)
	// R9 keeps the caller's variables; R6 and R7 the element's key and value.
	g.emit(asm.Mov.Reg(ctxReg, asm.R4), asm.Mov.Reg(asm.R6, asm.R2), asm.Mov.Reg(asm.R7, asm.R3))
	g.freeRegs = []asm.Register{asm.R8}
	if g.scratch {
		g.freeRegs = nil
		g.scratchPrologue(g.scrFail)
	}
	g.copyVarsIn()
	kv := g.vars[g.sc.varKey(s.Var)]
	kt := mi.Key
	vsize := mi.Value.MemSize()
	if !mi.Value.InMemory() {
		vsize = 8
	}
	for _, part := range []struct {
		from asm.Register
		off  int
		size int
	}{{asm.R6, 0, kt.MemSize()}, {asm.R7, kt.MemSize(), vsize}} {
		dst := kv.part(part.off, part.size, nil)
		if g.bigMem(part.size) {
			g.memcpy(dst, &val{kind: vReg, reg: part.from})
			continue
		}
		for i := 0; i < part.size; i += 8 {
			g.emit(asm.LoadMem(asm.R0, part.from, int16(i), asm.DWord),
				asm.StoreMem(dst.base(), dst.off+int16(i), asm.R0, asm.DWord))
		}
	}
	g.freeRegs = g.temps()
	g.callbackLoop(s.Body, "")
}

func (g *gen) copyVarsIn() {
	g.allocVarsNoInit()
	for i := 0; i < g.varsBytes; i += 8 {
		g.emit(asm.LoadMem(asm.R0, ctxReg, int16(i), asm.DWord),
			asm.StoreMem(asm.R10, int16(-g.varsBytes+i), asm.R0, asm.DWord))
	}
}

// callbackLoop emits a callback's body and its way out: variables are
// copied back (except keep, the loop's own counter), and the callback
// returns 1 to stop (break, exit, return) or 0 to go on.
func (g *gen) callbackLoop(body *lang.Block, keep string) {
	brk, cont, out := g.label(), g.label(), g.label()
	g.loops = append(g.loops, loop{brk: brk, cont: cont})
	g.block(body)
	g.loops = g.loops[:len(g.loops)-1]
	g.mark(cont)
	g.emit(asm.Mov.Imm(asm.R6, 0), asm.Ja.Label(out))
	g.mark(brk)
	g.emit(asm.Mov.Imm(asm.R6, 1))
	g.mark(out)
	skip := -1
	if v, ok := g.vars[keep]; ok {
		skip = int(v.off) + g.varsBytes
	}
	for i := 0; i < g.varsBytes; i += 8 {
		if i == skip {
			continue
		}
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(-g.varsBytes+i), asm.DWord),
			asm.StoreMem(ctxReg, int16(i), asm.R0, asm.DWord))
	}
	g.emit(asm.Mov.Reg(asm.R0, asm.R6), asm.Return())
	// exit() or return inside the body: stop iterating.
	g.mark(g.exit)
	g.setReturned()
	g.emit(asm.Mov.Imm(asm.R6, 1), asm.Ja.Label(out))
	if g.scratch {
		// No scratch memory (impossible): stop before anything ran.
		g.mark(g.scrFail)
		g.emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
	}
}

// newCallback starts a child generator for a callback subprogram.
func (g *gen) newCallback() (*gen, string) {
	g.nsub++
	name := fmt.Sprintf("%s_cb%d", g.prefix, g.nsub)
	child := &gen{c: g.c, diags: g.diags, sc: g.sc, vars: map[string]*val{}, alias: map[string]string{},
		prefix: name, callback: true,
		// Scratch memory: the same variables, buffers after the caller's.
		scratch: g.scratch, scrLimit: g.scrLimit, scrSlot: g.scrSlot, scrSp: g.scrSp, scrMax: g.scrSp}
	child.freeRegs = child.temps()
	child.exit = child.label()
	if child.scratch {
		child.scrFail = child.label()
	}
	return child, name
}

// addCallback appends a finished callback after the program.
func (g *gen) addCallback(child *gen, name string, sp lang.Span, fn *btf.Func) {
	// The callback's frame comes on top of the probe's.
	if child.loopOver > 0 && g.loopOver == 0 {
		g.loopOver, g.loopSpan = child.loopOver, child.loopSpan
	}
	if child.maxSp+g.maxSp > maxStack && g.loopOver == 0 {
		g.loopOver, g.loopSpan = child.maxSp+g.maxSp, sp
	}
	g.overErr = g.overErr || child.overErr
	g.plainRanges = g.plainRanges || child.plainRanges
	g.wantScratch = g.wantScratch || child.wantScratch
	g.tooBig = g.tooBig || child.tooBig
	g.scrMax = max(g.scrMax, child.scrMax)
	insns := child.finish()
	insns[0] = btf.WithFuncMetadata(insns[0].WithSymbol(name), fn)
	g.subprogs = append(g.subprogs, insns)
}

func (g *gen) funcPtr(r asm.Register, name string) {
	fn := asm.LoadImm(r, -1, asm.DWord).WithReference(name)
	fn.Src = asm.PseudoFunc
	g.emit(fn)
}

// forRangeLoop is for ($i : lo..hi) with bounds the verifier cannot see:
// bpf_loop(hi - lo, callback, vars, 0), the callback setting $i = lo + index.
func (g *gen) forRangeLoop(s *lang.For) {
	home := g.vars[g.sc.varKey(s.Var)]
	lo := g.toTemp(g.expr(s.Lo))
	g.emit(asm.StoreMem(asm.R10, home.off, lo.reg, asm.DWord))
	hi := g.toTemp(g.expr(s.Hi))
	g.emit(asm.Sub.Reg(hi.reg, lo.reg))
	g.release(lo)
	none, ok := g.label(), g.label()
	g.emit(asm.JSLE.Imm(hi.reg, 0, none), asm.JSLE.Imm(hi.reg, 1<<23, ok), asm.Mov.Imm(hi.reg, 1<<23))
	g.mark(ok)
	child, name := g.newCallback()
	child.setSource(s.Span)
	// long cb(u32 index, void *ctx)
	child.emit(asm.Mov.Reg(ctxReg, asm.R2), asm.Mov.Reg(asm.R6, asm.R1))
	child.freeRegs = []asm.Register{asm.R8, asm.R7}
	if child.scratch {
		child.freeRegs = []asm.Register{asm.R7}
		child.scratchPrologue(child.scrFail)
	}
	child.copyVarsIn()
	ch := child.vars[g.sc.varKey(s.Var)]
	child.emit(asm.LoadMem(asm.R0, asm.R10, ch.off, asm.DWord), asm.Add.Reg(asm.R0, asm.R6),
		asm.StoreMem(asm.R10, ch.off, asm.R0, asm.DWord))
	child.freeRegs = child.temps()
	child.callbackLoop(s.Body, g.sc.varKey(s.Var))
	g.addCallback(child, name, s.Span, loopFunc(name))
	g.emit(asm.Mov.Reg(asm.R1, hi.reg))
	g.release(hi)
	g.funcPtr(asm.R2, name)
	g.varsPtr(asm.R3)
	g.emit(asm.Mov.Imm(asm.R4, 0), asm.FnLoop.Call())
	g.checkReturned()
	g.mark(none)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

func loopFunc(name string) *btf.Func {
	ptr := &btf.Pointer{Target: &btf.Void{}}
	long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	return &btf.Func{Name: name, Linkage: btf.StaticFunc, Type: &btf.FuncProto{Return: long, Params: []btf.FuncParam{
		{Name: "index", Type: u32}, {Name: "ctx", Type: ptr}}}}
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
