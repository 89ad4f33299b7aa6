package compiler

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestUSDTVerifier compiles usdt programs on tests/testprogs/usdt.c
// (register, memory and constant arguments of each size and sign, a
// string) and loads them into the verifier.
func TestUSDTVerifier(t *testing.T) {
	cc, err := exec.LookPath("cc")
	privtest.Need(t, err == nil, "no C compiler")
	bin := filepath.Join(t.TempDir(), "usdt")
	if out, err := exec.Command(cc, "-O1", "-fno-omit-frame-pointer", "-o", bin, "../tests/testprogs/usdt.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	progs := []string{
		`usdt:BIN:bpfsh_test:args { printf("%u %d %d %u %ld %s\n", arg0, arg1, arg2, arg3, arg4, str(arg5)); @[str(arg5)] = sum(arg1); }`,
		`usdt:BIN:consts, usdt:BIN:mem { @[probe] = max(arg0); }`,
		`usdt:BIN:* { @[probe] = count(); $x = arg0 + 1; }`,
	}
	var objs []*Object
	for _, src := range progs {
		src = strings.ReplaceAll(src, "BIN", bin)
		obj, diags := compile(t, src)
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", src, diags.Format())
		}
		objs = append(objs, obj)
	}
	_, diags := compile(t, strings.ReplaceAll(`usdt:BIN:consts { print(arg2); }`, "BIN", bin))
	if !diags.HasErrors() || !strings.Contains(diags.Format(), "arg2: this usdt probe has 2 arguments") {
		t.Errorf("arg2 on a 2-argument probe: %s", diags.Format())
	}
	privtest.Require(t)
	for _, obj := range objs {
		loadObject(t, obj)
	}
}
