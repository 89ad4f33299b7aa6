package probes

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// HZ returns the running kernel's CONFIG_HZ — the unit of jiffies, which is
// not USER_HZ (getconf CLK_TCK is 100 even when HZ is 250) — and where it
// came from.
func (e *Env) HZ() (int, string) {
	if e.Hz > 0 {
		return e.Hz, "given"
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	rel := unix.ByteSliceToString(uts.Release[:])
	if hz := hzFromConfig(readFile("/boot/config-" + rel)); hz > 0 {
		e.Hz = hz
		return hz, "/boot/config-" + rel
	}
	if data := readFile(e.ProcPath("config.gz")); data != nil {
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				if hz := hzFromConfig(plain); hz > 0 {
					e.Hz = hz
					return hz, e.ProcPath("config.gz")
				}
			}
		}
	}
	if hz := e.measureHZ(); hz > 0 {
		e.Hz = hz
		return hz, "measured from /proc/timer_list"
	}
	e.Hz = 250
	return 250, "assumed (no kernel config found)"
}

func readFile(name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	return b
}

// Compiled on first use: nothing at start-up.
var hzRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^CONFIG_HZ=(\d+)$`) })

func hzFromConfig(cfg []byte) int {
	m := hzRe().FindSubmatch(cfg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// measureHZ counts jiffies over a short monotonic interval and rounds to the
// nearest value a kernel can be configured with.
func (e *Env) measureHZ() int {
	j0, ok0 := e.readJiffies()
	t0 := time.Now()
	time.Sleep(200 * time.Millisecond)
	j1, ok1 := e.readJiffies()
	dt := time.Since(t0).Seconds()
	if !ok0 || !ok1 || dt <= 0 {
		return 0
	}
	rate := float64(j1-j0) / dt
	best, bestDiff := 0, 1e9
	for _, hz := range []int{100, 250, 300, 1000} {
		if d := abs(rate - float64(hz)); d < bestDiff {
			best, bestDiff = hz, d
		}
	}
	return best
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func (e *Env) readJiffies() (uint64, bool) {
	f, err := os.Open(e.ProcPath("timer_list"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "jiffies:") {
			n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "jiffies:")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
