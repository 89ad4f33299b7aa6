package compiler

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// maxStack is the BPF stack size.
const maxStack = 512

// gen generates the instructions of one probe instance.
type gen struct {
	c        *compiler
	diags    *lang.Diags // for the limits only generating finds (stack, size)
	sc       *scope
	insns    asm.Instructions
	freeRegs []asm.Register
	live     []*val
	sp       int // stack bytes in use
	maxSp    int
	vars     map[string]*val
	nlabel   int
	pending  []string          // labels for the next instruction
	alias    map[string]string // label → label it coincides with
	source   fmt.Stringer      // source line for the next instruction
	prefix   string
	exit     string
	overflow lang.Span
	overErr  bool
	loops    []loop
	tooBig   bool
	// for-map callbacks: subprograms appended after the program.
	subprogs  []asm.Instructions
	nsub      int
	callback  bool // generating a callback body
	varsBytes int  // bytes of the variables' homes at the top of the frame
	// Scratch memory (scratch.go): large buffers live in a per-CPU map
	// value when the probe's values do not fit the stack.
	scratch     bool // this probe has scratch memory (its address in scratchReg)
	scrLimit    int  // buffers larger than this go to scratch memory
	scrSlot     int  // the probe's entry in the scratch map
	scrSp       int  // scratch bytes in use
	scrMax      int
	scrVars     int    // bytes of the variables' homes at the start of scratch memory
	wantScratch bool   // a buffer is larger than the configured on_stack_limit
	scrFail     string // callbacks: where a failed scratch lookup goes
	// A loop callback's frame and its probe's overflow the stack together.
	loopOver int
	loopSpan lang.Span
	// plainRanges: a range bpf_loop would run is a plain loop (the
	// kernel has no bpf_loop), which the verifier may find too long.
	plainRanges bool
}

func newGen(c *compiler, sc *scope, prefix string) *gen {
	g := &gen{c: c, sc: sc, vars: map[string]*val{}, alias: map[string]string{}, prefix: prefix,
		insns: make(asm.Instructions, 0, 64)} // most probes fit: no regrowing
	g.freeRegs = g.temps()
	g.exit = g.label()
	return g
}

func (g *gen) label() string {
	g.nlabel++
	return g.prefix + "_L" + strconv.Itoa(g.nlabel)
}

// mark places label at the next instruction.
func (g *gen) mark(l string) {
	if len(g.pending) > 0 {
		g.alias[l] = g.pending[0]
		return
	}
	g.pending = append(g.pending, l)
}

// maxInsns is the kernel's limit on a program's instructions.
const maxInsns = 1000000

func (g *gen) emit(ins ...asm.Instruction) {
	if len(g.insns) > maxInsns {
		g.tooBig = true
		return
	}
	for _, in := range ins {
		if len(g.pending) > 0 {
			in = in.WithSymbol(g.pending[0])
			g.pending = g.pending[:0]
		}
		if g.source != nil {
			in = in.WithSource(g.source)
			g.source = nil
		}
		g.insns = append(g.insns, in)
	}
}

// finish resolves label aliases.
func (g *gen) finish() asm.Instructions {
	g.insns = g.mergeMovImm(g.insns)
	for i := range g.insns {
		ref := g.insns[i].Reference()
		if ref == "" {
			continue
		}
		for {
			a, ok := g.alias[ref]
			if !ok {
				break
			}
			ref = a
		}
		g.insns[i] = g.insns[i].WithReference(ref)
	}
	insns := dropUnreachable(g.insns)
	if !g.callback {
		insns = dropUnusedCtx(insns)
	}
	for _, sub := range g.subprogs {
		insns = append(insns, sub...)
	}
	return insns
}

// mergeMovImm merges two "mov reg, imm" in a row into one (labels land on
// such moves): the second of two identical ones, or the first when the
// second overwrites its value. A label on the dropped move moves to the
// kept one.
func (g *gen) mergeMovImm(insns asm.Instructions) asm.Instructions {
	out := insns[:0]
	for _, ins := range insns {
		if n := len(out); n > 0 {
			prev := out[n-1]
			if ins.OpCode == asm.Mov.Op(asm.ImmSource) && prev.OpCode == ins.OpCode &&
				prev.Dst == ins.Dst && prev.Constant != ins.Constant {
				// The first value is overwritten before anything can read
				// it (a failure count's R0 = 0 before a probe's return 1):
				// keep the second, reached by prev's label too.
				merged := ins
				if ps := prev.Symbol(); ps != "" {
					if is := ins.Symbol(); is != "" {
						g.alias[is] = ps
					}
					merged = merged.WithSymbol(ps)
				}
				if merged.Source() == nil && prev.Source() != nil {
					merged = merged.WithSource(prev.Source())
				}
				out[n-1] = merged
				continue
			}
			if ins.OpCode == asm.Mov.Op(asm.ImmSource) && prev.OpCode == ins.OpCode &&
				prev.Dst == ins.Dst && prev.Constant == ins.Constant && ins.Source() == nil {
				if sym := ins.Symbol(); sym != "" {
					if prev.Symbol() == "" {
						out[n-1] = prev.WithSymbol(sym)
					} else {
						g.alias[sym] = prev.Symbol()
					}
				}
				continue
			}
		}
		out = append(out, ins)
	}
	return out
}

