package compiler

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Map code: keys are built in a stack buffer with the key type's MemSize
// layout; scalar maps use the single key 0.

// mapKey builds the key buffer of a map reference.
func (g *gen) mapKey(m *lang.MapRef) *val { return g.mapKeyExtra(m, 0) }

// mapKeyExtra builds a key buffer with extra bytes at the end (histograms
// put the bucket there).
func (g *gen) mapKeyExtra(m *lang.MapRef, extra int) *val {
	mi := g.c.maps[m.Name]
	if mi.Key == nil {
		buf := g.mem(8+extra, tUint64)
		g.emit(storeImm(buf.base(), buf.off, 0, asm.DWord))
		return buf
	}
	size := mi.Key.MemSize() + extra
	if extra == 0 && len(m.Keys) == 1 && mi.Key.InMemory() {
		// A buffer of exactly the key's layout (comm, str(), a tuple) is
		// the key itself: no copy.
		x := g.expr(m.Keys[0])
		if x.kind == vMem && x.size == size && sameLayout(g.sc.types[m.Keys[0]], mi.Key) {
			return x
		}
		buf := g.mem(size, mi.Key)
		g.copyValue(buf, x, g.sc.types[m.Keys[0]])
		return buf
	}
	buf := g.mem(size, mi.Key)
	if len(m.Keys) == 1 {
		// One key, or a tuple expression as the key.
		x := g.expr(m.Keys[0])
		g.copyValue(buf.part(0, mi.Key.MemSize(), mi.Key), x, g.sc.types[m.Keys[0]])
		g.release(x)
		return buf
	}
	for i, k := range m.Keys {
		x := g.expr(k)
		et := mi.Key.Elems[i]
		g.copyValue(buf.part(mi.Key.ElemOffset(i), et.MemSize(), et), x, g.sc.types[k])
		g.release(x)
	}
	return buf
}

// copyValue copies x, a value of type xt, into dst laid out as dst.t: a
// tuple whose layout differs (shorter strings, in nested tuples too) is
// copied element by element; a record's fields go by name.
func (g *gen) copyValue(dst, x *val, xt *Type) {
	dt := dst.t
	if x.kind == vMem && dt != nil && xt != nil && dt.Kind == KTuple && xt.Kind == KTuple && !sameLayout(dt, xt) {
		for i, et := range dt.Elems {
			j := i
			if dt.Names != nil {
				j = xt.ElemIndex(dt.Names[i])
			}
			st := xt.Elems[j]
			g.copyValue(dst.part(dt.ElemOffset(i), et.MemSize(), et), x.part(xt.ElemOffset(j), st.MemSize(), st), st)
		}
		return
	}
	g.store(dst, x)
}

// lookup emits map_lookup_elem and leaves the value pointer in R0.
func (g *gen) lookup(name string, key *val) {
	g.mapPtr(asm.R1, name)
	g.load(asm.R2, key)
	g.emit(asm.FnMapLookupElem.Call())
}

// update emits map_update_elem(map, key, value, BPF_ANY) and counts failures.
func (g *gen) update(name string, key, value *val) {
	g.callUpdate(name, key, value)
	g.countFailure(statMapFull)
}

// insert is update on a path that runs once per new key (an aggregate's
// first value): it counts a failure without a branch, adding R0's sign bit
// to the counter. The sign bit of the low 32 bits: kernels before 6.x call
// the map's update function directly, which returns an int (-E2BIG as
// 0x00000000fffffff9 in R0).
func (g *gen) insert(name string, key, value *val) {
	g.callUpdate(name, key, value)
	g.emit(asm.RSh.Imm32(asm.R0, 31),
		asm.LoadMapValue(asm.R1, 0, uint32(8*statMapFull)).WithReference(statsMap),
		asm.StoreXAdd(asm.R1, asm.R0, asm.DWord),
		asm.Mov.Imm(asm.R0, 0))
}

// xadd is an atomic 64-bit add of src to dst+off.
func xadd(dst asm.Register, off int16, src asm.Register) asm.Instruction {
	ins := asm.StoreXAdd(dst, src, asm.DWord)
	ins.Offset = off
	return ins
}

func (g *gen) callUpdate(name string, key, value *val) {
	g.mapPtr(asm.R1, name)
	g.load(asm.R2, key)
	if value.kind == vImm && value.imm == 1 {
		// count()'s first 1: the stats map holds that constant.
		g.emit(asm.LoadMapValue(asm.R3, 0, uint32(8*statOne)).WithReference(statsMap))
	} else {
		g.load(asm.R3, value)
	}
	g.emit(asm.Mov.Imm(asm.R4, 0), asm.FnMapUpdateElem.Call())
}

