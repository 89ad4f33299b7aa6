package compiler

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// Context values described as data by a provider (sockops today): reading
// builtins with their conversions, writing the reply, setsockopt, durations.

// sockopsOnly reports whether name means something only in sockops probes.
func sockopsOnly(name string) (int64, bool) {
	if name == "reply" {
		return 0, true
	}
	v, ok := probes.SockoptConsts[name]
	if ok && !strings.HasPrefix(name, "AF_") {
		return v, true
	}
	return 0, false
}

// ctxBuiltin loads a context value named by the provider, converted.
func (g *gen) ctxBuiltin(f probes.Field) *val {
	if f.Conv == probes.ConvUSDT {
		return g.usdtArg(f)
	}
	if f.Conv == probes.ConvUserStr {
		return g.usbString(f)
	}
	if f.Conv == probes.ConvFuncIP {
		buf := g.buffer(8, tKsym)
		g.emit(asm.Mov.Reg(asm.R1, ctxReg), asm.FnGetFuncIp.Call(),
			asm.StoreMem(buf.base(), buf.off, asm.R0, asm.DWord))
		return buf
	}
	if f.Conv == probes.ConvInetAddr {
		buf := g.buffer(24, tInet)
		v6, done := g.label(), g.label()
		g.emit(asm.LoadMem(asm.R0, ctxReg, 20, asm.Word), // family
			asm.StoreMem(buf.base(), buf.off, asm.R0, asm.DWord),
			asm.JNE.Imm(asm.R0, 2, v6),
			asm.LoadMem(asm.R0, ctxReg, int16(f.Offset), asm.Word),
			asm.StoreMem(buf.base(), buf.off+8, asm.R0, asm.Word),
			asm.Ja.Label(done))
		g.mark(v6)
		for i := 0; i < 4; i++ {
			g.emit(asm.LoadMem(asm.R0, ctxReg, int16(f.Offset6+4*i), asm.Word),
				asm.StoreMem(buf.base(), buf.off+8+int16(4*i), asm.R0, asm.Word))
		}
		g.mark(done)
		g.emit(asm.Mov.Imm(asm.R0, 0))
		return buf
	}
	dst := g.newTemp(tUint64)
	size := map[int]asm.Size{4: asm.Word, 8: asm.DWord}[f.Size]
	g.emit(asm.LoadMem(dst.reg, ctxReg, int16(f.Offset), size))
	switch f.Conv {
	case probes.ConvBswap32:
		g.emit(asm.HostTo(asm.BE, dst.reg, asm.Word))
	case probes.ConvShr3:
		g.emit(asm.RSh.Imm(dst.reg, 3))
	}
	return dst
}

