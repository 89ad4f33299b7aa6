package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Builtins and functions that bpftrace defines in its standard library and
// that bpfsh's library (stdlib/base.bt) builds on: probetype, usermode,
// strlen, signal_name, errorf and warnf.

// probeType is bpftrace's name for a kind of probe (BEGIN and END are "special").
func probeType(provider string) string {
	switch provider {
	case "BEGIN", "END", "begin", "end", "self":
		return "special"
	}
	return provider
}

// emitUsermode is 1 when the probe fired in user mode. BEGIN and END run
// for bpfsh itself (bpftrace: uprobes on its own binary), uprobes and USDT
// always in user mode; a profile sample looks at the interrupted code
// segment (x86-64 pt_regs->cs); everything else traces the kernel.
func emitUsermode(g *gen) *val {
	switch g.sc.prov.Name {
	case "BEGIN", "END", "uprobe", "uretprobe", "usdt":
		return imm(1, tUint64)
	case "profile":
		const ptRegsCS = 136 // struct bpf_perf_event_data starts with the regs
		r := g.newTemp(tUint64)
		// (cs & 3) == 3 is user mode: (cs&3 + 1) >> 2 is 1 just then.
		g.emit(asm.LoadMem(r.reg, ctxReg, ptRegsCS, asm.DWord), asm.And.Imm(r.reg, 3),
			asm.Add.Imm(r.reg, 1), asm.RSh.Imm(r.reg, 2))
		return r
	}
	return imm(0, tUint64)
}

// emitReport sends an errorf or warnf record: a printf whose text user space
// prints to stderr after the call's position (in the macro that made it,
// for a call expanded from one).
func emitReport(kind uint64) func(g *gen, e *lang.Call) *val {
	return func(g *gen, e *lang.Call) *val {
		emitPrintfKind(g, e, kind)
		pf := g.c.printfs[len(g.c.printfs)-1]
		pf.Loc = g.c.location(e.Span)
		for x := e.Span.Exp; x != nil && x.Macro != ""; x = x.Call.Exp {
			pf.Expanded = append(pf.Expanded, SourceRef{Loc: g.c.location(x.Call), Context: g.c.context(x.Call)})
		}
		return nil
	}
}

// location renders a span as bpftrace prints a runtime message's origin:
// file:line:col-endcol.
func (c *compiler) location(sp lang.Span) string {
	file, _ := sp.Origin(c.file(), c.prog.Src)
	if sp.End.Line == sp.Start.Line && sp.End.Col > sp.Start.Col {
		return fmt.Sprintf("%s:%d:%d-%d", file, sp.Start.Line, sp.Start.Col, sp.End.Col)
	}
	return fmt.Sprintf("%s:%d:%d", file, sp.Start.Line, sp.Start.Col)
}

// context is the source line of sp with the span underlined by '~', as
// bpftrace shows the source of a runtime message (a tab counts 4).
func (c *compiler) context(sp lang.Span) string {
	_, src := sp.Origin(c.file(), c.prog.Src)
	line, ls := lineText(src, sp.Start.Offset)
	start, end := sp.Start.Offset-ls, len(line)
	if sp.End.Line == sp.Start.Line {
		end = min(end, sp.End.Offset-ls)
	}
	var text, mark strings.Builder
	for i := 0; i < len(line); i++ {
		ch := line[i : i+1]
		if ch == "\t" {
			ch = "    "
		}
		text.WriteString(ch)
		if i < start {
			mark.WriteString(strings.Repeat(" ", len(ch)))
		} else if i < end {
			mark.WriteString(strings.Repeat("~", len(ch)))
		}
	}
	return text.String() + "\n" + mark.String()
}