// dropUnusedCtx removes the prologue's copy of the context pointer when
// nothing reads it.
func dropUnusedCtx(insns asm.Instructions) asm.Instructions {
	if len(insns) < 2 || insns[0].OpCode != asm.Mov.Op(asm.RegSource) || insns[0].Dst != ctxReg {
		return insns
	}
	if sym := insns[1].Symbol(); sym != "" {
		// The first instruction will carry the program's name: only an
		// unused label may be overwritten there.
		if strings.HasPrefix(sym, "bpfsh_patch_") {
			return insns
		}
		for _, ins := range insns {
			if ins.Reference() == sym {
				return insns
			}
		}
	}
	for _, ins := range insns[1:] {
		if ins.Dst == ctxReg || ins.Src == ctxReg {
			return insns
		}
	}
	next := insns[1]
	if next.Source() == nil {
		next = next.WithSource(insns[0].Source())
	}
	insns[1] = next
	return insns[1:]
}

// dropUnreachable removes instructions no path reaches (constant conditions
// leave some behind), which the verifier would reject.
func dropUnreachable(insns asm.Instructions) asm.Instructions {
	at := map[string]int{}
	for i, ins := range insns {
		if s := ins.Symbol(); s != "" {
			at[s] = i
		}
	}
	seen := make([]bool, len(insns))
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= len(insns) || seen[i] {
			continue
		}
		seen[i] = true
		ins := insns[i]
		op := ins.OpCode.JumpOp()
		isJump := ins.OpCode.Class().IsJump()
		switch {
		case isJump && op == asm.Exit:
		case isJump && op == asm.Ja:
			work = append(work, at[ins.Reference()])
		case isJump && op != asm.Call:
			work = append(work, at[ins.Reference()], i+1)
		default:
			work = append(work, i+1)
		}
	}
	out := insns[:0]
	for i, ins := range insns {
		if seen[i] {
			out = append(out, ins)
		}
	}
	return out
}

// alloc reserves size bytes of stack (8-aligned) and returns the offset.
func (g *gen) alloc(size int) int16 {
	g.sp += align8(size)
	if g.sp > g.maxSp {
		g.maxSp = g.sp
	}
	if g.sp > maxStack {
		g.overErr = true
		return -maxStack
	}
	return int16(-g.sp)
}

// buffer returns a zeroed buffer.
func (g *gen) buffer(size int, t *Type) *val {
	size = align8(size)
	buf := g.mem(size, t)
	g.zero(buf)
	return buf
}

// zero clears the buffer v.
func (g *gen) zero(v *val) {
	if g.bigMem(v.size) {
		g.memset(v)
		return
	}
	for i := 0; i < v.size; i += 8 {
		g.emit(storeImm(v.base(), v.off+int16(i), 0, asm.DWord))
	}
}

// copyMem copies src (a buffer) into the buffer dst, zero-filling when src
// is shorter.
func (g *gen) copyMem(dst, src *val) {
	n := min(src.size, dst.size)
	if g.bigMem(n) {
		g.memcpy(dst.part(0, n, nil), src)
	} else {
		for i := 0; i < n; i += 8 {
			g.emit(asm.LoadMem(asm.R0, src.base(), src.off+int16(i), asm.DWord),
				asm.StoreMem(dst.base(), dst.off+int16(i), asm.R0, asm.DWord))
		}
	}
	if n < dst.size {
		g.zero(dst.part(n, dst.size-n, nil))
	}
}

// store writes v into the memory of dst, using v's MemSize layout.
func (g *gen) store(dst *val, v *val) {
	switch v.kind {
	case vMem:
		g.copyMem(dst, v)
	case vImm:
		if v.imm == int64(int32(v.imm)) {
			g.emit(storeImm(dst.base(), dst.off, v.imm, asm.DWord))
			return
		}
		fallthrough
	default:
		r, _, _ := g.operandReg(v, asm.R0)
		g.emit(asm.StoreMem(dst.base(), dst.off, r, asm.DWord))
	}
}

func (g *gen) operandReg(v *val, scratch asm.Register) (asm.Register, int32, bool) {
	if v.kind == vReg {
		return v.reg, 0, false
	}
	g.load(scratch, v)
	return scratch, 0, false
}

// program generates a whole probe instance.
func (g *gen) program(p *lang.Probe) {
	// The kernel wants line info on the first instruction when any has it.
	g.setSource(p.Span)
	g.emit(asm.Mov.Reg(ctxReg, asm.R1))
	// With override() in an fmod_ret/lsm program, the epilogue returns a
	// variable: the ways out before the variables are set return the
	// default instead.
	_, returnsVar := g.sc.vars[overrideVar]
	body := g.exit
	if returnsVar {
		g.exit = g.label()
	}
	g.syscallPrologue(g.exit)
	if g.c.useExit && !g.sc.prov.Runs.Once() && !g.seqFile() {
		// After exit(), no probe runs again, however long detaching takes.
		g.exitFlag()
		g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.JNE.Imm(asm.R1, 0, g.exit))
	}
	g.iterPrologue()
	g.callbackPrologue(p)
	if g.scratch {
		g.scratchPrologue(g.exit)
	}
	early := g.exit
	g.exit = body
	g.allocVars()
	g.packetPrologue(p)
	if p.Pred != nil {
		g.setSource(p.Pred.Sp())
		g.branchFalse(p.Pred, g.exit)
		g.resetTemps()
	}
	g.block(p.Body)
	g.mark(g.exit)
	g.epilogue()
	if early != body {
		g.mark(early)
		g.emit(asm.Mov.Imm(asm.R0, g.c.retval(g.sc)), asm.Return())
	}
}

