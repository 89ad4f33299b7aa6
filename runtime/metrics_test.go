package runtime

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
)

// dumpCollector serves fixed map reads, as a scrape would after readDump.
type dumpCollector struct {
	c     *mapCollector
	maps  []*compiler.Map
	dumps []*mapDump
}

func (d dumpCollector) Describe(chan<- *prometheus.Desc) {}
func (d dumpCollector) Collect(ch chan<- prometheus.Metric) {
	for i, m := range d.maps {
		d.c.sendDump(ch, m, d.dumps[i])
	}
}

var (
	tInt  = &compiler.Type{Kind: compiler.KInt, Size: 8, Signed: true}
	tStr  = &compiler.Type{Kind: compiler.KString, Size: 16}
	tPair = &compiler.Type{Kind: compiler.KTuple, Elems: []*compiler.Type{tStr, tInt}}
)

// The metrics renderer: each kind of map value as ebpf_exporter would
// serve it, labels named after the key expressions and escaped.
func TestMetricsRender(t *testing.T) {
	c := &mapCollector{labels: prometheus.Labels{"node": "n1"}}
	maps := []*compiler.Map{
		{Name: "@calls", Key: tPair, KeyNames: []string{"comm", "pid"}, Value: &compiler.Type{Kind: compiler.KCount}},
		{Name: "@", Value: &compiler.Type{Kind: compiler.KSum}},
		{Name: "@lat", Key: tInt, KeyNames: []string{"le"}, Value: &compiler.Type{Kind: compiler.KHist}},
		{Name: "@st", Value: &compiler.Type{Kind: compiler.KStats}},
		{Name: "@name", Key: tInt, KeyNames: []string{"node"}, Value: tStr},
	}
	dumps := []*mapDump{
		{entries: []mapEntry{{Tuple{Str(`a"b\c` + "\n"), Int(7)}, Uint(3)}}},
		{entries: []mapEntry{{nil, Int(-2)}}},
		{entries: []mapEntry{{Int(1), Hist{Log2: true, Buckets: []Bucket{
			{Min: 1, Max: 1, HasMin: true, HasMax: true, Count: 2},
			{Min: 2, Max: 3, HasMin: true, HasMax: true, Count: 0},
			{Min: 4, HasMin: true, Count: 5},
		}}}}},
		{entries: []mapEntry{{nil, Record{Names: statsFields, Vals: []Value{Int(4), Int(10), Int(40)}}}}},
		{entries: []mapEntry{{Int(5), Str("x\xffy")}}},
	}
	want := `
# HELP bpfsh_calls_total bpfsh map @calls: count
# TYPE bpfsh_calls_total counter
bpfsh_calls_total{comm="a\"b\\c\n",node="n1",pid="7"} 3
# HELP bpfsh_map_total bpfsh map @: sum
# TYPE bpfsh_map_total counter
bpfsh_map_total{node="n1"} -2
# HELP bpfsh_lat bpfsh map @lat: hist
# TYPE bpfsh_lat histogram
bpfsh_lat_bucket{key0="1",node="n1",le="1"} 2
bpfsh_lat_bucket{key0="1",node="n1",le="3"} 2
bpfsh_lat_bucket{key0="1",node="n1",le="+Inf"} 7
bpfsh_lat_sum{key0="1",node="n1"} NaN
bpfsh_lat_count{key0="1",node="n1"} 7
# HELP bpfsh_st_samples bpfsh map @st: stats (count)
# TYPE bpfsh_st_samples gauge
bpfsh_st_samples{node="n1"} 4
# HELP bpfsh_st_average bpfsh map @st: stats (average)
# TYPE bpfsh_st_average gauge
bpfsh_st_average{node="n1"} 10
# HELP bpfsh_st_total_value bpfsh map @st: stats (total)
# TYPE bpfsh_st_total_value gauge
bpfsh_st_total_value{node="n1"} 40
# HELP bpfsh_name bpfsh map @name: string[16]
# TYPE bpfsh_name gauge
bpfsh_name{key0="5",node="n1",value="x\uFFFDy"} 1
`
	want = strings.ReplaceAll(want, `\uFFFD`, "\uFFFD")
	if err := testutil.CollectAndCompare(dumpCollector{c, maps, dumps}, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestParseMetricsLabels(t *testing.T) {
	got, err := ParseMetricsLabels("node=a=b, zone=z,")
	if err != nil || len(got) != 2 || got["node"] != "a=b" || got["zone"] != "z" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"node", "1x=a", "__name__=x", "key0=x"} {
		if _, err := ParseMetricsLabels(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// countMap100k is a map of 100,000 keys (@calls[pid] = count(), per-CPU):
// key i counted i%1000 times, on the first CPU.
func countMap100k(tb testing.TB) (*compiler.Map, *ebpf.Map) {
	privtest.Require(tb)
	const keys = 100_000
	m := &compiler.Map{Name: "@calls", Key: tInt, KeyNames: []string{"pid"}, Value: &compiler.Type{Kind: compiler.KCount, Size: 8},
		PerCPU: true, Spec: &ebpf.MapSpec{Name: "calls", Type: ebpf.PerCPUHash, KeySize: 8, ValueSize: 8, MaxEntries: keys}}
	bm, err := ebpf.NewMap(m.Spec)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bm.Close() })
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		tb.Fatal(err)
	}
	ks := make([]uint64, keys)
	vs := make([]uint64, keys*ncpu)
	for i := range ks {
		ks[i] = uint64(i)
		vs[i*ncpu] = uint64(i % 1000)
	}
	if _, err := bm.BatchUpdate(ks, vs, nil); err != nil {
		tb.Fatal(err)
	}
	return m, bm
}

// scrape answers one GET /metrics from a collector over maps.
func scrape(tb testing.TB, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		tb.Fatalf("scrape: %d, %.300s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

func collectorOf(m *compiler.Map, bm *ebpf.Map) *mapCollector {
	coll := &mapCollector{version: "test"}
	coll.view.Store(&metricsView{maps: []*compiler.Map{m}, bms: []*ebpf.Map{bm}, dec: newDecoder(nil)})
	return coll
}

// A scrape of 100,000 keys serves every key once, with its count.
func TestMetricsScrape100k(t *testing.T) {
	m, bm := countMap100k(t)
	body := scrape(t, metricsHandler(collectorOf(m, bm), io.Discard))
	seen := map[int]bool{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "bpfsh_calls_total{") {
			continue
		}
		var pid, n int
		if _, err := fmt.Sscanf(line, `bpfsh_calls_total{pid="%d"} %d`, &pid, &n); err != nil || n != pid%1000 || seen[pid] {
			t.Fatalf("%q: pid %d, count %d (want %d), seen before: %v, %v", line, pid, n, pid%1000, seen[pid], err)
		}
		seen[pid] = true
	}
	if len(seen) != int(bm.MaxEntries()) {
		t.Errorf("%d series, want %d", len(seen), bm.MaxEntries())
	}
}

// Where batch lookups are missing, an iterator reads the same elements.
func TestEachElemIter(t *testing.T) {
	_, bm := countMap100k(t)
	read := func(each func(*ebpf.Map, func(k, v []byte)) error) map[string]string {
		out := map[string]string{}
		if err := each(bm, func(k, v []byte) { out[string(k)] = string(v) }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	batch, iter := read(eachElemBatch), read(eachElemIter)
	if len(batch) != int(bm.MaxEntries()) || !maps.Equal(batch, iter) {
		t.Errorf("batch read %d elements, iterator %d, equal: %v", len(batch), len(iter), maps.Equal(batch, iter))
	}
}

// BenchmarkMetricsScrape100k scrapes countMap100k through the HTTP
// handler, as Prometheus would. The bound: a scrape in under a
// second.
func BenchmarkMetricsScrape100k(b *testing.B) {
	m, bm := countMap100k(b)
	h := metricsHandler(collectorOf(m, bm), io.Discard)
	b.ResetTimer()
	// CPU time, the process's, is what a scrape costs; on a machine that
	// other work shares, the wall time also counts the waits for a CPU.
	var slowest, slowestCPU time.Duration
	for i := 0; i < b.N; i++ {
		start, startCPU := time.Now(), cpuTime()
		body := scrape(b, h)
		slowest, slowestCPU = max(slowest, time.Since(start)), max(slowestCPU, cpuTime()-startCPU)
		if want := fmt.Sprintf(`bpfsh_calls_total{pid="%d"} %d`, bm.MaxEntries()-1, (bm.MaxEntries()-1)%1000); !strings.Contains(body, want) {
			b.Fatalf("scrape: no %s in %.300s", want, body)
		}
	}
	b.ReportMetric(slowest.Seconds(), "slowest-s/scrape")
	b.ReportMetric(slowestCPU.Seconds(), "slowest-cpu-s/scrape")
	if slowestCPU > time.Second {
		b.Errorf("a scrape of %d keys took %v of CPU (%v in all), over a second", bm.MaxEntries(), slowestCPU, slowest)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