var durUnits = map[string]int64{"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9, "d": 86400e9}

// litValue is an integer literal's value; durations are in nanoseconds.
func litValue(e *lang.IntLit) int64 {
	if u, ok := durUnits[e.Unit]; ok {
		return int64(e.Val) * u
	}
	return int64(e.Val)
}

// constEval folds constant integer expressions (literals, durations, named
// constants of the scope, arithmetic) and records each value it finds for
// code generation (gen.constant).
func (k *checker) constEval(e lang.Expr) (int64, bool) {
	v, ok := k.fold(e)
	if ok {
		k.sc.consts[e] = v
	}
	return v, ok
}

func (k *checker) fold(e lang.Expr) (int64, bool) {
	switch e := e.(type) {
	case *lang.IntLit:
		return litValue(e), true
	case *lang.Ident:
		if k.sc.ctx != nil {
			if v, ok := k.sc.ctx.Consts[e.Name]; ok {
				return v, true
			}
		}
		if v, ok := k.c.cdefs.values[e.Name]; ok {
			return int64(v.val), true
		}
		if v, ok := errnos[e.Name]; ok {
			return v, true
		}
		if v, ok := k.c.enumerator(e.Name); ok {
			return int64(v.val), true
		}
		return 0, false
	case *lang.Unary:
		if e.Op == "-" {
			v, ok := k.constEval(e.X)
			return -v, ok
		}
	case *lang.Binary:
		a, ok1 := k.constEval(e.X)
		b, ok2 := k.constEval(e.Y)
		if ok1 && ok2 {
			return fold(e.Op, a, b, true)
		}
	case *lang.PosParam:
		return k.c.constInt(e)
	}
	return 0, false
}

// mentions reports whether the probe refers to any of the names.
func mentions(p *lang.Probe, names map[string]int64) int64 {
	var flags int64
	lang.Walk(p, func(n lang.Node) bool {
		if id, ok := n.(*lang.Ident); ok {
			name := strings.TrimPrefix(id.Name, "BPF_SOCK_OPS_")
			flags |= names[name]
		}
		return true
	})
	return flags
}

func (k *checker) checkReply(s *lang.Assign) {
	k.needCtx(s.Span, "reply")
	k.needUnsafeAt(s.Span, "reply", "changes the kernel's TCP behaviour")
	if s.Op != "=" {
		k.errorf(s.Span, "reply can only be assigned with =")
	}
	t := k.expr(s.RHS)
	if t.Kind != KInt {
		k.errorf(s.RHS.Sp(), "reply must be an integer, not %s", t)
		return
	}
	k.constEval(s.RHS) // a constant duration becomes jiffies when compiling
	if lit, ok := s.RHS.(*lang.IntLit); ok && lit.Unit == "" && k.sc.timeoutInit && lit.Val != 0 {
		hz, _ := k.c.opts.Env.HZ()
		k.warnf(lit.Span, "%d is taken as jiffies (%d ms at HZ=%d)", lit.Val, int64(lit.Val)*1000/int64(hz), hz).
			Hint("write a duration instead, e.g. reply = 3s or reply = 250ms")
	}
}

// toJiffies converts nanoseconds to jiffies of the running kernel, rounding up, at least 1.
func (c *compiler) toJiffies(ns int64) (int64, string) {
	hz, src := c.opts.Env.HZ()
	j := (ns*int64(hz) + 1e9 - 1) / 1e9
	if j < 1 {
		j = 1
	}
	return j, fmt.Sprintf("HZ=%d from %s", hz, src)
}

func (g *gen) reply(s *lang.Assign) {
	t := g.sc.types[s.RHS]
	var v *val
	var note string
	if n, ok := g.constant(s.RHS); ok && t.Dur {
		j, src := g.c.toJiffies(n)
		v = imm(j, tInt64)
		note = fmt.Sprintf("%s = %d jiffies (%s)", lang.ExprString(s.RHS), j, src)
	} else {
		v = g.expr(s.RHS)
		if t.Dur {
			v = g.toTemp(v)
			hz, src := g.c.opts.Env.HZ()
			one := g.label()
			g.emit(asm.Mul.Imm(v.reg, int32(hz)), asm.Add.Imm(v.reg, 1e9-1), asm.Div.Imm(v.reg, 1e9),
				asm.JSGE.Imm(v.reg, 1, one), asm.Mov.Imm(v.reg, 1))
			g.mark(one)
			note = fmt.Sprintf("nanoseconds to jiffies at HZ=%d (%s)", hz, src)
		}
	}
	r, _, _ := g.operandReg(v, asm.R0)
	st := asm.StoreMem(ctxReg, int16(g.sc.ctx.Reply.Offset), r, asm.Word)
	if note != "" {
		st = st.WithSource(asm.Comment(note))
	}
	g.emit(st)
	g.release(v)
}

// callbackPrologue turns on the callbacks (RTO, RETRANS, STATE, RTT) a
// script uses, once a connection is established: the kernel only calls
// sockops programs with those ops when the socket's flags ask for them.
func (g *gen) callbackPrologue(p *lang.Probe) {
	ctx := g.sc.ctx
	if ctx == nil || ctx.CallbackFlags == nil {
		return
	}
	flags := mentions(p, ctx.CallbackFlags)
	if flags == 0 {
		return
	}
	skip, set := g.label(), g.label()
	g.emit(asm.LoadMem(asm.R0, ctxReg, 0, asm.Word),
		asm.JEq.Imm(asm.R0, 4, set),  // ACTIVE_ESTABLISHED_CB
		asm.JNE.Imm(asm.R0, 5, skip)) // PASSIVE_ESTABLISHED_CB
	g.mark(set)
	g.emit(asm.LoadMem(asm.R2, ctxReg, 84, asm.Word), // bpf_sock_ops_cb_flags
		asm.Or.Imm(asm.R2, int32(flags)),
		asm.Mov.Reg(asm.R1, ctxReg),
		asm.FnSockOpsCbFlagsSet.Call())
	g.mark(skip)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

func checkSetsockopt(k *checker, e *lang.Call) *Type {
	if k.sc.ctx == nil || k.sc.ctx.Reply == nil {
		k.errorf(e.Span, "setsockopt() is only available in sockops probes")
		return tInt64
	}
	if !k.nargs(e, 3, 3) {
		return tInt64
	}
	k.needCtx(e.Span, "setsockopt()")
	k.needUnsafeAt(e.Span, "setsockopt()", "changes the socket's options")
	if _, ok := k.constEval(e.Args[0]); !ok {
		k.errorf(e.Args[0].Sp(), "setsockopt()'s level must be a constant (SOL_SOCKET, SOL_TCP, SOL_IP, SOL_IPV6)")
	}
	opt, ok := k.constEval(e.Args[1])
	if !ok {
		k.errorf(e.Args[1].Sp(), "setsockopt()'s option must be a constant (TCP_BPF_IW, TCP_CONGESTION, SO_MARK, ...)")
	}
	k.expr(e.Args[0])
	k.expr(e.Args[1])
	t := k.expr(e.Args[2])
	k.constEval(e.Args[2]) // a constant value is scaled to the option's unit when compiling
	switch {
	case opt == 13 && t.Kind != KString: // TCP_CONGESTION
		k.errorf(e.Args[2].Sp(), "TCP_CONGESTION takes the algorithm's name as a string, e.g. \"cubic\"")
	case opt != 13 && t.Kind != KInt:
		k.errorf(e.Args[2].Sp(), "this option takes an integer, not %s", t)
	case t.Dur && probes.SockoptUnit[opt] == 0:
		k.errorf(e.Args[2].Sp(), "this option does not take a duration")
	}
	return tInt64
}

func emitSetsockopt(g *gen, e *lang.Call) *val {
	level, _ := g.constant(e.Args[0])
	opt, _ := g.constant(e.Args[1])
	t := g.sc.types[e.Args[2]]
	var buf *val
	optlen := int64(4)
	if t.Kind == KString {
		buf = g.expr(e.Args[2])
		optlen = int64(min(buf.size, 16))
	} else {
		var v *val
		if n, ok := g.constant(e.Args[2]); ok {
			if unit := probes.SockoptUnit[opt]; t.Dur && unit > 0 {
				n = (n + unit - 1) / unit
			}
			v = imm(n, tInt64)
		} else {
			v = g.expr(e.Args[2])
			if unit := probes.SockoptUnit[opt]; t.Dur && unit > 0 {
				v = g.toTemp(v)
				g.emit(asm.Add.Imm(v.reg, int32(unit-1)), asm.Div.Imm(v.reg, int32(unit)))
			}
		}
		buf = &val{kind: vMem, off: g.alloc(8), size: 8}
		r, _, _ := g.operandReg(v, asm.R0)
		g.emit(asm.StoreMem(asm.R10, buf.off, r, asm.Word))
		g.release(v)
	}
	ctx := &val{kind: vReg, reg: ctxReg}
	return g.helperCall(asm.FnSetsockopt, true, ctx, imm(level, tInt64), imm(opt, tInt64), buf, imm(optlen, tInt64))
}

func checkNtop(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 2) {
		return tInet
	}
	for _, a := range e.Args {
		k.expr(a)
	}
	addr := k.sc.types[e.Args[len(e.Args)-1]]
	switch addr.Kind {
	case KInt, KInet:
	case KString, KArray:
		// An address's bytes, in network order (__u8 daddr_v6[16]): their
		// number says the family, unless one is given.
		if addr.Size != 4 && addr.Size != 16 {
			k.errorf(e.Args[len(e.Args)-1].Sp(), "ntop() takes 4 bytes (IPv4) or 16 (IPv6), not %s", addr)
		}
	default:
		k.errorf(e.Args[len(e.Args)-1].Sp(), "not supported yet: ntop() of %s", addr)
	}
	return tInet
}

// ntopBytes makes an address of n bytes (4 or 16) of the buffer x, of
// family af or, without one, the family n says.
func (g *gen) ntopBytes(af, x *val, n int) *val {
	buf := g.buffer(24, tInet)
	if af != nil {
		g.emit(asm.StoreMem(buf.base(), buf.off, af.reg, asm.DWord))
		g.release(af)
	} else {
		family := int64(2) // AF_INET
		if n == 16 {
			family = 10 // AF_INET6
		}
		g.emit(storeImm(buf.base(), buf.off, family, asm.DWord))
	}
	if x.kind == vMem {
		g.copyBytes(buf.part(8, 16, nil), x, min(n, 16))
	} else {
		// A short array is loaded in a register, its bytes in memory order.
		r, _, _ := g.operandReg(x, asm.R0)
		g.emit(asm.StoreMem(buf.base(), buf.off+8, r, memSize(n)))
	}
	g.release(x)
	return buf
}

func emitNtop(g *gen, e *lang.Call) *val {
	var af *val
	if len(e.Args) == 2 {
		af = g.toTemp(g.expr(e.Args[0]))
	}
	at := g.sc.types[e.Args[len(e.Args)-1]]
	x := g.expr(e.Args[len(e.Args)-1])
	if at.Kind == KString || at.Kind == KArray {
		return g.ntopBytes(af, x, at.Size)
	}
	if x.kind == vMem {
		g.release(af)
		return x
	}
	buf := g.buffer(24, tInet)
	if af != nil {
		g.emit(asm.StoreMem(buf.base(), buf.off, af.reg, asm.DWord))
		g.release(af)
	} else {
		g.emit(storeImm(buf.base(), buf.off, 2, asm.DWord))
	}
	r, _, _ := g.operandReg(x, asm.R0)
	g.emit(asm.StoreMem(buf.base(), buf.off+8, r, asm.Word))
	g.release(x)
	return buf
}