// report states what made the probe impossible to generate.
func (g *gen) report(p *lang.Probe) {
	if g.tooBig {
		g.diags.Errorf(p.Span, "this probe compiles to more than %d instructions, the kernel's limit", maxInsns).
			Hint("use fewer or smaller unroll() loops")
	}
	if g.overErr {
		g.diags.Errorf(p.Span, "this probe needs %d bytes of stack, more than BPF's %d", g.maxSp, maxStack).
			Hint("use fewer or shorter strings in one probe")
	} else if g.loopOver > 0 {
		g.diags.Errorf(g.loopSpan, "this loop and its probe need %d bytes of stack together, more than BPF's %d", g.loopOver, maxStack)
	}
	if g.scrMax > maxScratch {
		g.diags.Errorf(p.Span, "this probe's values need %d bytes of scratch memory, more than the %d a per-CPU map value holds", g.scrMax, maxScratch).
			Hint("use fewer or shorter strings in one probe (a lower max_strlen)")
	}
}

// exitFlag leaves a pointer to the exit flag in R0 (or ends the program
// if the lookup fails, which it cannot for an array).
func (g *gen) exitFlag() {
	off := g.alloc(4)
	g.emit(storeImm(asm.R10, off, 0, asm.Word))
	g.mapPtr(asm.R1, ctlMap)
	g.emit(asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, int32(off)),
		asm.FnMapLookupElem.Call(), asm.JEq.Imm(asm.R0, 0, g.exit))
	g.sp -= 8
}

// allocVars gives every $variable of the probe its home up front, zeroed.
func (g *gen) allocVars() {
	g.allocVarsNoInit()
	g.zero(&val{kind: vMem, off: int16(-g.varsBytes), size: g.varsBytes})
	if g.scrVars > 0 {
		g.zero(&val{kind: vMem, size: g.scrVars, scr: true})
	}
}

// allocVarsNoInit lays the variables out at the top of the frame (large
// ones at the start of scratch memory). Variables whose lives do not
// overlap (sibling blocks, a block and what follows it) share bytes, so
// block scoping costs no memory: each variable goes at the lowest offset
// free of the variables alive alongside it. Callbacks rely on the same
// layout as their probe.
func (g *gen) allocVarsNoInit() {
	type placed struct {
		life      varLife
		off, size int
		scr       bool
	}
	var done []placed
	place := func(life varLife, size int, scr bool) int {
		off := 0
		for moved := true; moved; {
			moved = false
			for _, p := range done {
				if p.scr == scr && p.life.start < life.end && life.start < p.life.end &&
					off < p.off+p.size && p.off < off+size {
					off, moved = p.off+p.size, true
				}
			}
		}
		done = append(done, placed{life, off, size, scr})
		return off
	}
	lives := g.sc.lives
	known := map[string]bool{}
	for _, l := range lives {
		known[l.key] = true
	}
	for _, name := range sortedKeys(g.sc.vars) {
		if !known[name] {
			// Not a scoped variable (packet fields): alive throughout.
			lives = append(lives, varLife{key: name, start: 0, end: 1 << 30})
		}
	}
	stack, scr := 0, 0
	for _, l := range lives {
		t := g.sc.vars[l.key]
		if t == nil {
			continue
		}
		size := 8
		if t.InMemory() {
			size = align8(t.MemSize())
		}
		inScr := t.InMemory() && g.inScratch(size)
		off := place(l, size, inScr)
		if inScr {
			scr = max(scr, off+size)
		} else {
			stack = max(stack, off+size)
		}
	}
	top := g.sp
	g.alloc(stack)
	for _, p := range done {
		key, t := p.life.key, g.sc.vars[p.life.key]
		switch {
		case p.scr:
			g.vars[key] = &val{kind: vMem, off: int16(p.off), size: p.size, t: t, scr: true}
		case t.InMemory():
			g.vars[key] = &val{kind: vMem, off: int16(-(top + p.off + p.size)), size: p.size, t: t}
		default:
			g.vars[key] = &val{kind: vSlot, off: int16(-(top + p.off + 8)), t: t}
		}
	}
	g.varsBytes = g.sp
	g.scrVars = scr
	g.scrSp = max(g.scrSp, scr)
	g.scrMax = max(g.scrMax, g.scrSp)
}

func (g *gen) setSource(sp lang.Span) {
	file, src := sp.Origin(g.c.file(), g.c.prog.Src)
	g.source = &srcLine{file: file, src: src, off: sp.Start.Offset, line: sp.Start.Line}
}

// srcLine is an instruction's source: "file:line: text", formatted when
// read (line info for the verifier's log, -d asm), as most programs load
// without it.
type srcLine struct {
	file      string
	src       []byte
	off, line int
}

// Place is where the source is: the runtime points a verifier refusal
// of the instruction at it.
func (s *srcLine) Place() (file string, src []byte, off int) { return s.file, s.src, s.off }

func (s *srcLine) String() string {
	text, _ := lang.LineAt(s.src, s.off)
	return fmt.Sprintf("%s:%d: %s", s.file, s.line, strings.TrimSpace(text))
}

// resetTemps frees statement temporaries: at a statement boundary nothing is live.
func (g *gen) resetTemps() {
	for len(g.live) > 0 {
		g.release(g.live[0])
	}
}

func (g *gen) block(b *lang.Block) {
	for _, s := range b.Stmts {
		g.stmt(s)
	}
}

