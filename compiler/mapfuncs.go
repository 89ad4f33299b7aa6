package compiler

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// Map functions: print, clear and zero act in user space (an event asks for
// them, so they happen in order with printf output); delete and has_key act
// in the kernel; len() counts a map's keys. The aggregations' check is
// here too; maps.go emits them.

// mapArg returns a call's first argument as a map, reporting when it is not one.
func (k *checker) mapArg(e *lang.Call, wantKeys bool) (*lang.MapRef, *mapInfo) {
	if len(e.Args) == 0 {
		k.errorf(e.Span, "%s() needs a map", e.Name)
		return nil, nil
	}
	m, ok := e.Args[0].(*lang.MapRef)
	if !ok {
		k.errorf(e.Args[0].Sp(), "%s() needs a map, like %s(@name)", e.Name, e.Name)
		return nil, nil
	}
	mi := k.maps[m.Name]
	if mi == nil {
		if !k.quiet {
			k.errorf(m.Span, "undefined map @%s", m.Name)
		}
		return nil, nil
	}
	if !wantKeys && m.Keys != nil {
		k.errorf(m.Span, "%s() takes the whole map: %s(@%s)", e.Name, e.Name, m.Name)
	}
	return m, mi
}

func checkMapOnly(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 1, 1) {
		k.mapArg(e, false)
	}
	return tNone
}

func checkPrint(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 3) {
		return tNone
	}
	if m, ok := e.Args[0].(*lang.MapRef); ok && m.Keys == nil {
		k.mapArg(e, false)
		for _, a := range e.Args[1:] {
			if _, ok := k.constEval(a); !ok {
				k.errorf(a.Sp(), "print()'s top and div must be constants")
			}
		}
		return tNone
	}
	if len(e.Args) > 1 {
		k.errorf(e.Span, "print() of a value takes one argument")
	}
	t := k.expr(e.Args[0])
	switch t.Kind {
	case KInt, KString, KTuple, KInet, KStack, KSym, KBuf, KArray:
	case KStruct:
		if _, err := printedStruct(t); err != nil {
			k.errorf(e.Args[0].Sp(), "print() cannot print %s: %v", t, err)
		}
	default:
		k.errorf(e.Args[0].Sp(), "print() cannot print %s", t)
	}
	return tNone
}

// maxPrintedStruct bounds the struct print() copies into its record.
const maxPrintedStruct = 4096

// printedStruct is the type of a struct's bytes in print()'s record, which
// user space lays out by the struct's BTF.
func printedStruct(t *Type) (*Type, error) {
	if t.BTF == nil {
		return nil, fmt.Errorf("its layout is unknown")
	}
	size, err := btf.Sizeof(t.BTF)
	switch {
	case err != nil:
		return nil, err
	case size > maxPrintedStruct:
		return nil, fmt.Errorf("%d bytes, more than %d", size, maxPrintedStruct)
	}
	in := *t
	in.Inline, in.Size = true, size
	return &in, nil
}

func (g *gen) mapIndex(m *lang.MapRef) int { return g.c.maps[m.Name].Order }

// printRecord lays out print(value)'s record: a printf whose format prints
// the value alone. print(@map) sends an event instead.
func printRecord(c *compiler, sc *scope, e *lang.Call) *Printf {
	if m, ok := e.Args[0].(*lang.MapRef); ok && m.Keys == nil {
		return nil
	}
	t := sc.types[e.Args[0]]
	if t.Kind == KStruct {
		t, _ = printedStruct(t)
	}
	return &Printf{Value: true, Args: []*Type{t}, Offs: []int{8}, Size: 8 + t.MemSize()}
}