// countFailure increments a per-CPU error counter when R0 is non-zero.
func (g *gen) countFailure(stat int) {
	ok := g.label()
	g.emit(asm.JEq.Imm(asm.R0, 0, ok))
	if stat == statLost {
		// R0 is -EAGAIN: DecodeStats divides it out.
		g.emit(asm.LoadMapValue(asm.R1, 0, uint32(8*stat)).WithReference(statsMap),
			asm.StoreXAdd(asm.R1, asm.R0, asm.DWord))
	} else {
		g.bumpStat(stat)
	}
	g.mark(ok)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

// countReadFault increments the read-fault counter when a probe_read
// helper returned an error (R0 < 0): reported at exit, never silent.
func (g *gen) countReadFault() {
	ok := g.label()
	g.emit(asm.JSGE.Imm(asm.R0, 0, ok))
	g.bumpStat(statReadFault)
	g.mark(ok)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

// bumpStat adds 1 to an error counter: the counters are one array value
// addressed directly (BPF_PSEUDO_MAP_VALUE), so this is three instructions.
func (g *gen) bumpStat(stat int) {
	g.emit(asm.LoadMapValue(asm.R1, 0, uint32(8*stat)).WithReference(statsMap),
		asm.Mov.Imm(asm.R2, 1),
		asm.StoreXAdd(asm.R1, asm.R2, asm.DWord))
}

// mapRead reads a map value: 0 or an empty string when the key is absent.
func (g *gen) mapRead(m *lang.MapRef) *val {
	mi := g.c.maps[m.Name]
	key := g.mapKey(m)
	t := readType(mi.Value)
	if mi.Spec.Type == ebpf.PerCPUArray || mi.Spec.Type == ebpf.PerCPUHash {
		switch mi.Value.Kind {
		case KCount, KSum, KAvg, KStats, KMin, KMax:
			return g.percpuRead(mi, key, t)
		}
	}
	if mi.Value.InMemory() {
		buf := g.buffer(mi.Value.MemSize(), mi.Value)
		miss := g.label()
		g.lookup(mi.Spec.Name, key)
		g.emit(asm.JEq.Imm(asm.R0, 0, miss))
		if g.bigMem(buf.size) {
			g.memcpy(buf, &val{kind: vReg, reg: asm.R0, size: buf.size})
		} else {
			for i := 0; i < buf.size; i += 8 {
				g.emit(asm.LoadMem(asm.R1, asm.R0, int16(i), asm.DWord),
					asm.StoreMem(buf.base(), buf.off+int16(i), asm.R1, asm.DWord))
			}
		}
		g.mark(miss)
		return buf
	}
	dst := g.newTemp(t)
	miss := g.label()
	g.lookup(mi.Spec.Name, key)
	g.emit(asm.Mov.Imm(dst.reg, 0), asm.JEq.Imm(asm.R0, 0, miss))
	switch mi.Value.Kind {
	case KAvg: // {sum, count}: the sum may be negative
		cnt := g.newTemp(tInt64)
		g.emit(asm.LoadMem(dst.reg, asm.R0, 0, asm.DWord),
			asm.LoadMem(cnt.reg, asm.R0, 8, asm.DWord),
			asm.JEq.Imm(cnt.reg, 0, miss))
		g.signedDivMod("/", dst, cnt)
	default:
		g.emit(asm.LoadMem(dst.reg, asm.R0, 0, asm.DWord))
	}
	g.mark(miss)
	g.emit(asm.Mov.Reg(dst.reg, dst.reg))
	return dst
}

// mapStore writes an integer value to a map.
func (g *gen) mapStore(m *lang.MapRef, v *val) {
	mi := g.c.maps[m.Name]
	key := g.mapKey(m)
	buf := g.mem(8, nil)
	g.store(buf, v)
	g.update(mi.Spec.Name, key, buf)
}

func (g *gen) mapAssign(m *lang.MapRef, op string, rhs lang.Expr) {
	mi := g.c.maps[m.Name]
	if op != "=" {
		cur := g.toTemp(g.mapRead(m))
		x := g.expr(rhs)
		if mi.Value.Kind == KPtr {
			x = g.scaleIndex(x, elemSize(mi.Value))
		}
		g.arith(op[:len(op)-1], cur, x, mi.Value.Signed)
		g.mapStore(m, cur)
		return
	}
	x := g.expr(rhs)
	if mi.Value.InMemory() {
		size := mi.Value.MemSize()
		buf := g.mem(size, mi.Value)
		g.copyValue(buf, x, g.sc.types[rhs])
		key := g.mapKey(m)
		g.update(mi.Spec.Name, key, buf)
		return
	}
	// Evaluate the value before building the key: key expressions may call helpers.
	x = g.toTemp(x)
	g.mapStore(m, x)
	g.release(x)
}

// aggregate emits @m[k] = count()/sum(x)/min(x)/max(x)/avg(x) on a per-CPU map.
func (g *gen) aggregate(m *lang.MapRef, call *lang.Call) {
	mi := g.c.maps[m.Name]
	if mi.Value.IsHist() {
		g.histogram(m, call, mi)
		return
	}
	if mi.Value.Kind == KTseries {
		g.tseries(m, call, mi)
		return
	}
	var x *val
	if call.Name == "count" {
		x = imm(1, tInt64)
	} else {
		x = g.toTemp(g.expr(call.Args[0]))
	}
	key := g.mapKey(m)
	miss, done := g.label(), g.label()
	g.lookup(mi.Spec.Name, key)
	if mi.Spec.Type == ebpf.PerCPUArray {
		// The slot always exists: no insert path.
		miss = done
	}
	g.emit(asm.JEq.Imm(asm.R0, 0, miss))
	xr := asm.R2
	if x.kind != vImm || (call.Name != "count" && call.Name != "sum") {
		// (count and sum add an immediate directly)
		xr, _, _ = g.operandReg(x, asm.R2)
	}
	// Per-CPU values: the atomic add is uncontended, and shorter than
	// load, add, store.
	switch call.Name {
	case "count", "sum":
		if x.kind == vImm {
			g.emit(asm.Mov.Imm(asm.R1, int32(x.imm)))
			xr = asm.R1
		}
		g.emit(asm.StoreXAdd(asm.R0, xr, asm.DWord))
	case "min", "max":
		// {value, set}: per-CPU slots that never saw a value stay unset.
		keep := g.label()
		g.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, keep+"_set"),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		if call.Name == "min" {
			g.emit(asm.JSLE.Reg(asm.R1, xr, keep))
		} else {
			g.emit(asm.JSGE.Reg(asm.R1, xr, keep))
		}
		g.mark(keep + "_set")
		g.emit(asm.StoreMem(asm.R0, 0, xr, asm.DWord), storeImm(asm.R0, 8, 1, asm.DWord))
		g.mark(keep)
	case "avg", "stats":
		g.emit(asm.StoreXAdd(asm.R0, xr, asm.DWord),
			asm.Mov.Imm(asm.R1, 1),
			xadd(asm.R0, 8, asm.R1))
	}
	if miss == done {
		g.mark(done)
		g.emit(asm.Mov.Imm(asm.R0, 0))
		g.release(x)
		return
	}
	g.emit(asm.Ja.Label(done))
	g.mark(miss)
	// First value on this CPU: insert it.
	size := mi.Value.MemSize()
	if call.Name == "count" {
		g.insert(mi.Spec.Name, key, x)
	} else {
		buf := g.mem(size, nil)
		g.store(buf.part(0, 8, nil), x)
		if size == 16 {
			g.emit(storeImm(buf.base(), buf.off+8, 1, asm.DWord))
		}
		g.insert(mi.Spec.Name, key, buf)
	}
	g.mark(done)
	g.emit(asm.Mov.Imm(asm.R0, 0))
	g.release(x)
}

// histogram emits @m[k] = hist(x) / lhist(x, min, max, step): the bucket
// index goes after the key, and the (key, bucket) count is incremented.
func (g *gen) histogram(m *lang.MapRef, call *lang.Call, mi *Map) {
	x := g.toTemp(g.expr(call.Args[0]))
	idx := g.newTemp(tInt64)
	done := g.label()
	if mi.Value.Kind == KHist && mi.Value.Bits > 0 {
		g.finerLog2(x, idx, mi.Value.Bits, done)
	} else if mi.Value.Kind == KHist {
		// 0: negative, 1: zero, n+2: [2^n, 2^(n+1)).
		g.emit(asm.Mov.Imm(idx.reg, 0), asm.JSLT.Imm(x.reg, 0, done),
			asm.Mov.Imm(idx.reg, 1), asm.JEq.Imm(x.reg, 0, done),
			asm.Mov.Imm(idx.reg, 2))
		for _, sh := range []int32{32, 16, 8, 4, 2, 1} {
			skip := g.label()
			if sh == 32 {
				// 1<<32 does not fit an immediate: test the high half.
				g.emit(asm.Mov.Reg(asm.R0, x.reg), asm.RSh.Imm(asm.R0, sh), asm.JEq.Imm(asm.R0, 0, skip),
					asm.Add.Imm(idx.reg, sh), asm.Mov.Reg(x.reg, asm.R0))
			} else {
				g.emit(asm.JLT.Imm(x.reg, 1<<sh, skip), asm.RSh.Imm(x.reg, sh), asm.Add.Imm(idx.reg, sh))
			}
			g.mark(skip)
		}
	} else {
		// 0: below min, 1..n: [min + (i-1)*step, ...), n+1: max and above.
		t := mi.Value
		n := (t.Max - t.Min) / t.Step
		g.emit(asm.Mov.Imm(idx.reg, 0), asm.JSLT.Imm(x.reg, int32(t.Min), done),
			asm.Mov.Imm(idx.reg, int32(n+1)), asm.JSGE.Imm(x.reg, int32(t.Max), done),
			asm.Mov.Reg(idx.reg, x.reg), asm.Sub.Imm(idx.reg, int32(t.Min)), asm.Div.Imm(idx.reg, int32(t.Step)),
			asm.Add.Imm(idx.reg, 1))
	}
	g.mark(done)
	g.emit(asm.Mov.Imm(asm.R0, 0))
	g.release(x)
	if mi.Spec.Type == ebpf.PerCPUArray {
		// A keyless histogram: one per-CPU slot per bucket.
		key := g.mem(4, nil)
		g.emit(asm.StoreMem(key.base(), key.off, idx.reg, asm.Word))
		g.release(idx)
		end := g.label()
		g.lookup(mi.Spec.Name, key)
		g.emit(asm.JEq.Imm(asm.R0, 0, end),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.Add.Imm(asm.R1, 1),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord))
		g.mark(end)
		g.emit(asm.Mov.Imm(asm.R0, 0))
		return
	}
	key := g.mapKeyExtra(m, 8)
	g.emit(asm.StoreMem(key.base(), key.off+int16(key.size-8), idx.reg, asm.DWord))
	g.release(idx)
	miss, end := g.label(), g.label()
	g.lookup(mi.Spec.Name, key)
	g.emit(asm.JEq.Imm(asm.R0, 0, miss),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord), asm.Ja.Label(end))
	g.mark(miss)
	one := g.mem(8, nil)
	g.emit(storeImm(one.base(), one.off, 1, asm.DWord))
	g.update(mi.Spec.Name, key, one)
	g.mark(end)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