func (g *gen) stmt(s lang.Stmt) {
	mark, scrMark := g.sp, g.scrSp
	defer func() {
		g.resetTemps()
		g.sp, g.scrSp = mark, scrMark
	}()
	if _, ok := s.(*lang.Block); !ok {
		if _, ok := s.(*lang.If); !ok {
			g.setSource(s.Sp())
		}
	}
	switch s := s.(type) {
	case *lang.ExprStmt:
		if g.packetStmt(s) || g.usbStmt(s) {
			return
		}
		switch x := s.X.(type) {
		case *lang.Call:
			g.call(x, true)
		case *lang.Block:
			g.block(x)
		case *lang.Ternary:
			if !g.ternaryStmt(x) {
				g.release(g.expr(s.X))
			}
		default:
			g.release(g.expr(s.X))
		}
	case *lang.Assign:
		g.assign(s)
	case *lang.VarDecl:
		g.declare(s)
	case *lang.If:
		g.setSource(s.Cond.Sp())
		elseL, endL := g.label(), g.label()
		g.branchFalse(s.Cond, elseL)
		g.resetTemps()
		g.block(s.Then)
		if s.Else != nil {
			g.emit(asm.Ja.Label(endL))
			g.mark(elseL)
			g.stmt(s.Else)
			g.mark(endL)
		} else {
			g.mark(elseL)
		}
		// A label must land on an instruction; the next statement or the
		// epilogue provides it.
	case *lang.Block:
		g.block(s)
	case *lang.Unroll:
		n, _ := g.constant(s.Count)
		for i := int64(0); i < n && !g.tooBig; i++ {
			g.block(s.Body)
		}
	case *lang.While:
		top, end := g.label(), g.label()
		g.mark(top)
		g.branchFalse(s.Cond, end)
		g.resetTemps()
		g.loops = append(g.loops, loop{brk: end, cont: top})
		g.block(s.Body)
		g.loops = g.loops[:len(g.loops)-1]
		g.emit(asm.Ja.Label(top))
		g.mark(end)
	case *lang.For:
		if s.Map != nil {
			g.forMap(s)
			return
		}
		g.forRange(s)
	case *lang.Jump:
		switch s.Kind {
		case "break":
			g.emit(asm.Ja.Label(g.loops[len(g.loops)-1].brk))
		case "continue":
			g.emit(asm.Ja.Label(g.loops[len(g.loops)-1].cont))
		case "return":
			g.emit(asm.Ja.Label(g.exit))
		}
	}
}

// loop is where break and continue go.
type loop struct{ brk, cont string }

// forRange is for ($i : lo..hi) { body }: $i runs from lo up to hi, exclusive.
func (g *gen) forRange(s *lang.For) {
	if !g.sc.rangeInline(s) {
		g.forRangeLoop(s)
		return
	}
	// Without bpf_loop, a long range is the verifier's to walk.
	g.plainRanges = g.plainRanges || !g.sc.rangeShort(s)
	home := g.vars[g.sc.varKey(s.Var)]
	hi := g.expr(s.Hi)
	if hi.kind != vImm {
		// Keep the bound in its own stack slot: the body may use every register.
		slot := &val{kind: vSlot, off: g.alloc(8), t: tInt64}
		r, _, _ := g.operandReg(hi, asm.R0)
		g.emit(asm.StoreMem(asm.R10, slot.off, r, asm.DWord))
		g.release(hi)
		hi = slot
	}
	lo := g.expr(s.Lo)
	r, _, _ := g.operandReg(lo, asm.R0)
	g.emit(asm.StoreMem(asm.R10, home.off, r, asm.DWord))
	g.release(lo)
	top, next, end := g.label(), g.label(), g.label()
	// Without bpf_loop, a run-time bound is one the verifier cannot see:
	// a counter it can see ends the loop after maxRunTimePlain rounds.
	var count *val
	_, loConst := g.sc.consts[s.Lo]
	if (hi.kind != vImm || !loConst) && g.sc.plainLoops.get() {
		count = &val{kind: vSlot, off: g.alloc(8), t: tInt64}
		g.emit(storeImm(asm.R10, count.off, 0, asm.DWord))
	}
	g.mark(top)
	if count != nil {
		g.emit(asm.LoadMem(asm.R1, asm.R10, count.off, asm.DWord), asm.JGE.Imm(asm.R1, maxRunTimePlain, end),
			asm.Add.Imm(asm.R1, 1), asm.StoreMem(asm.R10, count.off, asm.R1, asm.DWord))
	}
	g.emit(asm.LoadMem(asm.R1, asm.R10, home.off, asm.DWord))
	if hi.kind == vImm {
		g.emit(asm.JSGE.Imm(asm.R1, int32(hi.imm), end))
	} else {
		g.emit(asm.LoadMem(asm.R2, asm.R10, hi.off, asm.DWord), asm.JSGE.Reg(asm.R1, asm.R2, end))
	}
	g.loops = append(g.loops, loop{brk: end, cont: next})
	g.block(s.Body)
	g.loops = g.loops[:len(g.loops)-1]
	g.mark(next)
	g.emit(asm.LoadMem(asm.R1, asm.R10, home.off, asm.DWord), asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R10, home.off, asm.R1, asm.DWord), asm.Ja.Label(top))
	g.mark(end)
}

func (g *gen) assign(s *lang.Assign) {
	switch lhs := s.LHS.(type) {
	case *lang.Var:
		g.assignVar(lhs, s.Op, s.RHS)
	case *lang.Ident:
		if lhs.Name == "_" && s.Op == "=" {
			g.release(g.expr(s.RHS))
			return
		}
		g.reply(s)
	case *lang.MapRef:
		if pre, call := aggBlock(s.RHS); call != nil {
			for _, st := range pre {
				g.stmt(st)
			}
			g.aggregate(lhs, call)
			return
		}
		g.mapAssign(lhs, s.Op, s.RHS)
	}
}

