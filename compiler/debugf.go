package compiler

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

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
	vi := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			b.WriteString("%%")
			i++
			continue
		}
		if vi >= len(verbs) {
			b.WriteString(f[i:])
			break
		}
		v := verbs[vi]
		vi++
		i += len(v.Spec) - 1
		body := strings.TrimRight(v.Spec[1:len(v.Spec)-1], "hlzjtL")
		switch v.Conv {
		case 's':
			b.WriteString("%" + body + "s")
		case 'p':
			b.WriteString("%p")
		default:
			b.WriteString("%" + body + "ll" + string(v.Conv))
		}
	}
	return b.String()
}
