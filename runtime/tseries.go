package runtime

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
)

// Time series (tseries()): each (key, bucket) entry holds per CPU a
// {value, meta, epoch} slot (compiler/tseries.go). Reading one merges the
// CPUs' slots of the newest epoch; printing shows, for every key, the
// intervals from its oldest value up to the newest epoch of the whole map,
// as bpftrace does.

// tsSlot is one CPU's slot of a (key, bucket) entry.
type tsSlot struct{ Val, Meta, Epoch uint64 }

// tsPoint is one interval's merged value (uint64 bits of a signed value
// when the series is signed).
type tsPoint struct {
	epoch uint64
	val   uint64
}

// tseries is one key's intervals.
type tseries struct {
	key    []byte
	points map[uint64]uint64 // epoch → value
	latest uint64
}

// taiOffset is CLOCK_TAI minus CLOCK_BOOTTIME in nanoseconds: added to
// bpf_ktime_get_boot_ns, it gives tseries() and nsecs(sw_tai) bpftrace's
// software TAI clock. The TAI reading is taken between two boot time
// readings, and compared with their mean.
func taiOffset() int64 {
	var b1, tai, b2 unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &b1)
	unix.ClockGettime(unix.CLOCK_TAI, &tai)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &b2)
	return tai.Nano() - (b1.Nano()+b2.Nano())/2
}

// reduceTseries merges the CPUs' slots of one bucket: the slots of its
// newest epoch combine by the aggregation. A bucket no CPU used gives
// epoch 0, value 0 (as bpftrace's does).
func reduceTseries(t *compiler.Type, slots []tsSlot) tsPoint {
	var cur tsSlot
	for _, s := range slots {
		if s.Epoch == 0 {
			continue // never used
		}
		switch {
		case s.Epoch > cur.Epoch:
			cur = s
			continue
		case s.Epoch < cur.Epoch:
			continue
		}
		switch t.TsAgg {
		case "":
			// The most recent value wins.
			if less(t.Signed, cur.Meta, s.Meta) {
				cur.Val, cur.Meta = s.Val, s.Meta
			}
		case "avg":
			cur.Val += s.Val
			cur.Meta += s.Meta
		case "sum":
			cur.Val += s.Val
		case "min":
			if less(t.Signed, s.Val, cur.Val) {
				cur.Val = s.Val
			}
		case "max":
			if less(t.Signed, cur.Val, s.Val) {
				cur.Val = s.Val
			}
		}
	}
	if cur.Epoch == 0 {
		return tsPoint{}
	}
	if t.TsAgg == "avg" && cur.Meta != 0 {
		if t.Signed {
			cur.Val = uint64(int64(cur.Val) / int64(cur.Meta))
		} else {
			cur.Val /= cur.Meta
		}
	}
	return tsPoint{epoch: cur.Epoch, val: cur.Val}
}

func less(signed bool, a, b uint64) bool {
	if signed {
		return int64(a) < int64(b)
	}
	return a < b
}

// readTseries groups a time series map's (key, bucket) entries by key,
// in the order of the keys' bytes.
func readTseries(m *compiler.Map, bm *ebpf.Map) ([]*tseries, error) {
	byKey := map[string]*tseries{}
	key := make([]byte, bm.KeySize())
	var slots []tsSlot
	it := bm.Iterate()
	for it.Next(&key, &slots) {
		k := string(key[:len(key)-8])
		s := byKey[k]
		if s == nil {
			s = &tseries{key: []byte(k), points: map[uint64]uint64{}}
			byKey[k] = s
		}
		p := reduceTseries(m.Value, slots)
		if _, ok := s.points[p.epoch]; !ok {
			s.points[p.epoch] = p.val
		}
		s.latest = max(s.latest, p.epoch)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read map %s: %w", m.Name, err)
	}
	out := make([]*tseries, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].key) < string(out[j].key) })
	return out, nil
}

// tsRow is one interval of a printed series: its start (ns since the
// epoch) and its value, if it has one.
type tsRow struct {
	start uint64
	val   uint64
	ok    bool
}

// tseriesRows lays out every key's rows: the map's newest epoch ends all of
// them; each starts at its oldest value among the last Intervals epochs.
func tseriesRows(t *compiler.Type, ss []*tseries) [][]tsRow {
	var last uint64
	for _, s := range ss {
		last = max(last, s.latest)
	}
	first := last - uint64(t.Intervals) + 1 // wraps, as bpftrace's does: no rows
	out := make([][]tsRow, len(ss))
	for i, s := range ss {
		from := last
		for e := range s.points {
			if e >= first {
				from = min(from, e)
			}
		}
		var rows []tsRow
		for e := first; e <= last && first <= last; e++ {
			if e < from {
				continue
			}
			v, ok := s.points[e]
			rows = append(rows, tsRow{start: e * uint64(t.Interval), val: v, ok: ok})
			if e == math.MaxUint64 {
				break
			}
		}
		out[i] = rows
	}
	return out
}

