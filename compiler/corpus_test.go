package compiler

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// corpusProgs returns every PROG line of bpftrace's runtime tests (from
// $BPFSH_BPFTRACE_SUITE; t skips without it).
func corpusProgs(t *testing.T) []string {
	dir := privtest.RequireSuite(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var progs []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "PROG ") {
				progs = append(progs, strings.TrimPrefix(line, "PROG "))
			}
		}
		fh.Close()
	}
	return progs
}

// TestVerifierAcceptsCorpus compiles every program of bpftrace's runtime
// suite that bpfsh accepts and loads it into the kernel's verifier: a
// program bpfsh generates that the verifier rejects is a compiler bug.
func TestVerifierAcceptsCorpus(t *testing.T) {
	privtest.Require(t)
	progs := corpusProgs(t)
	env := probes.SystemEnv()
	var compiled, loaded int
	for _, src := range progs {
		prog, diags := lang.Parse("corpus.bt", []byte(src))
		if diags.HasErrors() {
			continue
		}
		obj, cd := Compile(prog, Options{Env: env, Unsafe: true, Params: []string{"1", "2", "3"}})
		if cd.HasErrors() {
			continue
		}
		compiled++
		spec := &ebpf.CollectionSpec{Maps: obj.MapSpecs(), Programs: map[string]*ebpf.ProgramSpec{}}
		for _, p := range obj.Programs {
			spec.Programs[p.Spec.Name] = p.Spec
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil && strings.Contains(err.Error(), "cannot use helper bpf_probe_write_user") {
			// Refused by the kernel's configuration (lockdown), not a bug:
			// tests/vm/cases/30-write-user.sh loads it on a stock kernel.
			t.Logf("the kernel refuses bpf_probe_write_user:\n%s", src)
			continue
		}
		if err != nil {
			t.Errorf("verifier rejected a compiled program:\n%s\n%v", src, err)
			continue
		}
		loaded++
		coll.Close()
	}
	t.Logf("%d corpus programs compiled, %d loaded", compiled, loaded)
	if compiled < 200 {
		t.Errorf("only %d corpus programs compiled; expected at least 200", compiled)
	}
}
