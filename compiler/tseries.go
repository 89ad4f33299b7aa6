package compiler

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// tseries(value, interval, intervals[, agg]) keeps a time series: the time
// (bpftrace's software TAI: boot time plus CLOCK_TAI's offset from it, set
// at load) divided by the interval is the epoch, and the epoch modulo the
// number of intervals the bucket. Each (key, bucket) entry of a per-CPU
// hash holds {value, meta, epoch}; meta is the time of the last value (no
// aggregation), the count (avg) or whether a value is set (min, max). An
// entry whose epoch is older than the current one starts over. User space
// merges the CPUs' entries of the newest epoch in each bucket.

// tseriesAggs are the aggregations tseries() accepts.
var tseriesAggs = []string{"avg", "max", "min", "sum"}

// maxTseriesIntervals is bpftrace's bound on the number of intervals.
const maxTseriesIntervals = 1000000

func checkTseries(k *checker, e *lang.Call) *Type {
	t := &Type{Kind: KTseries, Size: 24, Signed: true, Interval: 1, Intervals: 1}
	if !k.nargs(e, 3, 4) {
		return t
	}
	if at := k.expr(e.Args[0]); at.Kind != KInt {
		k.errorf(e.Args[0].Sp(), "tseries() needs an integer, not %s", at)
	} else {
		t.Signed = at.Signed
	}
	k.expr(e.Args[1])
	k.expr(e.Args[2])
	switch iv, ok := k.constEval(e.Args[1]); {
	case !ok:
		k.errorf(e.Args[1].Sp(), "tseries()'s interval must be a constant, like 100ms")
	case iv < 1:
		k.errorf(e.Args[1].Sp(), "tseries()'s interval must be at least 1ns (%d provided)", iv)
	default:
		t.Interval = iv
	}
	switch n, ok := k.constEval(e.Args[2]); {
	case !ok:
		k.errorf(e.Args[2].Sp(), "tseries()'s number of intervals must be a constant")
	case n < 1:
		k.errorf(e.Args[2].Sp(), "tseries() needs at least 1 interval (%d provided)", n)
	case n > maxTseriesIntervals:
		k.errorf(e.Args[2].Sp(), "tseries() keeps at most %d intervals (%d provided)", maxTseriesIntervals, n)
	default:
		t.Intervals = n
	}
	if len(e.Args) == 4 {
		lit, ok := e.Args[3].(*lang.StrLit)
		switch {
		case !ok:
			k.errorf(e.Args[3].Sp(), "tseries()'s aggregation must be a string literal: one of %s", strings.Join(tseriesAggs, ", "))
		case !slices.Contains(tseriesAggs, lit.Val):
			k.errorf(e.Args[3].Sp(), "tseries() aggregates with one of %s (%q provided)", strings.Join(tseriesAggs, ", "), lit.Val)
		default:
			t.TsAgg = lit.Val
		}
	}
	k.checkDummyTSMap(e.Span)
	return t
}

// checkDummyTSMap checks the map the DummyTSMap option names.
func (k *checker) checkDummyTSMap(sp lang.Span) {
	name := k.c.opts.DummyTSMap
	if name == "" || k.quiet {
		return
	}
	mi := k.maps[strings.TrimPrefix(name, "@")]
	switch {
	case mi == nil:
		k.errorf(sp, "BPFTRACE_DUMMY_TS_MAP names %s, a map this script does not use", name)
	case mi.key != nil || mi.val.Kind != KInt:
		k.errorf(sp, "BPFTRACE_DUMMY_TS_MAP names %s, which is not a scalar integer map (it holds %s)", name, mi.val)
	}
}

// maxPreallocTseries is the most entries a preallocated time series map
// has (larger ones allocate entries as they are used).
const maxPreallocTseries = 1 << 15

// tseriesEntries is the number of entries of a time series map with room
// for keys keys: all their intervals, up to a bound (bpftrace's maps hold
// max_map_keys entries in all).
func tseriesEntries(keys int, intervals int64) uint32 {
	most := max(int64(keys), maxPreallocTseries, intervals)
	return uint32(min(int64(keys)*intervals, most))
}

