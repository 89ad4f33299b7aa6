package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/bpfsh/bpfsh/compiler"
)

// maxScript is the largest script bpfsh reads (a file, stdin or :load):
// far beyond any real script, and small enough that reading /dev/zero by
// mistake ends with an error instead of exhausting memory.
const maxScript = 16 << 20

// readScript reads a script from r, refusing one larger than maxScript.
func readScript(name string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxScript+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxScript {
		return nil, fmt.Errorf("%s: the script is larger than %d MiB, the most bpfsh reads", name, maxScript>>20)
	}
	return b, nil
}

// readScriptFile is readScript on a file.
func readScriptFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readScript(name, f)
}

// envLimit is an integer environment variable (bpftrace's name or
// bpfsh's) and the values it accepts.
type envLimit struct {
	names    []string
	min, max int64
}

// envLimits are the integer variables bpfsh reads; checkEnv refuses a value
// that is not an integer in range, naming the variable, rather than
// ignoring it or letting it overflow a kernel limit.
var envLimits = []envLimit{
	{[]string{"BPFTRACE_MAP_KEYS_MAX", "BPFSH_MAX_MAP_KEYS"}, 1, compiler.MaxMapKeys},
	// Pages of 4 KiB: the ring buffer is at most 1 GiB.
	{[]string{"BPFTRACE_PERF_RB_PAGES", "BPFSH_PERF_RB_PAGES"}, 1, compiler.MaxRingPages},
	{[]string{"BPFTRACE_MAX_STRLEN", "BPFSH_MAX_STRLEN"}, 1, 1 << 20},
	{[]string{"BPFTRACE_MAX_PROBES", "BPFSH_MAX_PROBES"}, 1, 1 << 20},
	{[]string{"BPFTRACE_MAX_CAT_BYTES", "BPFSH_MAX_CAT_BYTES"}, 0, 1 << 30},
}

// checkEnv checks every variable of envLimits that is set.
func checkEnv() error {
	for _, l := range envLimits {
		for _, n := range l.names {
			v, ok := os.LookupEnv(n)
			if !ok || v == "" {
				continue
			}
			i, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("environment variable %s=%q: not an integer", n, v)
			}
			if i < l.min || i > l.max {
				return fmt.Errorf("environment variable %s=%d: out of range (%d to %d)", n, i, l.min, l.max)
			}
		}
	}
	return nil
}

// envInt reads the first of the environment variables that is set
// (bpftrace's names work too); checkEnv has checked them.
func envInt(names ...string) int {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			i, _ := strconv.Atoi(v)
			return i
		}
	}
	return 0
}