func (g *gen) assignVar(v *lang.Var, op string, rhs lang.Expr) {
	home := g.vars[g.sc.varKey(v)]
	x := g.expr(rhs)
	if home.kind == vMem {
		g.copyValue(home, x, g.sc.types[rhs])
		return
	}
	if op != "=" {
		cur := g.newTemp(home.t)
		g.load(cur.reg, home)
		if home.t.Kind == KPtr {
			x = g.scaleIndex(x, elemSize(home.t))
		}
		g.arith(strings.TrimSuffix(op, "="), cur, x, home.t.Signed)
		x = cur
	}
	if g.sc.declared[g.sc.varKey(v)] && home.t.Kind == KInt {
		x = g.truncate(x, home.t) // let $x: uint8 = 300 keeps 44
	}
	r, _, _ := g.operandReg(x, asm.R0)
	g.emit(asm.StoreMem(asm.R10, home.off, r, asm.DWord))
	g.release(x)
}

// expr evaluates an expression.
func (g *gen) expr(e lang.Expr) *val {
	t := g.sc.types[e]
	switch e := e.(type) {
	case *lang.IntLit:
		return imm(litValue(e), t)
	case *lang.BoolLit:
		if e.Val {
			return imm(1, t)
		}
		return imm(0, t)
	case *lang.StrLit:
		return g.strLit(e.Val, t.Size)
	case *lang.PosParam:
		return g.posParam(e, t)
	case *lang.Var:
		home := g.vars[g.sc.varKey(e)]
		if home.kind == vMem {
			return home
		}
		n := g.newTemp(home.t)
		g.load(n.reg, home)
		return n
	case *lang.MapRef:
		return g.mapRead(e)
	case *lang.Ident:
		return g.ident(e)
	case *lang.Call:
		return g.call(e, false)
	case *lang.Binary:
		return g.binary(e)
	case *lang.Unary:
		return g.unary(e)
	case *lang.Ternary:
		if t.InMemory() {
			buf := g.mem(t.MemSize(), t)
			g.ternary(e, func(x *val, xt *Type) { g.copyValue(buf, x, xt) })
			g.emit(asm.Mov.Imm(asm.R0, 0))
			return buf
		}
		dst := g.newTemp(t)
		g.ternary(e, func(x *val, _ *Type) { g.load(dst.reg, x); g.release(x) })
		g.emit(asm.Mov.Reg(dst.reg, dst.reg)) // land the label
		return dst
	case *lang.Field:
		return g.field(e)
	case *lang.Cast:
		x := g.expr(e.X)
		if t.Kind == KArray {
			return g.emitArrayCast(x, t)
		}
		if t.Kind != KInt {
			return x
		}
		if t.Bool && !g.sc.types[e.X].Bool {
			return g.toBool(x)
		}
		return g.truncate(x, t)
	case *lang.Index:
		return g.index(e)
	case *lang.Block:
		return g.blockValue(e)
	case *lang.If:
		return g.ifValue(e)
	case *lang.Tuple:
		buf := g.buffer(t.MemSize(), t)
		for i, el := range e.Elems {
			x := g.expr(el)
			g.copyValue(buf.part(t.ElemOffset(i), t.Elems[i].MemSize(), t.Elems[i]), x, g.sc.types[el])
			g.release(x)
		}
		return buf
	}
	panic(fmt.Sprintf("codegen: unexpected %T", e))
}

// tupleElem reads element N of a tuple ($t.N).
func (g *gen) tupleElem(e *lang.Field, xt *Type) *val {
	i, err := strconv.Atoi(e.Name)
	if xt.Names != nil || err != nil {
		i = xt.ElemIndex(e.Name)
	}
	return g.tupleElemAt(e.X, xt, i)
}

// toBool turns an integer into a bool: 1 when it is non-zero, else 0.
func (g *gen) toBool(x *val) *val {
	if x.kind == vImm {
		if x.imm != 0 {
			return imm(1, tBool)
		}
		return imm(0, tBool)
	}
	x = g.toTemp(x)
	x.t = tBool
	done := g.label()
	g.emit(asm.JEq.Imm(x.reg, 0, done), asm.Mov.Imm(x.reg, 1))
	g.mark(done)
	g.emit(asm.Mov.Reg(x.reg, x.reg))
	return x
}

// truncate narrows an integer to t's width, sign- or zero-extending to 64 bits.
func (g *gen) truncate(x *val, t *Type) *val {
	if t.Size >= 8 {
		return x
	}
	if x.kind == vImm {
		return imm(normInt(x.imm, t), t)
	}
	x = g.toTemp(x)
	x.t = t
	g.extend(x.reg, t.Size, t.Signed)
	return x
}

func normInt(v int64, t *Type) int64 {
	shift := 64 - 8*t.Size
	if t.Signed {
		return v << shift >> shift
	}
	return int64(uint64(v) << shift >> shift)
}

func (g *gen) extend(r asm.Register, size int, signed bool) {
	if size >= 8 {
		return
	}
	shift := int32(64 - 8*size)
	if signed {
		g.emit(asm.LSh.Imm(r, shift), asm.ArSh.Imm(r, shift))
	} else if size == 4 {
		g.emit(asm.Mov.Reg32(r, r))
	} else {
		g.emit(asm.And.Imm(r, int32(1<<(8*size))-1))
	}
}

func (g *gen) strLit(s string, size int) *val {
	buf := g.buffer(size, strType(size))
	b := make([]byte, align8(size))
	copy(b, s)
	for i := 0; i+4 <= len(b); i += 4 {
		w := int32(binary.LittleEndian.Uint32(b[i:]))
		if w != 0 {
			g.emit(storeImm(buf.base(), buf.off+int16(i), int64(w), asm.Word))
		}
	}
	return buf
}

