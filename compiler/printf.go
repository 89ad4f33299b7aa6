package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// WalkFormat goes through format f, whose conversions ParseFormat found
// as verbs: text gets the text between conversions as written (%% stays
// %%), conv each conversion with its index. What follows a conversion
// verbs lacks is text.
func WalkFormat(f string, verbs []Verb, text func(string), conv func(int, Verb)) {
	start, vi := 0, 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			i++
			continue
		}
		if vi >= len(verbs) {
			break
		}
		text(f[start:i])
		conv(vi, verbs[vi])
		i += len(verbs[vi].Spec) - 1
		start = i + 1
		vi++
	}
	text(f[start:])
}

// ParseFormat splits a printf format into conversions. Length modifiers
// (h, hh, l, ll, z, j, t) are accepted and ignored: arguments are 64-bit.
func ParseFormat(f string) ([]Verb, error) {
	var verbs []Verb
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		start := i
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		for i < len(f) && (f[i] >= '0' && f[i] <= '9' || f[i] == '.') {
			i++
		}
		for i < len(f) && strings.IndexByte("hlzjtL", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			return nil, fmt.Errorf("incomplete conversion %q at the end of the format", f[start:])
		}
		switch f[i] {
		case 'd', 'i', 'u', 'x', 'X', 'o', 's', 'c', 'p':
		case 'r':
			// %rx: every byte as \xNN; %rh: hex bytes separated by spaces.
			if i+1 < len(f) && (f[i+1] == 'x' || f[i+1] == 'h') {
				verbs = append(verbs, Verb{Spec: f[start : i+2], Conv: 'r'})
				i++
				continue
			}
		case 'g':
			// %gr: GFP flags by name.
			if i+1 < len(f) && f[i+1] == 'r' {
				verbs = append(verbs, Verb{Spec: f[start : i+2], Conv: 'g'})
				i++
				continue
			}
			return nil, fmt.Errorf("unknown conversion %%%c", f[i])
		default:
			return nil, fmt.Errorf("unknown conversion %%%c", f[i])
		}
		verbs = append(verbs, Verb{Spec: f[start : i+1], Conv: f[i]})
	}
	return verbs, nil
}

// escapeTrailingPercent escapes a % that only blanks follow to the end of
// the format ("%5s%\n", "100%"): bpftrace prints it as it is, where C
// would see an incomplete conversion.
func escapeTrailingPercent(f string) string {
	body := strings.TrimRight(f, " \t\n")
	if !strings.HasSuffix(body, "%") {
		return f
	}
	// An even run of %s is escaped already: %% ends "50%%\n".
	run := len(body) - len(strings.TrimRight(body, "%"))
	if run%2 == 0 {
		return f
	}
	return body + "%" + f[len(body):]
}

func checkPrintf(k *checker, e *lang.Call) *Type {
	if len(e.Args) == 0 {
		k.errorf(e.Span, "printf() needs a format string")
		return tNone
	}
	lit, ok := k.strArg(e, 0, "printf()'s format must be a string literal")
	if !ok {
		return tNone
	}
	// Every later reader of the format (records, debugf, iterators) sees
	// it with its trailing % escaped.
	lit.Val = escapeTrailingPercent(lit.Val)
	verbs, err := ParseFormat(lit.Val)
	if err != nil {
		k.errorf(lit.Span, "%v", err)
		return tNone
	}
	args := e.Args[1:]
	for i, a := range args {
		t := k.expr(a)
		if i >= len(verbs) {
			continue
		}
		switch verbs[i].Conv {
		case 's':
			if t.Kind != KString && t.Kind != KInt && t.Kind != KTuple && t.Kind != KInet && t.Kind != KStack && t.Kind != KSym && t.Kind != KBuf && t.Kind != KArray {
				k.errorf(a.Sp(), "%%s cannot print %s", t)
			}
		case 'r':
			if t.Kind != KString && t.Kind != KBuf {
				k.errorf(a.Sp(), "%%r needs a buffer or string, not %s", t)
			}
		default:
			if t.Kind != KInt && t.Kind != KPtr {
				d := k.errorf(a.Sp(), "%s needs an integer, not %s", verbs[i].Spec, t)
				if t.Kind == KString {
					d.Hint("use %%s for strings")
				}
			}
		}
	}
	if e.Name == "printf" && k.sc.ctx != nil && k.sc.ctx.SeqFile && k.inCallback == 0 {
		if k.sc.seqCalls == nil {
			k.sc.seqCalls = map[*lang.Call]bool{}
		}
		k.sc.seqCalls[e] = true
		k.checkSeqPrintf(e) // iter.go
	}
	if len(args) != len(verbs) {
		k.errorf(e.Span, "printf: the format has %d conversion%s but %d argument%s follow",
			len(verbs), plural(len(verbs)), len(args), plural(len(args)))
	}
	return tNone
}

func emitPrintf(g *gen, e *lang.Call) *val {
	if g.seqFile() {
		emitSeqPrintf(g, e) // iter.go
		return nil
	}
	emitPrintfKind(g, e)
	return nil
}

// printfRecord lays out the record of a printf-like call: the id, then
// each argument at its own width.
func printfRecord(kind uint64) func(c *compiler, sc *scope, e *lang.Call) *Printf {
	return func(c *compiler, sc *scope, e *lang.Call) *Printf {
		lit := e.Args[0].(*lang.StrLit)
		verbs, _ := ParseFormat(lit.Val)
		pf := &Printf{Format: lit.Val, Verbs: verbs, Kind: kind}
		off := 8
		for _, a := range e.Args[1:] {
			t := sc.types[a]
			pf.Args = append(pf.Args, t)
			pf.Offs = append(pf.Offs, off)
			off += t.MemSize()
		}
		pf.Size = off
		return pf
	}
}

func emitPrintfKind(g *gen, e *lang.Call) {
	id, pf := g.record(e)
	// The id first, then the arguments (they may call helpers; none
	// touches the record), then their stores.
	rec := g.mem(align8(pf.Size), nil)
	g.emit(storeImm(rec.base(), rec.off, id, asm.DWord))
	vals := make([]*val, len(pf.Args))
	for i, a := range e.Args[1:] {
		vals[i] = g.expr(a)
	}
	if n := len(vals) - 1; n >= 0 && pf.Args[n].MemSize() == 8 && g.backToR0(vals[n]) {
		// The last argument was just computed from a helper's R0.
		g.emit(asm.StoreMem(rec.base(), rec.off+int16(pf.Offs[n]), asm.R0, asm.DWord))
		g.release(vals[n])
		vals = vals[:n]
	}
	for i, v := range vals {
		g.store(rec.part(pf.Offs[i], pf.Args[i].MemSize(), pf.Args[i]), v)
		g.release(v)
	}
	g.output(rec)
}

// output sends a stack record to the ring buffer, counting drops.
func (g *gen) output(rec *val) {
	g.outputRecord(rec)
}

// outputRecord is output for exit()'s record, which alone needs no more
// than a small ring buffer.
func (g *gen) outputRecord(rec *val) {
	g.mapPtr(asm.R1, ringMap)
	g.load(asm.R2, rec)
	g.emit(asm.Mov.Imm(asm.R3, int32(rec.size)), asm.Mov.Imm(asm.R4, 0), asm.FnRingbufOutput.Call())
	g.countFailure(statLost)
}
