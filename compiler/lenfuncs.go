package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// len(@map) counts a map's keys; strlen(s) a string's bytes before its NUL.

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

// emitStrlen finds the first NUL of the buffer, one byte at a time.
func emitStrlen(g *gen, e *lang.Call) *val {
	s := g.expr(e.Args[0])
	r := g.newTemp(tUint64)
	done := g.label()
	for i := 0; i < s.size; i++ {
		g.emit(asm.Mov.Imm(r.reg, int32(i)),
			asm.LoadMem(asm.R0, s.base(), s.off+int16(i), asm.Byte),
			asm.JEq.Imm(asm.R0, 0, done))
	}
	g.emit(asm.Mov.Imm(r.reg, int32(s.size)))
	g.mark(done)
	g.emit(asm.Mov.Reg(r.reg, r.reg))
	return r
}