func (g *gen) posParam(e *lang.PosParam, t *Type) *val {
	if e.Count {
		return imm(int64(len(g.c.opts.Params)), t)
	}
	v, _ := g.c.param(e.N)
	if t.Kind == KString {
		return g.strLit(v, t.Size)
	}
	n, _ := parseIntParam(v)
	return imm(n, t)
}

// ternary evaluates e's condition and hands the value of the branch taken,
// with its type, to put (the caller's copy into memory or a register); the
// end label is landed by the caller's next instruction.
func (g *gen) ternary(e *lang.Ternary, put func(x *val, t *Type)) {
	elseL, endL := g.label(), g.label()
	g.branchFalse(e.Cond, elseL)
	put(g.expr(e.Then), g.sc.types[e.Then])
	g.emit(asm.Ja.Label(endL))
	g.mark(elseL)
	put(g.expr(e.Else), g.sc.types[e.Else])
	g.mark(endL)
}

var aluOps = map[string]asm.ALUOp{
	"+": asm.Add, "-": asm.Sub, "*": asm.Mul, "/": asm.Div, "%": asm.Mod,
	"&": asm.And, "|": asm.Or, "^": asm.Xor, "<<": asm.LSh, ">>": asm.RSh,
}

func (g *gen) binary(e *lang.Binary) *val {
	t := g.sc.types[e]
	switch e.Op {
	case "&&", "||", "==", "!=", "<", "<=", ">", ">=":
		falseL, endL := g.label(), g.label()
		dst := g.newTemp(t)
		g.emit(asm.Mov.Imm(dst.reg, 1))
		g.branchFalse(e, falseL)
		return g.setIfJumped(dst, 0, falseL, endL)
	}
	if g.isPtrArith(e) {
		return g.ptrArith(e, t)
	}
	if e.Op == "?:" {
		dst := g.newTemp(t)
		x := g.expr(e.X)
		g.load(dst.reg, x)
		g.release(x)
		end := g.label()
		g.emit(asm.JNE.Imm(dst.reg, 0, end))
		y := g.expr(e.Y)
		g.load(dst.reg, y)
		g.release(y)
		g.mark(end)
		g.emit(asm.Mov.Reg(dst.reg, dst.reg))
		return dst
	}
	x, y := g.expr(e.X), g.expr(e.Y)
	if x.kind == vImm && y.kind == vImm {
		if v, ok := fold(e.Op, x.imm, y.imm, t.Signed); ok {
			return imm(v, t)
		}
	}
	x = g.toTemp(x)
	x.t = t
	g.arith(e.Op, x, y, t.Signed)
	return x
}

func fold(op string, a, b int64, signed bool) (int64, bool) {
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "*":
		return a * b, true
	case "/":
		if b == 0 {
			return 0, false
		}
		if signed {
			return a / b, true
		}
		return int64(uint64(a) / uint64(b)), true
	case "%":
		if b == 0 {
			return 0, false
		}
		if signed {
			return a % b, true
		}
		return int64(uint64(a) % uint64(b)), true
	case "&":
		return a & b, true
	case "|":
		return a | b, true
	case "^":
		return a ^ b, true
	case "<<":
		return a << uint(b&63), true
	case ">>":
		if signed {
			return a >> uint(b&63), true
		}
		return int64(uint64(a) >> uint(b&63)), true
	}
	return 0, false
}

// arith applies op to the temporary x with operand y, releasing y.
func (g *gen) arith(op string, x, y *val, signed bool) {
	if (op == "/" || op == "%") && (y.kind != vImm || y.imm == 0) {
		// As bpftrace: x / 0 and x % 0 are 1, and the run ends with a
		// warning. A zero divisor turns the operation into 1 / 1 or 1 % 2:
		// no registers are allocated on only one path.
		yr := g.toTemp(y)
		nz := g.label()
		div := int32(1)
		if op == "%" {
			div = 2
		}
		g.emit(asm.JNE.Imm(yr.reg, 0, nz), asm.Mov.Imm(x.reg, 1), asm.Mov.Imm(yr.reg, div))
		g.bumpStat(statDivZero)
		g.mark(nz)
		g.arithOp(op, x, yr, signed)
		return
	}
	g.arithOp(op, x, y, signed)
}

func (g *gen) arithOp(op string, x, y *val, signed bool) {
	defer g.release(y)
	aop := aluOps[op]
	if op == ">>" && signed {
		aop = asm.ArSh
	}
	if (op == "/" || op == "%") && signed {
		// BPF's DIV/MOD are unsigned (signed forms need cpu v4): divide
		// magnitudes and fix the sign.
		g.signedDivMod(op, x, y)
		return
	}
	g.alu(aop, x.reg, y)
}

func (g *gen) signedDivMod(op string, x, y *val) {
	yr := g.toTemp(y)
	neg := g.newTemp(tInt64)
	l1, l2, l3 := g.label(), g.label(), g.label()
	g.emit(asm.Mov.Imm(neg.reg, 0))
	g.emit(asm.JSGE.Imm(x.reg, 0, l1), asm.Neg.Imm(x.reg, 0), asm.Xor.Imm(neg.reg, 1))
	g.mark(l1)
	g.emit(asm.JSGE.Imm(yr.reg, 0, l2), asm.Neg.Imm(yr.reg, 0))
	if op == "/" {
		g.emit(asm.Xor.Imm(neg.reg, 1))
	}
	g.mark(l2)
	if op == "/" {
		g.emit(asm.Div.Reg(x.reg, yr.reg))
	} else {
		g.emit(asm.Mod.Reg(x.reg, yr.reg))
	}
	g.emit(asm.JEq.Imm(neg.reg, 0, l3), asm.Neg.Imm(x.reg, 0))
	g.mark(l3)
	g.emit(asm.Mov.Reg(x.reg, x.reg))
	g.release(neg)
	g.release(yr)
}