func emitPrint(g *gen, e *lang.Call) *val {
	if m, ok := e.Args[0].(*lang.MapRef); ok && m.Keys == nil {
		var top, div int64
		if len(e.Args) > 1 {
			top, _ = g.constant(e.Args[1])
		}
		if len(e.Args) > 2 {
			div, _ = g.constant(e.Args[2])
		}
		g.event(EventPrint, int64(g.mapIndex(m)), top, div)
		return nil
	}
	// print(value): a printf record whose format prints the value alone.
	id, pf := g.record(e)
	t := pf.Args[0]
	v := g.expr(e.Args[0])
	rec := g.mem(align8(pf.Size), nil)
	g.emit(storeImm(rec.base(), rec.off, id, asm.DWord))
	if t.Inline {
		// The struct's bytes, read from where it is.
		fn := asm.FnProbeReadKernel
		if t.User {
			fn = asm.FnProbeReadUser
		}
		g.helperCall(fn, false, rec.part(8, t.Size, nil), imm(int64(t.Size), tInt64), v)
	} else {
		g.store(rec.part(8, t.MemSize(), t), v)
		g.release(v)
	}
	g.output(rec)
	return nil
}

// event sends a fixed-size record: an id and up to three integers.
func (g *gen) event(id uint64, args ...int64) {
	rec := g.buffer(8+8*len(args), nil)
	g.emit(storeImm(rec.base(), rec.off, int64(id), asm.DWord))
	for i, a := range args {
		if a != 0 {
			g.emit(storeImm(rec.base(), rec.off+8+int16(8*i), a, asm.DWord))
		}
	}
	g.output(rec)
}

func emitMapEvent(id uint64) func(g *gen, e *lang.Call) *val {
	return func(g *gen, e *lang.Call) *val {
		g.event(id, int64(g.mapIndex(e.Args[0].(*lang.MapRef))))
		return nil
	}
}

// delete(@m[k]) or delete(@m, k): true when the key was there.
func checkDelete(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return tInt64
	}
	m, mi := k.mapArg(e, true)
	if m == nil {
		return tInt64
	}
	if mi.val.IsHist() {
		k.errorf(e.Span, "not supported yet: delete() on a histogram")
	}
	if mi.val.Kind == KTseries {
		k.errorf(e.Span, "not supported yet: delete() on a time series")
	}
	if len(e.Args) == 2 {
		if m.Keys != nil {
			k.errorf(e.Args[1].Sp(), "the key is given twice")
			return tInt64
		}
		k.keyed("delete", m, e.Args[1:])
	} else {
		k.keys(m)
	}
	return tInt64
}

// keyed checks a map with keys given separately (delete(@m, k), has_key(@m, k)).
func (k *checker) keyed(fn string, m *lang.MapRef, keys []lang.Expr) {
	mi := k.maps[m.Name]
	if mi.key == nil {
		k.errorf(m.Span, "%s() needs a map with keys, like @%s[k]; @%s has none", fn, m.Name, m.Name)
		return
	}
	ref := &lang.MapRef{Span: m.Span, Name: m.Name, Keys: keys}
	kt := k.keys(ref)
	if mi.key == nil || !compatible(mi.key, kt) {
		k.errorf(keys[0].Sp(), "@%s has keys of type %v, not %s", m.Name, mi.key, kt)
	}
}

func keyRef(e *lang.Call) *lang.MapRef {
	m := e.Args[0].(*lang.MapRef)
	if len(e.Args) == 2 {
		return &lang.MapRef{Span: m.Span, Name: m.Name, Keys: e.Args[1:]}
	}
	return m
}

func emitDelete(g *gen, e *lang.Call) *val {
	m := keyRef(e)
	key := g.mapKey(m)
	g.mapPtr(asm.R1, g.c.maps[m.Name].Spec.Name)
	g.load(asm.R2, key)
	g.emit(asm.FnMapDeleteElem.Call())
	// bpf_map_delete_elem returns 0 when it deleted something.
	return g.zeroIfR0(tInt64, asm.JNE)
}

// zeroIfR0 is a new temporary of type t: 0 if R0 compares to 0 by op,
// else 1.
func (g *gen) zeroIfR0(t *Type, op asm.JumpOp) *val {
	r := g.newTemp(t)
	no := g.label()
	g.emit(asm.Mov.Imm(r.reg, 0), op.Imm(asm.R0, 0, no), asm.Mov.Imm(r.reg, 1))
	g.mark(no)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
}

func checkHasKey(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 2, 2) {
		return tBool
	}
	if m, mi := k.mapArg(e, false); m != nil {
		if mi.val.Kind == KTseries {
			k.errorf(e.Span, "not supported yet: has_key() on a time series")
		}
		k.keyed("has_key", m, e.Args[1:])
	}
	return tBool
}

