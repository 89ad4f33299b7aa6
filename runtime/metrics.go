package runtime

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bpfsh/bpfsh/compiler"
)

// The metrics renderer: a third view of the value tree (after text.go and
// json.go), for Prometheus. Maps are read when a scrape asks, as
// ebpf_exporter reads its maps, with its conventions: count() and sum()
// are counters bpfsh_<map>_total, hist() and lhist() histograms with `le`
// buckets, everything else a gauge; key parts are labels named by the
// compiler (compiler.Map.KeyNames). The prometheus client does the format
// (text, or OpenMetrics when the scraper asks for it) and its escaping.

// MetricsConfig asks a run to serve its maps at http://Addr/metrics.
type MetricsConfig struct {
	Addr string
	// Labels are added to every series (BPFSH_METRICS_LABELS: the node's
	// name in a DaemonSet).
	Labels map[string]string
	// Version is bpfsh's, for bpfsh_build_info.
	Version string
}

// metricsView is what a scrape reads: a run's maps, its stats map and how
// many probes are attached. A run publishes a new view when they change
// (the REPL's probes come and go), so a scrape never waits on the run.
type metricsView struct {
	maps   []*compiler.Map
	bms    []*ebpf.Map // bms[i] holds maps[i]
	stats  *ebpf.Map   // nil: the script counts no losses
	probes int
	dec    *decoder // reads maps; nil when there are none
}

// mapCollector is a prometheus.Collector over the published view.
type mapCollector struct {
	view    atomic.Pointer[metricsView]
	labels  prometheus.Labels
	version string
}

// Describe sends nothing: the collector is unchecked, because the REPL's
// maps are known only when a scrape comes.
func (c *mapCollector) Describe(chan<- *prometheus.Desc) {}

func (c *mapCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.view.Load()
	if v == nil {
		v = &metricsView{}
	}
	c.constant(ch, "bpfsh_build_info", "bpfsh's version: the value is 1.", prometheus.GaugeValue, 1,
		prometheus.Labels{"version": c.version})
	c.constant(ch, "bpfsh_probes_attached", "Probes attached now.", prometheus.GaugeValue, float64(v.probes), nil)
	var counts compiler.Counters
	if v.stats != nil {
		raw := make([]byte, v.stats.ValueSize())
		if err := v.stats.Lookup(uint32(0), &raw); err == nil {
			counts = compiler.DecodeStats(raw)
		}
	}
	c.constant(ch, "bpfsh_lost_events_total", "Events lost because the ring buffer was full.",
		prometheus.CounterValue, float64(counts.Lost), nil)
	c.constant(ch, "bpfsh_map_full_total", "Map updates refused because a map was full.",
		prometheus.CounterValue, float64(counts.MapFull), nil)
	for i, m := range v.maps {
		if err := c.collectMap(ch, v.dec, m, v.bms[i]); err != nil {
			ch <- prometheus.NewInvalidMetric(prometheus.NewDesc(metricName(m), "", nil, nil), err)
		}
	}
}

// constant sends one series of bpfsh's own.
func (c *mapCollector) constant(ch chan<- prometheus.Metric, name, help string, t prometheus.ValueType, val float64, extra prometheus.Labels) {
	labels := prometheus.Labels{}
	for k, v := range c.labels {
		labels[k] = v
	}
	for k, v := range extra {
		labels[k] = v
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, labels), t, val)
}

// metricName is a map's metric name: bpfsh_<map> (@ is bpfsh_map).
func metricName(m *compiler.Map) string {
	if m.Name == "@" {
		return "bpfsh_map"
	}
	return "bpfsh_" + strings.TrimPrefix(m.Name, "@")
}

// mapShape is how a map's values become series: its family names, type
// and label names, the same for every key (Prometheus wants one label set
// per family).
type mapShape struct {
	name   string
	help   string
	labels []string // the key's, then "value" for a map of text
	text   bool     // values are text: value="…", 1 (an info-style gauge)
	counts bool     // count() and sum(): counters
}

func (c *mapCollector) shape(m *compiler.Map) mapShape {
	s := mapShape{name: metricName(m), help: fmt.Sprintf("bpfsh map %s: %s", m.Name, m.Value)}
	switch m.Value.Kind {
	case compiler.KCount, compiler.KSum:
		s.counts = true
	case compiler.KHist, compiler.KLhist, compiler.KMin, compiler.KMax, compiler.KAvg, compiler.KStats:
	case compiler.KInt, compiler.KPtr:
		s.text = m.Value.Kind == compiler.KInt && !m.Value.Bool && m.Value.Format != compiler.FormatPlain
	default:
		s.text = true
	}
	// A key part whose name another label has (le, value, an extra label)
	// takes its position's name.
	taken := map[string]bool{"le": m.Value.IsHist(), "value": s.text}
	for k := range c.labels {
		taken[k] = true
	}
	for i, n := range m.KeyNames {
		if taken[n] {
			n = "key" + strconv.Itoa(i)
		}
		s.labels = append(s.labels, n)
	}
	if s.text {
		s.labels = append(s.labels, "value")
	}
	return s
}

