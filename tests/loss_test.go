package tests

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestLostEventsReported overloads a tiny ring buffer with printf records
// from a hot tracepoint: every event is either printed or counted as lost,
// and the loss is reported (text and JSON), never silent.
func TestLostEventsReported(t *testing.T) {
	privtest.Require(t)
	bin, trig := binaries(t)
	const calls = 200000
	prog := `t:syscalls:sys_enter_getppid /pid == cpid/ { printf("ev %s %d\n", "padding-padding-padding-padding-padding-padding", nsecs); }`
	for _, format := range []string{"text", "json"} {
		cmd := exec.Command(bin, "-f", format, "-c", trig+" getppid "+strconv.Itoa(calls), "-e", prog)
		cmd.Env = append(os.Environ(), "BPFSH_PERF_RB_PAGES=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, tail(string(out)))
		}
		printed := strings.Count(string(out), "ev padding-")
		var lost int
		re := regexp.MustCompile(`Lost (\d+) events`)
		if format == "json" {
			re = regexp.MustCompile(`\{"type": "lost_events", "count": \d+, "data": \{"events": (\d+)\}\}`)
		}
		if m := re.FindStringSubmatch(string(out)); m != nil {
			lost, _ = strconv.Atoi(m[1])
		}
		if lost == 0 {
			t.Errorf("%s: no loss reported with a 4 KiB ring buffer (%d of %d printed):\n%s", format, printed, calls, tail(string(out)))
		}
		if printed+lost != calls {
			t.Errorf("%s: printed %d + lost %d = %d, want %d events accounted for", format, printed, lost, printed+lost, calls)
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