func (g *gen) unary(e *lang.Unary) *val {
	t := g.sc.types[e]
	switch e.Op {
	case "++", "--":
		return g.incDec(e)
	case "*":
		return g.deref(e)
	case "&":
		x := g.varAddr(e.X.(*lang.Var))
		x.t = t
		return x
	case "!":
		falseL, endL := g.label(), g.label()
		dst := g.newTemp(t)
		g.emit(asm.Mov.Imm(dst.reg, 1))
		g.branchTrue(e.X, falseL)
		g.emit(asm.Ja.Label(endL))
		g.mark(falseL)
		g.emit(asm.Mov.Imm(dst.reg, 0))
		g.mark(endL)
		g.emit(asm.Mov.Reg(dst.reg, dst.reg))
		return dst
	}
	x := g.expr(e.X)
	if x.kind == vImm {
		switch e.Op {
		case "-":
			return imm(-x.imm, t)
		case "~":
			return imm(^x.imm, t)
		}
	}
	x = g.toTemp(x)
	x.t = t
	switch e.Op {
	case "-":
		g.emit(asm.Neg.Imm(x.reg, 0))
	case "~":
		g.emit(asm.Xor.Imm(x.reg, -1))
	}
	return x
}

func (g *gen) incDec(e *lang.Unary) *val {
	delta := int32(1)
	if e.Op == "--" {
		delta = -1
	}
	switch x := e.X.(type) {
	case *lang.Var:
		home := g.vars[g.sc.varKey(x)]
		if home.t.Kind == KPtr {
			delta *= int32(elemSize(home.t))
		}
		cur := g.newTemp(home.t)
		g.load(cur.reg, home)
		res := cur
		if e.Postfix {
			res = g.newTemp(home.t)
			g.emit(asm.Mov.Reg(res.reg, cur.reg))
		}
		g.emit(asm.Add.Imm(cur.reg, delta))
		g.emit(asm.StoreMem(asm.R10, home.off, cur.reg, asm.DWord))
		if e.Postfix {
			g.release(cur)
		}
		return res
	case *lang.MapRef:
		if mt := g.c.maps[x.Name].Value; mt.Kind == KPtr {
			delta *= int32(elemSize(mt))
		}
		old := g.mapRead(x)
		nv := g.newTemp(tInt64)
		g.load(nv.reg, old)
		g.emit(asm.Add.Imm(nv.reg, delta))
		g.mapStore(x, nv)
		if e.Postfix {
			g.release(nv)
			return old
		}
		g.release(old)
		return nv
	}
	panic("incDec")
}

var jumpOps = map[string][2]asm.JumpOp{ // unsigned, signed
	"==": {asm.JEq, asm.JEq}, "!=": {asm.JNE, asm.JNE},
	"<": {asm.JLT, asm.JSLT}, "<=": {asm.JLE, asm.JSLE},
	">": {asm.JGT, asm.JSGT}, ">=": {asm.JGE, asm.JSGE},
}