func emitHasKey(g *gen, e *lang.Call) *val {
	m := keyRef(e)
	key := g.mapKey(m)
	g.lookup(g.c.maps[m.Name].Spec.Name, key)
	return g.zeroIfR0(tBool, asm.JEq)
}

func checkLen(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 1) {
		return tInt64
	}
	if _, ok := e.Args[0].(*lang.MapRef); !ok {
		t := k.expr(e.Args[0])
		k.errorf(e.Args[0].Sp(), "not supported yet: len() of %s (only of a map)", t)
		return tInt64
	}
	m, mi := k.mapArg(e, false)
	if m == nil {
		return tInt64
	}
	switch {
	case mi.key == nil:
		k.errorf(m.Span, "len() needs a map with keys, like @%s[k]; @%s has none", m.Name, m.Name)
	case mi.val.IsHist():
		k.errorf(m.Span, "not supported yet: len() of a histogram")
	case mi.val.Kind == KTseries:
		k.errorf(m.Span, "not supported yet: len() of a time series")
	}
	return tInt64
}

// emitLen calls bpf_for_each_map_elem with a callback that does nothing
// but go on: the helper returns the number of elements it visited.
func emitLen(g *gen, e *lang.Call) *val {
	mi := g.c.maps[e.Args[0].(*lang.MapRef).Name]
	child, name := g.newCallback()
	child.setSource(e.Span) // the kernel wants line info on every function
	child.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	g.addCallback(child, name, e.Span, callbackFunc(name))
	g.mapPtr(asm.R1, mi.Spec.Name)
	g.funcPtr(asm.R2, name)
	g.emit(asm.Mov.Imm(asm.R3, 0), asm.Mov.Imm(asm.R4, 0), asm.FnForEachMapElem.Call())
	r := g.newTemp(tInt64)
	g.emit(asm.Mov.Reg(r.reg, asm.R0))
	return r
}

var aggKinds = map[string]Kind{"count": KCount, "sum": KSum, "min": KMin, "max": KMax, "avg": KAvg,
	"stats": KStats, "hist": KHist, "lhist": KLhist}

func checkAgg(k *checker, e *lang.Call) *Type {
	if e.Name == "tseries" {
		return checkTseries(k, e)
	}
	t := &Type{Kind: aggKinds[e.Name]}
	switch e.Name {
	case "count":
		k.nargs(e, 0, 0)
	default:
		k.nargs(e, 1, 1)
	case "hist":
		// hist(n, k): k splits each power of 2 into 2^k buckets.
		if k.nargs(e, 1, 2) && len(e.Args) == 2 {
			if bits, ok := k.constEval(e.Args[1]); !ok || bits < 0 || bits > 5 {
				k.errorf(e.Args[1].Sp(), "hist()'s second argument must be a constant from 0 to 5")
			} else {
				t.Bits = int(bits)
			}
		}
	case "lhist":
		if k.nargs(e, 4, 4) {
			var vals [3]int64
			for i, a := range e.Args[1:] {
				v, ok := k.constEval(a)
				if !ok {
					k.errorf(a.Sp(), "lhist()'s min, max and step must be constants")
				}
				vals[i] = v
			}
			t.Min, t.Max, t.Step = vals[0], vals[1], vals[2]
			switch {
			case t.Step <= 0:
				k.errorf(e.Args[3].Sp(), "lhist() step must be positive")
			case t.Min < 0:
				k.errorf(e.Args[1].Sp(), "lhist() min must be non-negative")
			case t.Max <= t.Min:
				k.errorf(e.Args[2].Sp(), "lhist() max must be greater than min")
			case (t.Max-t.Min)/t.Step > 1000:
				k.errorf(e.Span, "lhist() would have %d buckets; at most 1000", (t.Max-t.Min)/t.Step)
			}
		}
	}
	if e.Name != "count" && len(e.Args) > 0 {
		if at := k.expr(e.Args[0]); at.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "%s() needs an integer, not %s", e.Name, at)
		}
	}
	t.Size = t.MemSize()
	t.Signed = e.Name != "count"
	return t
}