// tsGraphWidth is the chart's width between its time and value columns.
const tsGraphWidth = 53

// writeTseries draws one series: a scale, a row per interval with a * at
// the value (and a . where zero is, when the scale spans it), the scale again.
func writeTseries(b *strings.Builder, signed bool, rows []tsRow) {
	if len(rows) == 0 {
		b.WriteString("<no data>\n")
		return
	}
	num := func(v uint64) string {
		if signed {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatUint(v, 10)
	}
	// The scale: the smallest and largest value, widened by one each way
	// when they are equal.
	var lo, hi uint64
	have := false
	for _, r := range rows {
		if !r.ok {
			continue
		}
		if !have || less(signed, r.val, lo) {
			lo = r.val
		}
		if !have || less(signed, hi, r.val) {
			hi = r.val
		}
		have = true
	}
	if have && lo == hi {
		if signed {
			if int64(lo) > math.MinInt64 {
				lo--
			}
			if int64(hi) < math.MaxInt64 {
				hi++
			}
		} else {
			if lo > 0 {
				lo--
			}
			if hi < math.MaxUint64 {
				hi++
			}
		}
	}
	// dist is a - b (as bpftrace computes it, in int64).
	dist := func(a, b uint64) int64 { return int64(a - b) }
	if !signed {
		dist = func(a, b uint64) int64 {
			if a > b {
				return int64(a - b)
			}
			return -int64(b - a)
		}
	}
	interval := uint64(0)
	if len(rows) > 1 {
		interval = (rows[len(rows)-1].start - rows[0].start) / uint64(len(rows)-1)
	}
	// Times show hh:mm:ss and the fraction of a second the interval needs.
	digits, scale, unit := 9, uint64(1), "ns"
	switch {
	case interval >= 1e9:
		digits, scale, unit = 0, 1e9, ""
	case interval >= 1e6:
		digits, scale, unit = 3, 1e6, "ms"
	case interval >= 1e3:
		digits, scale, unit = 6, 1e3, "μs"
	}
	timeFmt, timeSize := "hh:mm:ss", 8
	if unit != "" {
		timeFmt += "." + unit
		timeSize += 1 + digits
	}
	scaleLine := func() {
		b.WriteString(strings.Repeat(" ", timeSize+1))
		fmt.Fprintf(b, "%-21s%32s\n", scaleNum(have, num, lo), scaleNum(have, num, hi))
	}
	scaleLine()
	b.WriteString(timeFmt + strings.Repeat(" ", max(0, timeSize+1-len(timeFmt))))
	b.WriteString("|" + strings.Repeat("_", tsGraphWidth-2) + "|\n")
	zero := 0
	if have && signed && int64(lo) < 0 && int64(hi) > 0 {
		zero = int(float32(tsGraphWidth) * float32(dist(lo, 0)) / float32(dist(lo, hi)))
	}
	for _, r := range rows {
		ts := time.Unix(0, int64(r.start)).Local()
		b.WriteString(ts.Format("15:04:05"))
		if digits > 0 {
			fmt.Fprintf(b, ".%0*d", digits, uint64(ts.Nanosecond())/scale)
		}
		b.WriteByte(' ')
		line := []byte(strings.Repeat(" ", tsGraphWidth))
		line[0], line[tsGraphWidth-1] = '|', '|'
		if zero > 0 {
			line[zero] = '.'
		}
		if !r.ok {
			b.Write(line)
			b.WriteString(" -\n")
			continue
		}
		at := tsGraphWidth / 2
		if lo != hi {
			at = int(float32(tsGraphWidth-1) * float32(dist(lo, r.val)) / float32(dist(lo, hi)))
		}
		line[max(0, min(tsGraphWidth-1, at))] = '*'
		b.Write(line)
		b.WriteString(" " + num(r.val) + "\n")
	}
	b.WriteString(strings.Repeat(" ", timeSize+1) + "v" + strings.Repeat("_", tsGraphWidth-2) + "v\n")
	scaleLine()
}

func scaleNum(have bool, num func(uint64) string, v uint64) string {
	if !have {
		return ""
	}
	return num(v)
}
