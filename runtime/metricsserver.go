package runtime

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bpfsh/bpfsh/compiler"
)

// MetricsServer serves a run's maps at /metrics while it runs. A nil one
// (no --metrics) does nothing.
type MetricsServer struct {
	ln   net.Listener
	srv  *http.Server
	coll *mapCollector
	once sync.Once
	// closers releases what the server alone holds (a pinned policy's maps).
	closers func()
}

// ListenMetrics binds cfg.Addr at once, so that an address in use fails
// before any probe is attached; Serve starts answering.
func ListenMetrics(cfg *MetricsConfig, errw io.Writer) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	coll := &mapCollector{labels: cfg.Labels, version: cfg.Version}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(coll, errw))
	return &MetricsServer{ln: ln, coll: coll, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// metricsHandler answers scrapes from coll.
func metricsHandler(coll *mapCollector, errw io.Writer) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(coll)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// One map that cannot be read must not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      &metricsErrors{w: errw, seen: map[string]bool{}},
		// Scrapes only read maps; more at once would only share the CPUs.
		MaxRequestsInFlight: 4,
	})
}

// Addr is the address the server listens on (with the port :0 chose).
func (s *MetricsServer) Addr() string { return s.ln.Addr().String() }

// serve answers scrapes with v, and later views, until Close.
func (s *MetricsServer) serve(v *metricsView) {
	if s != nil {
		s.publish(v)
		go s.srv.Serve(s.ln)
	}
}

// Close stops serving; a scrape under way is cut off, before the maps it
// reads are closed.
func (s *MetricsServer) Close() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.srv.Close()
		s.ln.Close() // when Serve never ran
		if s.closers != nil {
			s.closers()
		}
	})
}

// publish makes v what the next scrapes read.
func (s *MetricsServer) publish(v *metricsView) {
	if s != nil {
		s.coll.view.Store(v)
	}
}

// viewOf is the view of one loaded object.
func viewOf(obj *compiler.Object, loaded map[string]*ebpf.Map, probes int, dec *decoder) *metricsView {
	v := &metricsView{probes: probes, dec: dec}
	for _, m := range obj.Maps {
		if bm := loaded[m.Spec.Name]; bm != nil {
			v.maps = append(v.maps, m)
			v.bms = append(v.bms, bm)
		}
	}
	if obj.Stats != nil {
		v.stats = loaded[obj.Stats.Name]
	}
	return v
}

// metricsErrors writes each distinct scrape error once: a map that cannot
// be served fails every scrape the same way.
type metricsErrors struct {
	mu   sync.Mutex
	w    io.Writer
	seen map[string]bool
}

func (l *metricsErrors) Println(v ...any) {
	msg := strings.TrimSpace(fmt.Sprintln(v...))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[msg] {
		return
	}
	l.seen[msg] = true
	fmt.Fprintf(l.w, "WARNING: metrics: %s\n", msg)
}

// ParseMetricsLabels reads BPFSH_METRICS_LABELS: name=value pairs,
// comma-separated, added to every series.
func ParseMetricsLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || !compiler.IsLabelName(name) {
			return nil, fmt.Errorf("BPFSH_METRICS_LABELS: %q is not name=value with a label name [a-zA-Z_][a-zA-Z0-9_]*", kv)
		}
		out[name] = val
	}
	return out, nil
}
