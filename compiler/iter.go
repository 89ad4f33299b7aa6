package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Iterators (iter:task, ...): printf() writes into the iterator's
// seq_file with bpf_seq_printf, as bpftrace does, and the program runs for
// every object however early exit() was called: the whole walk happens in
// one read of the iterator.

// seqFile reports whether printf output goes to the probe's seq_file.
func (g *gen) seqFile() bool { return g.sc.ctx != nil && g.sc.ctx.SeqFile && !g.callback }

// emitSeqPrintf calls bpf_seq_printf(ctx->meta->seq, fmt, fmt_size, data,
// data_len): data holds one u64 per argument, strings by address.
func emitSeqPrintf(g *gen, e *lang.Call) {
	lit := e.Args[0].(*lang.StrLit)
	verbs, _ := ParseFormat(lit.Val)
	format := traceFormat(lit.Val, verbs)
	args := e.Args[1:]
	var data *val
	if len(args) > 0 {
		data = g.mem(8*len(args), nil)
	}
	var keep []*val // strings must live until the call
	for i, a := range args {
		v := g.expr(a)
		slot := data.part(8*i, 8, tUint64)
		if t := g.sc.types[a]; t.InMemory() || t.Kind == KBuf {
			g.load(asm.R0, v)
			g.emit(asm.StoreMem(slot.base(), slot.off, asm.R0, asm.DWord))
			keep = append(keep, v)
			continue
		}
		g.store(slot, v)
		g.release(v)
	}
	fmtBuf := g.strLit(format, len(format)+1)
	// seq: ctx->meta->seq, loaded directly (BTF-typed pointers).
	g.emit(asm.LoadMem(asm.R1, ctxReg, 0, asm.DWord), asm.LoadMem(asm.R1, asm.R1, 0, asm.DWord))
	g.load(asm.R2, fmtBuf)
	g.emit(asm.Mov.Imm(asm.R3, int32(len(format)+1)))
	if data != nil {
		g.load(asm.R4, data)
		g.emit(asm.Mov.Imm(asm.R5, int32(8*len(args))))
	} else {
		g.emit(asm.Mov.Imm(asm.R4, 0), asm.Mov.Imm(asm.R5, 0))
	}
	g.emit(asm.FnSeqPrintf.Call())
	g.release(fmtBuf)
	for _, v := range keep {
		g.release(v)
	}
}

// checkSeqPrintf limits iterator printf()s to what bpf_seq_printf prints.
func (k *checker) checkSeqPrintf(e *lang.Call) {
	if len(e.Args) > 13 {
		k.errorf(e.Span, "printf() in an iterator takes at most 12 arguments (bpf_seq_printf's limit)")
	}
	for _, a := range e.Args[1:] {
		if t := k.sc.types[a]; t != nil && t.Kind != KInt && t.Kind != KPtr && t.Kind != KString {
			k.errorf(a.Sp(), "printf() in an iterator prints integers and strings, not %s", t)
		}
	}
}

// iterPrologue skips the iterator's last call, made with no object (a NULL
// task) to let programs that print a footer do so, as bpftrace skips it.
func (g *gen) iterPrologue() {
	if g.seqFile() {
		g.emit(asm.LoadMem(asm.R1, ctxReg, 8, asm.DWord), asm.JEq.Imm(asm.R1, 0, g.exit))
	}
}