var negated = map[string]string{"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}

// branchFalse jumps to label when e is false (zero) and falls through otherwise.
func (g *gen) branchFalse(e lang.Expr, label string) {
	switch e := e.(type) {
	case *lang.Binary:
		switch e.Op {
		case "&&":
			g.branchFalse(e.X, label)
			g.branchFalse(e.Y, label)
			return
		case "||":
			ok := g.label()
			g.branchTrue(e.X, ok)
			g.branchFalse(e.Y, label)
			g.mark(ok)
			return
		case "==", "!=", "<", "<=", ">", ">=":
			g.compare(e, negated[e.Op], label)
			return
		}
	case *lang.Unary:
		if e.Op == "!" {
			g.branchTrue(e.X, label)
			return
		}
	case *lang.IntLit:
		if e.Val == 0 {
			g.emit(asm.Ja.Label(label))
		}
		return
	}
	x := g.toTemp(g.expr(e))
	g.emit(asm.JEq.Imm(x.reg, 0, label))
	g.release(x)
}

// branchTrue jumps to label when e is true and falls through otherwise.
func (g *gen) branchTrue(e lang.Expr, label string) {
	switch e := e.(type) {
	case *lang.Binary:
		switch e.Op {
		case "&&":
			no := g.label()
			g.branchFalse(e.X, no)
			g.branchTrue(e.Y, label)
			g.mark(no)
			return
		case "||":
			g.branchTrue(e.X, label)
			g.branchTrue(e.Y, label)
			return
		case "==", "!=", "<", "<=", ">", ">=":
			g.compare(e, e.Op, label)
			return
		}
	case *lang.Unary:
		if e.Op == "!" {
			g.branchFalse(e.X, label)
			return
		}
	}
	x := g.toTemp(g.expr(e))
	g.emit(asm.JNE.Imm(x.reg, 0, label))
	g.release(x)
}

// compare jumps to label when (e.X op e.Y) holds.
func (g *gen) compare(e *lang.Binary, op, label string) {
	xt, yt := g.sc.types[e.X], g.sc.types[e.Y]
	if xt.Kind == KString && yt.Kind == KString {
		g.strCompare(e, op == "==", label)
		return
	}
	if xt.Kind == KBuf && yt.Kind == KBuf {
		g.bufCompare(e, op == "==", label)
		return
	}
	x, y := g.expr(e.X), g.expr(e.Y)
	signed := xt.Signed && yt.Signed
	if x.kind == vImm && y.kind != vImm {
		// Put the constant on the right: swap and mirror the operator.
		x, y = y, x
		op = map[string]string{"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
	}
	x = g.toTemp(x)
	ops := jumpOps[op]
	jop := ops[0]
	if signed {
		jop = ops[1]
	}
	g.jump(jop, x.reg, y, label)
	g.release(x)
	g.release(y)
}

// strCompare jumps to label when the strings are equal (eq) or differ (!eq).
func (g *gen) strCompare(e *lang.Binary, eq bool, label string) {
	var lit *string
	var other lang.Expr
	if s, ok := e.Y.(*lang.StrLit); ok {
		lit, other = &s.Val, e.X
	} else if s, ok := e.X.(*lang.StrLit); ok {
		lit, other = &s.Val, e.Y
	}
	differ, same := g.label(), g.label()
	if lit != nil {
		x := g.expr(other)
		n := len(*lit) + 1
		if n > x.size {
			n = x.size // the buffer cannot hold the terminator: compare what fits
			if len(*lit) > x.size {
				g.emit(asm.Ja.Label(differ))
				n = 0
			}
		}
		b := []byte(*lit + "\x00")
		for i := 0; i < n; i++ {
			g.emit(asm.LoadMem(asm.R0, x.base(), x.off+int16(i), asm.Byte),
				asm.JNE.Imm(asm.R0, int32(b[i]), differ))
		}
	} else {
		x, y := g.expr(e.X), g.expr(e.Y)
		n := min(x.size, y.size)
		for i := 0; i < n; i++ {
			g.emit(asm.LoadMem(asm.R0, x.base(), x.off+int16(i), asm.Byte),
				asm.LoadMem(asm.R1, y.base(), y.off+int16(i), asm.Byte),
				asm.JNE.Reg(asm.R0, asm.R1, differ),
				asm.JEq.Imm(asm.R0, 0, same))
		}
		if x.size != y.size {
			// The longer one must end where the shorter one does.
			longer := x
			if y.size > x.size {
				longer = y
			}
			g.emit(asm.LoadMem(asm.R0, longer.base(), longer.off+int16(n), asm.Byte),
				asm.JNE.Imm(asm.R0, 0, differ))
		}
	}
	g.compareEnd(eq, label, same, differ)
}

// compareEnd ends a comparison whose code goes on at same when the
// operands are equal and jumps to differ when they are not: it jumps to
// label when they are equal (eq) or differ (!eq), else falls through.
func (g *gen) compareEnd(eq bool, label, same, differ string) {
	g.mark(same)
	if eq {
		g.emit(asm.Ja.Label(label))
		g.mark(differ)
	} else {
		skip := g.label()
		g.emit(asm.Ja.Label(skip))
		g.mark(differ)
		g.emit(asm.Ja.Label(label))
		g.mark(skip)
	}
}

func (g *gen) field(e *lang.Field) *val {
	if v, ok := g.packetField(e); ok {
		return v
	}
	if xt := g.sc.types[e.X]; xt != nil && xt.Kind == KTuple {
		return g.tupleElem(e, xt)
	}
	if id, ok := e.X.(*lang.Ident); !ok || id.Name != "args" {
		return g.structRead(e)
	}
	f, _ := g.sc.ctx.Arg(e.Name)
	t := g.sc.types[e]
	switch {
	case t.Kind == KString && f.DataLoc:
		// __data_loc: the low 16 bits are the data's offset in the record.
		buf := g.buffer(t.Size, t)
		g.emit(asm.LoadMem(asm.R3, ctxReg, int16(f.Offset), asm.Word),
			asm.And.Imm(asm.R3, 0xffff),
			asm.Add.Reg(asm.R3, ctxReg))
		g.load(asm.R1, buf)
		g.emit(asm.Mov.Imm(asm.R2, int32(t.Size)),
			asm.FnProbeReadKernelStr.Call())
		g.countReadFault()
		return buf
	case t.Kind == KString || t.Kind == KArray:
		// A char (or integer) array inside the record: copy it out.
		buf := g.buffer(t.Size, t)
		for i := 0; i < t.Size; i++ {
			g.emit(asm.LoadMem(asm.R0, ctxReg, int16(f.Offset+i), asm.Byte),
				asm.StoreMem(buf.base(), buf.off+int16(i), asm.R0, asm.Byte))
		}
		return buf
	}
	dst := g.newTemp(t)
	if f.Regs {
		g.regsField(f, dst, t.Kind == KInt && t.Signed)
		return dst
	}
	size := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}[f.Size]
	g.emit(asm.LoadMem(dst.reg, ctxReg, int16(f.Offset), size))
	if t.Kind == KInt && t.Signed {
		g.extend(dst.reg, f.Size, true)
	}
	return dst
}

// helperCall moves args into R1..R5, calls fn and returns R0 in a temporary
// (or nil when the result is not wanted).
func (g *gen) helperCall(fn asm.BuiltinFunc, want bool, args ...*val) *val {
	for i, a := range args {
		g.load(asm.R1+asm.Register(i), a)
	}
	for _, a := range args {
		g.release(a)
	}
	g.emit(fn.Call())
	if !want {
		return nil
	}
	r := g.newTemp(tInt64)
	g.emit(asm.Mov.Reg(r.reg, asm.R0))
	return r
}

func (g *gen) mapPtr(r asm.Register, name string) {
	g.emit(asm.LoadMapPtr(r, 0).WithReference(name))
}