// histSlots is how many buckets hist(n, bits) has: see finerLog2 (bits 0:
// negative, zero, and [2^l, 2^(l+1)) for l up to 63).
func histSlots(bits int) int { return (65-bits)<<bits + 1 }

// finerLog2 sets idx to x's bucket in hist(x, bits), whose 2^bits buckets
// per power of 2 are as bpftrace's: 0 for a negative x, x+1 below 2^bits
// (one value each), and for x in [2^l, 2^(l+1)), l >= bits,
// 1 + (l-bits+1)<<bits + the bits below x's top bit (x >> (l-bits), less
// the top bit). With bits 0 that is the plain hist()'s l+2.
func (g *gen) finerLog2(x, idx *val, bits int, done string) {
	l := g.newTemp(tInt64)
	g.emit(asm.Mov.Imm(idx.reg, 0), asm.JSLT.Imm(x.reg, 0, done),
		asm.Mov.Reg(idx.reg, x.reg), asm.Add.Imm(idx.reg, 1), asm.JLT.Imm(x.reg, 1<<bits, done),
		asm.Mov.Reg(idx.reg, x.reg), asm.Mov.Imm(l.reg, 0))
	// l = floor(log2 x), halving the width searched (idx: what is left of x).
	for _, sh := range []int32{32, 16, 8, 4, 2, 1} {
		skip := g.label()
		g.emit(asm.Mov.Reg(asm.R0, idx.reg), asm.RSh.Imm(asm.R0, sh), asm.JEq.Imm(asm.R0, 0, skip),
			asm.Add.Imm(l.reg, sh), asm.Mov.Reg(idx.reg, asm.R0))
		g.mark(skip)
	}
	// idx = 1 + (l-bits+1)<<bits + ((x >> (l-bits)) & (2^bits-1))
	g.emit(asm.Sub.Imm(l.reg, int32(bits)),
		asm.Mov.Reg(asm.R0, x.reg), asm.RSh.Reg(asm.R0, l.reg), asm.And.Imm(asm.R0, 1<<bits-1),
		asm.Add.Imm(l.reg, 1), asm.LSh.Imm(l.reg, int32(bits)),
		asm.Mov.Reg(idx.reg, asm.R0), asm.Add.Reg(idx.reg, l.reg), asm.Add.Imm(idx.reg, 1))
	g.release(l)
}

