package runtime

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
)

// readsMap is a program that looks up key 0 of map name.
func readsMap(name string) *ebpf.ProgramSpec {
	return &ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL", Instructions: asm.Instructions{
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, 0).WithReference(name),
		asm.FnMapLookupElem.Call(),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// createMaps and loadPrograms load several objects at a time, bind each
// program to the maps it names, and leave nothing open when a program is
// refused.
func TestLoadPrograms(t *testing.T) {
	privtest.Require(t)
	specs := map[string]*ebpf.MapSpec{}
	for _, m := range []string{"ma", "mb", "mc"} {
		specs[m] = &ebpf.MapSpec{Name: m, Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	}
	obj := &compiler.Object{}
	uses := map[*compiler.Program]string{}
	for _, p := range []struct{ name, m string }{{"pa", "ma"}, {"pb", "mb"}, {"pc", "mc"}, {"pd", "ma"}} {
		ps := readsMap(p.m)
		ps.Name = p.name
		cp := &compiler.Program{Spec: ps}
		obj.Programs = append(obj.Programs, cp)
		uses[cp] = p.m
	}
	before := openFDs(t)
	byName, err := createMaps(specs)
	if err != nil {
		t.Fatal(err)
	}
	progs, err := loadPrograms(obj, obj.Programs, byName, patchValues{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) != 3 || len(progs) != 4 {
		t.Fatalf("loaded %d maps and %d programs, want 3 and 4", len(byName), len(progs))
	}
	// Each program reads the map it names, not another.
	for cp, p := range progs {
		info, err := p.Info()
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := info.MapIDs()
		want, _ := byName[uses[cp]].Info()
		wantID, _ := want.ID()
		if len(ids) != 1 || ids[0] != wantID {
			t.Errorf("%s uses maps %v, want [%v]", cp.Spec.Name, ids, wantID)
		}
		p.Close()
	}

	// A program the verifier refuses (R0 never set): the error says so,
	// with the verifier's log, and every program made is closed again.
	bad := &ebpf.ProgramSpec{Name: "pbad", Type: ebpf.SocketFilter, License: "GPL", Instructions: asm.Instructions{asm.Return()}}
	obj.Programs = append(obj.Programs, &compiler.Program{Spec: bad})
	_, err = loadPrograms(obj, obj.Programs, byName, patchValues{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "verifier rejected") {
		t.Fatalf("got %v, want a verifier error", err)
	}
	for _, m := range byName {
		m.Close()
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d file descriptors open after a refused load, %d before", n, before)
	}
}

// parallel runs every index once and reports the first failing index's error.
func TestParallel(t *testing.T) {
	var ran [100]atomic.Int32
	errA, errB := errors.New("a"), io.EOF
	err := parallel(100, func(i int) error {
		ran[i].Add(1)
		switch i {
		case 37:
			return errA
		case 80:
			return errB
		}
		return nil
	})
	if err != errA {
		t.Errorf("got %v, want the error of index 37", err)
	}
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Errorf("index %d ran %d times", i, n)
		}
	}
}

type countCloser struct{ n *atomic.Int32 }

func (c countCloser) Close() error { c.n.Add(1); return nil }

// closeAll closes every link once, however many there are.
func TestCloseAll(t *testing.T) {
	for _, n := range []int{0, 1, 2, maxParallelDetach + 5} {
		var closed atomic.Int32
		links := make([]io.Closer, n)
		for i := range links {
			links[i] = countCloser{&closed}
		}
		closeAll(links)
		if int(closed.Load()) != n {
			t.Errorf("%d links: %d closes", n, closed.Load())
		}
	}
}
