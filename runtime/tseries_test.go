package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/compiler"
)

func TestReduceTseries(t *testing.T) {
	signed := func(agg string) *compiler.Type {
		return &compiler.Type{Kind: compiler.KTseries, Signed: true, TsAgg: agg}
	}
	unsigned := &compiler.Type{Kind: compiler.KTseries, TsAgg: "max"}
	neg := func(v int64) uint64 { return uint64(v) }
	tests := []struct {
		name  string
		t     *compiler.Type
		slots []tsSlot
		want  tsPoint
	}{
		{"unused", signed(""), []tsSlot{{}, {}}, tsPoint{}},
		{"last value wins", signed(""), []tsSlot{{Val: 1, Meta: 50, Epoch: 7}, {Val: 2, Meta: 40, Epoch: 7}}, tsPoint{7, 1}},
		{"newest epoch", signed(""), []tsSlot{{Val: 1, Meta: 50, Epoch: 6}, {Val: 2, Meta: 40, Epoch: 7}, {}}, tsPoint{7, 2}},
		{"sum", signed("sum"), []tsSlot{{Val: neg(-3), Epoch: 2}, {Val: 10, Epoch: 2}, {Val: 100, Epoch: 1}}, tsPoint{2, 7}},
		{"avg", signed("avg"), []tsSlot{{Val: neg(-9), Meta: 2, Epoch: 3}, {Val: 2, Meta: 1, Epoch: 3}}, tsPoint{3, neg(-2)}},
		{"min signed", signed("min"), []tsSlot{{Val: 4, Meta: 1, Epoch: 3}, {Val: neg(-1), Meta: 1, Epoch: 3}}, tsPoint{3, neg(-1)}},
		{"max signed", signed("max"), []tsSlot{{Val: 4, Meta: 1, Epoch: 3}, {Val: neg(-1), Meta: 1, Epoch: 3}}, tsPoint{3, 4}},
		{"max unsigned", unsigned, []tsSlot{{Val: 4, Meta: 1, Epoch: 3}, {Val: neg(-1), Meta: 1, Epoch: 3}}, tsPoint{3, neg(-1)}},
	}
	for _, tt := range tests {
		if got := reduceTseries(tt.t, tt.slots); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// chart renders one key's series.
func chart(t *compiler.Type, points map[uint64]uint64) string {
	s := &tseries{points: points}
	for e := range points {
		s.latest = max(s.latest, e)
	}
	var b strings.Builder
	writeTseries(&b, t.Signed, tseriesRows(t, []*tseries{s})[0])
	return b.String()
}

func TestWriteTseries(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.UTC
	zig := map[uint64]uint64{}
	v := int64(-5)
	dir := int64(1)
	for e := uint64(1); e <= 20; e++ {
		zig[e] = uint64(v)
		if v += dir; v > 5 {
			v, dir = 4, -1
		}
	}
	tests := []struct {
		name   string
		t      *compiler.Type
		points map[uint64]uint64
		want   string
	}{
		// bpftrace's runtime/outputs/tseries_zigzag.txt
		{"zigzag", &compiler.Type{Signed: true, Interval: 100e6, Intervals: 20}, zig, `
             -5                                                  5
hh:mm:ss.ms  |___________________________________________________|
00:00:00.100 *                         .                         | -5
00:00:00.200 |    *                    .                         | -4
00:00:00.300 |         *               .                         | -3
00:00:00.400 |              *          .                         | -2
00:00:00.500 |                   *     .                         | -1
00:00:00.600 |                         *                         | 0
00:00:00.700 |                         .    *                    | 1
00:00:00.800 |                         .         *               | 2
00:00:00.900 |                         .              *          | 3
00:00:01.000 |                         .                   *     | 4
00:00:01.100 |                         .                         * 5
00:00:01.200 |                         .                   *     | 4
00:00:01.300 |                         .              *          | 3
00:00:01.400 |                         .         *               | 2
00:00:01.500 |                         .    *                    | 1
00:00:01.600 |                         *                         | 0
00:00:01.700 |                   *     .                         | -1
00:00:01.800 |              *          .                         | -2
00:00:01.900 |         *               .                         | -3
00:00:02.000 |    *                    .                         | -4
             v___________________________________________________v
             -5                                                  5
`},
		// Missing intervals print "-"; equal values widen the scale.
		{"gaps", &compiler.Type{Interval: 2e9, Intervals: 4}, map[uint64]uint64{10: 7, 12: 7}, `
         6                                                   8
hh:mm:ss |___________________________________________________|
00:00:20 |                         *                         | 7
00:00:22 |                                                   | -
00:00:24 |                         *                         | 7
         v___________________________________________________v
         6                                                   8
`},
		// One interval: no interval to measure, so nanoseconds.
		{"single", &compiler.Type{Interval: 1500, Intervals: 3}, map[uint64]uint64{1000: 0}, `
                   0                                                   1
hh:mm:ss.ns        |___________________________________________________|
00:00:00.001500000 *                                                   | 0
                   v___________________________________________________v
                   0                                                   1
`},
		{"microseconds", &compiler.Type{Interval: 1500, Intervals: 3}, map[uint64]uint64{1000: 0, 1001: 3}, `
                0                                                   3
hh:mm:ss.μs    |___________________________________________________|
00:00:00.001500 *                                                   | 0
00:00:00.001501 |                                                   * 3
                v___________________________________________________v
                0                                                   3
`},
		// Zeroed (every epoch 0): nothing in range.
		{"no data", &compiler.Type{Interval: 1e9, Intervals: 5}, map[uint64]uint64{0: 0}, "\n<no data>\n"},
	}
	for _, tt := range tests {
		if got := chart(tt.t, tt.points); got != tt.want[1:] {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want[1:])
		}
	}
}
