package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// metricsScript counts the getppid(2) calls of processes named mtrig (a
// name of this test's own: other tests run trig at the same time), with a
// histogram beside, and a key whose text needs escaping.
const metricsScript = `BEGIN { @odd["q\"b\\s\nn"] = count(); }
t:syscalls:sys_enter_getppid /comm == "mtrig"/ { @calls[comm] = count(); @lat = hist(nsecs & 0xffff); }`

// TestMetricsPrometheus runs a script with --metrics and a real Prometheus
// server (Debian's) scraping it every second; PromQL over Prometheus's HTTP
// API must give exactly what the script counted, and promtool must accept
// a scrape as it is.
func TestMetricsPrometheus(t *testing.T) {
	privtest.Require(t)
	prometheus := privtest.Tool(t, "prometheus", "prometheus")
	promtool := privtest.Tool(t, "promtool", "prometheus")
	bpfsh, trig := binaries(t)
	mtrig := filepath.Join(t.TempDir(), "mtrig")
	copyFile(t, trig, mtrig, 0o755)

	addr := startMetrics(t, bpfsh, metricsScript, "node=test-node")
	const calls = 7
	for i := 0; i < 2; i++ {
		if out, err := exec.Command(mtrig, "getppid", fmt.Sprint(calls)).CombinedOutput(); err != nil {
			t.Fatalf("mtrig: %v\n%s", err, out)
		}
	}

	t.Run("promtool", func(t *testing.T) {
		scrape := httpGet(t, "http://"+addr+"/metrics", "")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(scrape)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("promtool check metrics: %v\n%s\nthe scrape:\n%s", err, out, scrape)
		}
		om := httpGet(t, "http://"+addr+"/metrics", "application/openmetrics-text; version=1.0.0")
		if !strings.HasSuffix(om, "# EOF\n") || !strings.Contains(om, `bpfsh_calls_total{comm="mtrig",node="test-node"} 14`) {
			t.Errorf("OpenMetrics scrape:\n%s", om)
		}
	})

	api := startPrometheus(t, prometheus, addr)
	want := map[string]float64{
		`bpfsh_calls_total{comm="mtrig",node="test-node"}`: 2 * calls,
		`bpfsh_lat_count`:                    2 * calls,
		`bpfsh_lat_bucket{le="+Inf"}`:        2 * calls,
		`count(bpfsh_lat_bucket) > bool 1`:   1,
		`bpfsh_probes_attached`:              1, // BEGIN ran, it is not attached
		`bpfsh_lost_events_total`:            0,
		`bpfsh_map_full_total`:               0,
		`bpfsh_build_info`:                   1,
		`bpfsh_odd_total{key0="q\"b\\s\nn"}`: 1,
		`up{job="bpfsh"}`:                    1,
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, w := range want {
		for {
			got, err := promQuery(api, q)
			if err == nil && got == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("PromQL %s: %v (%v), want %v", q, got, err, w)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// startMetrics runs bpfsh --metrics on a free port with the extra labels
// given, until the test ends; it returns the address once the probes are
// attached.
func startMetrics(t *testing.T, bpfsh, script, labels string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bpfsh, "--metrics", "127.0.0.1:0", "-e", script)
	cmd.Env = append(os.Environ(), "BPFSH_METRICS_LABELS="+labels)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	addrRE := regexp.MustCompile(`serving metrics at http://(\S+)/metrics`)
	sc := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && sc.Scan() {
		if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		} else {
			t.Logf("bpfsh: %s", sc.Text())
		}
	}
	go io.Copy(io.Discard, stderr)
	out := bufio.NewScanner(stdout)
	if addr == "" || !out.Scan() || !strings.HasPrefix(out.Text(), "Attached") {
		t.Fatalf("bpfsh --metrics did not start: address %q, output %q", addr, out.Text())
	}
	go io.Copy(io.Discard, stdout)
	return addr
}

// startPrometheus runs prometheus in a temporary directory, scraping
// target every second, and returns its API's base URL once it is ready.
func startPrometheus(t *testing.T, prometheus, target string) string {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"+
		"  - job_name: bpfsh\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+web)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", log.String())
		}
	})
	base := "http://" + web
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus is not ready after 30 s")
		}
	}
}