// sameLayout reports whether a value of type a is laid out in memory exactly
// as type b (so a buffer of a can stand for b).
func sameLayout(a, b *Type) bool {
	if a == nil || a.Kind != b.Kind || a.MemSize() != b.MemSize() {
		return false
	}
	if a.Kind == KTuple {
		if len(a.Names) != len(b.Names) {
			return false
		}
		for i := range a.Names {
			if a.Names[i] != b.Names[i] {
				return false
			}
		}
		for i := range a.Elems {
			if !sameLayout(a.Elems[i], b.Elems[i]) {
				return false
			}
		}
	}
	return true
}

// percpuRead reads a per-CPU aggregate as the program sees it: every CPU's
// slot combined (bpf_map_lookup_percpu_elem over the possible CPUs, a
// number patched in at load), not only the running CPU's. Count and sum
// add up; avg and stats add sums and counts, avg divides; min and max keep
// the extreme of the CPUs that saw a value. A missing key reads 0.
func (g *gen) percpuRead(mi *Map, key *val, t *Type) *val {
	cpu, a, b := g.alloc(8), g.alloc(8), g.alloc(8) // CPU index; combined value; count or "set"
	g.emit(storeImm(asm.R10, cpu, 0, asm.DWord), storeImm(asm.R10, a, 0, asm.DWord), storeImm(asm.R10, b, 0, asm.DWord))
	loop, next := g.label(), g.label()
	g.mark(loop)
	g.mapPtr(asm.R1, mi.Spec.Name)
	g.load(asm.R2, key)
	g.emit(asm.LoadMem(asm.R3, asm.R10, cpu, asm.DWord), asm.FnMapLookupPercpuElem.Call(),
		asm.JEq.Imm(asm.R0, 0, next))
	switch mi.Value.Kind {
	case KCount, KSum:
		g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.LoadMem(asm.R2, asm.R10, a, asm.DWord),
			asm.Add.Reg(asm.R2, asm.R1), asm.StoreMem(asm.R10, a, asm.R2, asm.DWord))
	case KAvg, KStats: // {sum, count}
		g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.LoadMem(asm.R2, asm.R10, a, asm.DWord),
			asm.Add.Reg(asm.R2, asm.R1), asm.StoreMem(asm.R10, a, asm.R2, asm.DWord),
			asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord), asm.LoadMem(asm.R2, asm.R10, b, asm.DWord),
			asm.Add.Reg(asm.R2, asm.R1), asm.StoreMem(asm.R10, b, asm.R2, asm.DWord))
	case KMin, KMax: // {value, set}
		take := g.label()
		g.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord), asm.JEq.Imm(asm.R1, 0, next),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.LoadMem(asm.R2, asm.R10, b, asm.DWord),
			asm.JEq.Imm(asm.R2, 0, take), asm.LoadMem(asm.R2, asm.R10, a, asm.DWord))
		if mi.Value.Kind == KMin {
			g.emit(asm.JSGE.Reg(asm.R1, asm.R2, next))
		} else {
			g.emit(asm.JSLE.Reg(asm.R1, asm.R2, next))
		}
		g.mark(take)
		g.emit(asm.StoreMem(asm.R10, a, asm.R1, asm.DWord), storeImm(asm.R10, b, 1, asm.DWord))
	}
	g.mark(next)
	g.emit(asm.LoadMem(asm.R1, asm.R10, cpu, asm.DWord), asm.Add.Imm(asm.R1, 1), asm.StoreMem(asm.R10, cpu, asm.R1, asm.DWord))
	g.emit(asm.LoadImm(asm.R2, 0, asm.DWord).WithSymbol(g.c.patchSymbol(PatchNCPUs)))
	g.emit(asm.JLT.Reg(asm.R1, asm.R2, loop))
	dst := g.newTemp(t)
	g.emit(asm.LoadMem(dst.reg, asm.R10, a, asm.DWord))
	if mi.Value.Kind == KAvg {
		cnt := g.newTemp(tInt64)
		done := g.label()
		g.emit(asm.LoadMem(cnt.reg, asm.R10, b, asm.DWord), asm.JEq.Imm(cnt.reg, 0, done))
		g.signedDivMod("/", dst, cnt)
		g.mark(done)
		g.emit(asm.Mov.Reg(dst.reg, dst.reg))
		g.release(cnt)
	}
	return dst
}