// tseries emits @m[k] = tseries(x, interval, n[, agg]).
func (g *gen) tseries(m *lang.MapRef, call *lang.Call, mi *Map) {
	t := mi.Value
	x := g.toTemp(g.expr(call.Args[0]))
	now := g.tsNow()
	epoch := g.newTemp(tUint64)
	g.load(epoch.reg, now)
	if t.Interval <= math.MaxInt32 {
		g.emit(asm.Div.Imm(epoch.reg, int32(t.Interval)))
	} else {
		g.emit(asm.LoadImm(asm.R0, t.Interval, asm.DWord), asm.Div.Reg(epoch.reg, asm.R0))
	}
	key := g.mapKeyExtra(m, 8)
	g.load(asm.R1, epoch)
	g.emit(asm.Mod.Imm(asm.R1, int32(t.Intervals)),
		asm.StoreMem(key.base(), key.off+int16(key.size-8), asm.R1, asm.DWord))
	g.lookup(mi.Spec.Name, key)
	// R1: the value, R2: the epoch, R3: the time; R0 the slot, if any.
	g.load(asm.R1, x)
	g.load(asm.R2, epoch)
	if t.TsAgg == "" {
		g.load(asm.R3, now)
	}
	g.release(x)
	g.release(now)
	g.release(epoch)
	miss, done := g.label(), g.label()
	g.emit(asm.JEq.Imm(asm.R0, 0, miss))
	switch t.TsAgg {
	case "":
		// The last value wins; meta is its time.
		g.emit(asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
			asm.StoreMem(asm.R0, 8, asm.R3, asm.DWord),
			asm.StoreMem(asm.R0, 16, asm.R2, asm.DWord))
	case "sum", "avg":
		same := g.label()
		g.emit(asm.LoadMem(asm.R4, asm.R0, 16, asm.DWord), asm.JEq.Reg(asm.R4, asm.R2, same),
			// A new epoch: start over.
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
			asm.StoreMem(asm.R0, 16, asm.R2, asm.DWord))
		if t.TsAgg == "avg" {
			g.emit(storeImm(asm.R0, 8, 1, asm.DWord))
		}
		g.emit(asm.Ja.Label(done))
		g.mark(same)
		g.emit(asm.LoadMem(asm.R4, asm.R0, 0, asm.DWord), asm.Add.Reg(asm.R4, asm.R1),
			asm.StoreMem(asm.R0, 0, asm.R4, asm.DWord))
		if t.TsAgg == "avg" {
			g.emit(asm.LoadMem(asm.R4, asm.R0, 8, asm.DWord), asm.Add.Imm(asm.R4, 1),
				asm.StoreMem(asm.R0, 8, asm.R4, asm.DWord))
		}
	case "min", "max":
		// meta says whether the slot holds a value of its epoch.
		set := g.label()
		keep := asm.JSLT // min: keep a current value below the new one
		switch {
		case t.TsAgg == "min" && !t.Signed:
			keep = asm.JLT
		case t.TsAgg == "max" && t.Signed:
			keep = asm.JSGT // max: keep one above it
		case t.TsAgg == "max":
			keep = asm.JGT
		}
		g.emit(asm.LoadMem(asm.R4, asm.R0, 16, asm.DWord), asm.JNE.Reg(asm.R4, asm.R2, set),
			asm.LoadMem(asm.R4, asm.R0, 8, asm.DWord), asm.JEq.Imm(asm.R4, 0, set),
			asm.LoadMem(asm.R4, asm.R0, 0, asm.DWord), keep.Reg(asm.R4, asm.R1, done))
		g.mark(set)
		g.emit(asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord), storeImm(asm.R0, 8, 1, asm.DWord),
			asm.StoreMem(asm.R0, 16, asm.R2, asm.DWord))
	}
	g.emit(asm.Ja.Label(done))
	// This CPU's first value in the bucket: insert the slot.
	g.mark(miss)
	buf := g.mem(24, nil)
	g.emit(asm.StoreMem(buf.base(), buf.off, asm.R1, asm.DWord),
		asm.StoreMem(buf.base(), buf.off+16, asm.R2, asm.DWord))
	switch t.TsAgg {
	case "":
		g.emit(asm.StoreMem(buf.base(), buf.off+8, asm.R3, asm.DWord))
	case "sum":
		g.emit(storeImm(buf.base(), buf.off+8, 0, asm.DWord))
	default:
		g.emit(storeImm(buf.base(), buf.off+8, 1, asm.DWord))
	}
	g.insert(mi.Spec.Name, key, buf)
	g.mark(done)
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

// tsNow is tseries()'s clock: boot time plus CLOCK_TAI's offset from it
// (patched in at load), or the DummyTSMap's value.
func (g *gen) tsNow() *val {
	if name := g.c.opts.DummyTSMap; name != "" {
		return g.mapRead(&lang.MapRef{Name: strings.TrimPrefix(name, "@")})
	}
	r := g.helperCall(asm.FnKtimeGetBootNs, true)
	g.addTAIOffset(r)
	return r
}

// durString writes a duration in nanoseconds with the largest unit that
// divides it (1s, 100ms, 7ns).
func durString(ns int64) string {
	for _, u := range []struct {
		name string
		ns   int64
	}{{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}} {
		if ns != 0 && ns%u.ns == 0 {
			return strconv.FormatInt(ns/u.ns, 10) + u.name
		}
	}
	return strconv.FormatInt(ns, 10) + "ns"
}