// promQuery runs an instant PromQL query that must give one sample.
func promQuery(base, q string) (float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("status %s %s, %d results", r.Status, r.Error, len(r.Data.Result))
	}
	var v float64
	_, err = fmt.Sscan(fmt.Sprint(r.Data.Result[0].Value[1]), &v)
	return v, err
}

// httpGet is the body of url, asking for the format accept ("": any).
func httpGet(t *testing.T, url, accept string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMetricsREPL: :metrics serves the session's maps, the ones probes add
// after it too.
func TestMetricsREPL(t *testing.T) {
	bin, _ := privBinaries(t)
	tm := startREPL(t, bin, t.TempDir())
	tm.send(":metrics 127.0.0.1:0\r")
	addr := tm.expect(`serving metrics at http://(\S+)/metrics\n`)[1]
	tm.send("@x = 5\r")
	tm.expect(prompt)
	tm.send(`i:ms:10 { @ticks[probe] = count(); }` + "\r")
	tm.expect(`attached i:ms:10`)
	time.Sleep(200 * time.Millisecond)
	body := httpGet(t, "http://"+addr+"/metrics", "")
	for _, want := range []string{`\nbpfsh_x 5\n`, `\nbpfsh_ticks_total\{probe="i[^"]*:ms:10"\} [1-9]`, `\nbpfsh_probes_attached 1\n`} {
		if !regexp.MustCompile(want).MatchString(body) {
			t.Errorf("scrape has no %q:\n%s", want, body)
		}
	}
	tm.send(":quit\r")
}

// TestMetricsPinned: bpfsh metrics NAME serves what a pinned policy has
// counted since it was pinned. The policy takes a positional parameter in
// its attach point and in a key, a named one, and a string size from the
// environment (that of @files' keys): bpfsh metrics compiles it again with what it was pinned
// with, not with its own arguments or environment.
func TestMetricsPinned(t *testing.T) {
	bpfsh, trig := privBinaries(t)
	ptrig := filepath.Join(t.TempDir(), "mptrig")
	copyFile(t, trig, ptrig, 0o755)
	name := fmt.Sprintf("metrics-test-%d", os.Getpid())
	script := `t:syscalls:sys_enter_$1 /comm == "mptrig"/ { @calls[comm, str($2)] = count(); @tags[getopt("tag", "none")] = count(); }
t:syscalls:sys_enter_openat /comm == "mptrig"/ { @files[str(args.filename)] = count(); }`
	pin := exec.Command(bpfsh, "-q", "--pin", name, "-e", script, "getppid", "red", "--", "--tag=blue")
	pin.Env = append(os.Environ(), "BPFSH_MAX_STRLEN=40")
	if out, err := pin.CombinedOutput(); err != nil {
		t.Fatalf("--pin: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(bpfsh, "unpin", name).Run() })
	if out, err := exec.Command(ptrig, "getppid", "5").CombinedOutput(); err != nil {
		t.Fatalf("mptrig: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bpfsh, "metrics", name, "--listen", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	m := []string(nil)
	if sc.Scan() {
		m = regexp.MustCompile(`at http://(\S+)/metrics`).FindStringSubmatch(sc.Text())
	}
	if m == nil {
		t.Fatalf("bpfsh metrics: %q, stderr %s", sc.Text(), stderr.String())
	}
	body := httpGet(t, "http://"+m[1]+"/metrics", "")
	for _, want := range []string{"\nbpfsh_calls_total{comm=\"mptrig\",key1=\"red\"} 5\n", "\nbpfsh_tags_total{key0=\"blue\"} 5\n",
		"\nbpfsh_files_total{key0=", "\nbpfsh_probes_attached 2\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape has no %q:\n%s", want, body)
		}
	}
}