// collectMap reads a map through the value tree and sends its series.
func (c *mapCollector) collectMap(ch chan<- prometheus.Metric, dec *decoder, m *compiler.Map, bm *ebpf.Map) error {
	if m.Value.Kind == compiler.KTseries {
		return nil // a time series is a chart of past intervals: Prometheus keeps its own
	}
	// Unsorted: the client orders series itself, and a big map sorts slowly.
	d, err := dec.readDump(m, bm, -1, 0, true)
	if err != nil {
		return err
	}
	c.sendDump(ch, m, d)
	return nil
}

// sendDump sends the series of a map read.
func (c *mapCollector) sendDump(ch chan<- prometheus.Metric, m *compiler.Map, d *mapDump) {
	s := c.shape(m)
	desc := prometheus.NewDesc(s.name, s.help, s.labels, c.labels)
	if s.counts {
		desc = prometheus.NewDesc(s.name+"_total", s.help, s.labels, c.labels)
	}
	var stats [3]*prometheus.Desc
	if m.Value.Kind == compiler.KStats {
		for i, suffix := range []string{"_samples", "_average", "_total_value"} {
			stats[i] = prometheus.NewDesc(s.name+suffix, s.help+" ("+statsFields[i]+")", s.labels, c.labels)
		}
	}
	for _, r := range seriesOf(m, s, d) {
		switch v := r.val.(type) {
		case Hist:
			count, buckets := histBuckets(v)
			// bpfsh's histograms count, they do not add up: no sum is known.
			ch <- prometheus.MustNewConstHistogram(desc, count, math.NaN(), buckets, r.labels...)
		case Record:
			if m.Value.Kind != compiler.KStats {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, r.labels...)
				continue
			}
			for i, d := range stats {
				n, _ := number(v.Vals[i])
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, n, r.labels...)
			}
		default:
			n, _ := number(v)
			switch {
			case valueLabeled(m, s, v):
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, r.labels...)
			case s.counts:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, n, r.labels...)
			default:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, n, r.labels...)
			}
		}
	}
}

// series is one key's label values (with the value's, for a map of text)
// and its value.
type series struct {
	labels []string
	val    Value
}

// seriesOf labels a map read's entries and orders them as the Prometheus
// client does (by label values, labels taken in the order of their names):
// it sorts every family before it writes it, and a sorted family costs it
// one pass where 100,000 series in map order cost it a second.
func seriesOf(m *compiler.Map, s mapShape, d *mapDump) []series {
	out := make([]series, len(d.entries))
	width := len(s.labels)
	slab := make([]string, 0, width*len(d.entries)) // one allocation for all label values
	for i, e := range d.entries {
		start := len(slab)
		slab = appendKeyLabels(slab, m, e.key)
		if valueLabeled(m, s, e.val) {
			slab = append(slab, labelValue(e.val))
		}
		out[i] = series{slab[start:len(slab):len(slab)], e.val}
	}
	order := make([]int, width) // label positions by name
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(s.labels[a], s.labels[b]) })
	slices.SortFunc(out, func(a, b series) int {
		for _, i := range order {
			if i < len(a.labels) && i < len(b.labels) {
				if c := strings.Compare(a.labels[i], b.labels[i]); c != 0 {
					return c
				}
			}
		}
		return 0
	})
	return out
}

// valueLabeled is whether a value is a label (value="…") of a series
// whose sample is 1.
func valueLabeled(m *compiler.Map, s mapShape, v Value) bool {
	switch v.(type) {
	case Hist:
		return false
	case Record:
		return m.Value.Kind != compiler.KStats
	}
	_, ok := number(v)
	return s.text || !ok
}

// appendKeyLabels appends a key's label values, one per key expression.
func appendKeyLabels(out []string, m *compiler.Map, key Value) []string {
	if key == nil {
		return out
	}
	if t, ok := key.(Tuple); ok && len(m.KeyNames) > 1 {
		for _, part := range t {
			out = append(out, labelValue(part))
		}
		return out
	}
	return append(out, labelValue(key))
}

// labelValue is a value as text shows it, made valid UTF-8 as labels must
// be (a comm or a string read from memory may hold any bytes).
func labelValue(v Value) string {
	var s string
	switch v := v.(type) {
	case Int: // the common keys, without a builder
		return strconv.FormatInt(int64(v), 10)
	case Uint:
		return strconv.FormatUint(uint64(v), 10)
	case Str:
		s = string(v)
	default:
		s = textValue(v)
	}
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// number is a value as a sample: integers, bools and a Named's number.
func number(v Value) (float64, bool) {
	switch v := v.(type) {
	case Uint:
		return float64(v), true
	case Int:
		return float64(v), true
	case Bool:
		if v {
			return 1, true
		}
		return 0, true
	case Named:
		return number(v.Num)
	}
	return 0, false
}

// histBuckets turns a histogram's buckets into cumulative counts by upper
// bound: a bucket [lo, hi] holds integers, so it is le="hi". The open top
// bucket only adds to the count (+Inf).
func histBuckets(h Hist) (uint64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(h.Buckets))
	var total uint64
	for _, b := range h.Buckets {
		total += b.Count
		if b.HasMax {
			buckets[float64(b.Max)] = total
		}
	}
	return total, buckets
}
