package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Output other than printf (printf.go): errorf() and warnf(), debugf(),
// system(), cat() and exit().
//
// debugf() writes to the kernel's trace pipe with bpf_trace_printk, for
// debugging a script: what it prints is in tracefs's trace (mounted
// for it when missing).

// debugf's conversions, as bpf_trace_printk takes them: at most three
// arguments, integers or strings.
func checkDebugf(k *checker, e *lang.Call) *Type {
	checkPrintf(k, e)
	k.c.opts.Env.NeedTracefs() // where the output is read
	if len(e.Args) > 4 {
		k.errorf(e.Span, "debugf() takes at most 3 arguments after the format (bpf_trace_printk's limit)")
	}
	if len(e.Args) > 0 {
		if lit, ok := e.Args[0].(*lang.StrLit); ok {
			verbs, _ := ParseFormat(lit.Val)
			for i, v := range verbs {
				if v.Conv == 'r' || v.Conv == 'c' {
					k.errorf(lit.Span, "debugf() cannot print %s (bpf_trace_printk)", v.Spec)
				}
				if i+1 < len(e.Args) && v.Conv == 's' {
					if t := k.sc.types[e.Args[i+1]]; t != nil && t.Kind != KString {
						k.errorf(e.Args[i+1].Sp(), "debugf()'s %%s prints strings only, not %s", t)
					}
				}
			}
		}
	}
	return tNone
}

// emitDebugf calls bpf_trace_printk with the format on the stack. String
// arguments are passed by address; the kernel formats %s from them.
func emitDebugf(g *gen, e *lang.Call) *val {
	lit := e.Args[0].(*lang.StrLit)
	verbs, _ := ParseFormat(lit.Val)
	format := traceFormat(lit.Val, verbs)
	fmtBuf := g.strLit(format, len(format)+1)
	args := []*val{fmtBuf, imm(int64(len(format)+1), tInt64)}
	for _, a := range e.Args[1:] {
		args = append(args, g.expr(a))
	}
	g.helperCall(asm.FnTracePrintk, false, args...)
	return nil
}

// traceFormat rewrites a format for bpf_trace_printk, which knows fewer
// length modifiers: integers are passed as 64 bits.
func traceFormat(f string, verbs []Verb) string {
	var b strings.Builder
	WalkFormat(f, verbs, func(s string) { b.WriteString(s) }, func(_ int, v Verb) {
		body := strings.TrimRight(v.Spec[1:len(v.Spec)-1], "hlzjtL")
		switch v.Conv {
		case 's':
			b.WriteString("%" + body + "s")
		case 'p':
			b.WriteString("%p")
		default:
			b.WriteString("%" + body + "ll" + string(v.Conv))
		}
	})
	return b.String()
}

// reportRecord lays out an errorf or warnf record: a printf whose text
// user space prints to stderr after the call's position (in the macro that
// made it, for a call expanded from one).
func reportRecord(kind uint64) func(c *compiler, sc *scope, e *lang.Call) *Printf {
	return func(c *compiler, sc *scope, e *lang.Call) *Printf {
		pf := printfRecord(kind)(c, sc, e)
		pf.Loc = c.location(e.Span)
		for x := e.Span.Exp; x != nil && x.Macro != ""; x = x.Call.Exp {
			pf.Expanded = append(pf.Expanded, SourceRef{Loc: c.location(x.Call), Context: c.context(x.Call)})
		}
		return pf
	}
}

func emitReport(g *gen, e *lang.Call) *val {
	emitPrintfKind(g, e)
	return nil
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
	line, ls := lang.LineAt(src, sp.Start.Offset)
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

func checkExit(k *checker, e *lang.Call) *Type {
	k.noteReturn()
	if k.nargs(e, 0, 1) && len(e.Args) == 1 {
		if t := k.expr(e.Args[0]); t.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "exit() takes an integer exit code")
		}
	}
	return tNone
}

func emitExit(g *gen, e *lang.Call) *val {
	code := imm(0, tInt64)
	if len(e.Args) == 1 {
		code = g.expr(e.Args[0])
	}
	rec := g.buffer(16, nil)
	g.emit(storeImm(rec.base(), rec.off, int64(EventExit), asm.DWord))
	g.store(rec.part(8, 8, nil), code)
	g.release(code)
	g.outputRecord(rec)
	g.exitFlag()
	g.emit(storeImm(asm.R0, 0, 1, asm.DWord))
	// exit() ends this probe's run too.
	g.emit(asm.Ja.Label(g.exit))
	return nil
}

// system(fmt, ...), cat(fmt, ...) and time(fmt) are printf records that user
// space handles differently.
func checkCommandFunc(k *checker, e *lang.Call) *Type {
	if e.Name == "system" {
		k.needUnsafe(e)
	}
	return checkPrintf(k, e)
}

// commandRecord lays out the record of system(), cat() or time(): time's
// format is strftime's, applied in user space, and its record has no
// arguments.
func commandRecord(kind uint64) func(c *compiler, sc *scope, e *lang.Call) *Printf {
	if kind != EventTime {
		return printfRecord(kind)
	}
	return func(c *compiler, sc *scope, e *lang.Call) *Printf {
		format := "%H:%M:%S\n"
		if len(e.Args) == 1 {
			format = e.Args[0].(*lang.StrLit).Val
		}
		return &Printf{Format: format, Kind: kind, Size: 8}
	}
}

func emitCommandFunc(g *gen, e *lang.Call) *val {
	if id, pf := g.record(e); pf.Kind == EventTime {
		g.event(uint64(id))
		return nil
	}
	emitPrintfKind(g, e)
	return nil
}
