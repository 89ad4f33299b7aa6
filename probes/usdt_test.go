package probes

import (
	"github.com/bpfsh/bpfsh/internal/privtest"

	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseUSDTArgs(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []USDTArg
		err  bool
	}{
		{spec: "-4@%edi 8@%rsi", want: []USDTArg{
			{Kind: USDTReg, Reg: 112, Index: -1, Size: 4, Signed: true, Spec: "-4@%edi"},
			{Kind: USDTReg, Reg: 104, Index: -1, Size: 8, Spec: "8@%rsi"},
		}},
		{spec: "1@%ah 2@%r9w -1@%r15b", want: []USDTArg{
			{Kind: USDTReg, Reg: 80, Shift: 8, Index: -1, Size: 1, Spec: "1@%ah"},
			{Kind: USDTReg, Reg: 64, Index: -1, Size: 2, Spec: "2@%r9w"},
			{Kind: USDTReg, Reg: 0, Index: -1, Size: 1, Signed: true, Spec: "-1@%r15b"},
		}},
		{spec: "-4@-12(%rbp) 8@(%rax) 8@16(%rbx,%rcx,8)", want: []USDTArg{
			{Kind: USDTMem, Reg: 32, Index: -1, Disp: -12, Size: 4, Signed: true, Spec: "-4@-12(%rbp)"},
			{Kind: USDTMem, Reg: 80, Index: -1, Size: 8, Spec: "8@(%rax)"},
			{Kind: USDTMem, Reg: 40, Index: 88, Scale: 8, Disp: 16, Size: 8, Spec: "8@16(%rbx,%rcx,8)"},
		}},
		{spec: "8@$5 -4@$-7", want: []USDTArg{
			{Kind: USDTConst, Index: -1, Disp: 5, Size: 8, Spec: "8@$5"},
			{Kind: USDTConst, Index: -1, Disp: -7, Size: 4, Signed: true, Spec: "-4@$-7"},
		}},
		{spec: "", want: nil},
		{spec: "8@%xmm0", err: true},
		{spec: "3@%rax", err: true},
		{spec: "8@sym(%rip)", err: true},
		{spec: "x@%rax", err: true},
	} {
		got, err := ParseUSDTArgs(c.spec)
		if c.err {
			if err == nil {
				t.Errorf("%q: no error", c.spec)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
}

// TestUSDTNotes builds tests/testprogs/usdt.c and reads its notes.
func TestUSDTNotes(t *testing.T) {
	cc, err := exec.LookPath("cc")
	privtest.Need(t, err == nil, "no C compiler")
	bin := filepath.Join(t.TempDir(), "usdt")
	if out, err := exec.Command(cc, "-O1", "-o", bin, "../tests/testprogs/usdt.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	notes, err := USDTNotes(bin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, n := range notes {
		got[n.Provider+":"+n.Name]++
		if n.Offset == 0 {
			t.Errorf("%s:%s: no file offset", n.Provider, n.Name)
		}
		if (n.Name == "guarded") != (n.SemOffset != 0) {
			t.Errorf("%s:%s: semaphore offset %#x", n.Provider, n.Name, n.SemOffset)
		}
		if _, err := ParseUSDTArgs(n.Args); err != nil {
			t.Errorf("%s:%s: %v", n.Provider, n.Name, err)
		}
	}
	want := map[string]int{"bpfsh_test:args": 1, "bpfsh_test:consts": 1, "bpfsh_test:mem": 1, "bpfsh_test:guarded": 1, "bpfsh_test:twice": 2, `bpfsh_test:"quoted"`: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("probes %v, want %v", got, want)
	}
	pts, err := expandUSDT(&Env{}, []string{bin, "", "t*"})
	if err != nil || len(pts) != 2 || pts[0].Loc != 1 || pts[1].Loc != 2 {
		t.Errorf("usdt:%s::t* expands to %+v, %v", bin, pts, err)
	}
	if _, err := expandUSDT(&Env{}, []string{bin, "nosuch"}); err == nil {
		t.Error("unknown probe: no error")
	}
}
