package compiler

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// scratchPrograms need more than BPF's 512-byte stack (or ask for scratch
// memory with on_stack_limit): they compile with scratch memory and load
// into the verifier.
var scratchPrograms = []string{
	// Nine strings of 64 bytes and their printf record: 1,160 bytes.
	`BEGIN { $a = "1"; $b = str(0); $c = str(1); $d = str(2); $e = str(3); $f = str(4); $g = str(5); $h = str(6); $i = str(7); printf("%s%s%s%s%s%s%s%s%s", $a, $b, $c, $d, $e, $f, $g, $h, $i); }`,
	// 1,024-byte strings: a map key, a printf argument, a map value, a variable, a comparison.
	`config = { max_strlen = 1024 } t:syscalls:sys_enter_openat /comm == "trig"/ { @[str(args.filename)] = count(); printf("%s\n", str(args.filename)); $s = str(args.filename); @last = $s; if ($s == @last) { @same++; } }`,
	`config = { max_strlen = 1024 } t:sched:sched_process_exec { @[args.filename, pid] = count(); print((1, str(args.filename))); }`,
	// Loop callbacks: their own lookup, the probe's variables in place.
	`config = { max_strlen = 1024 } BEGIN { @m[1] = "x"; $s = str(0); for ($kv : @m) { $t = str($kv.0); printf("%s %s %s\n", $kv.1, $s, $t); $s = $t; } printf("%s\n", $s); }`,
	`config = { max_strlen = 1024 } BEGIN { $n = pid % 3 + 1; $s = str(0); for ($i : 0..$n) { $s = str($i); if ($i == 1) { break; } } print($s); }`,
	`config = { max_strlen = 600 } BEGIN { @m[str(0)] = "v"; for ($kv : @m) { for ($kv2 : @m) { printf("%s %s\n", $kv.0, $kv2.1); } } }`,
	// Everything in scratch memory.
	`config = { on_stack_limit = 0 } BEGIN { @x[1, "a"] = (2, "b"); @h["k"] = hist(3); @l = lhist(4, 0, 10, 2); @c = count(); @s[comm] = sum(5); print((1, (2, "XXXX"))); printf("%s %d\n", "XXXX", 1); $t = @x[1, "a"]; print($t); delete(@x[1, "a"]); @k[kstack, ustack] = count(); exit(); }`,
	`config = { on_stack_limit = 0 } BEGIN { $a = ("hi", 1); $a = ("hellolongstr", 2); print($a); $b = 1 ? ("x", 1) : ("yyyy", 2); print($b); }`,
	`config = { on_stack_limit = 16 } t:syscalls:sys_enter_openat { @[comm, str(args.filename)] = count(); }`,
	// join(): 16 strings of max_strlen bytes.
	`t:syscalls:sys_enter_execve { join(args.argv); join(args.argv, ","); }`,
	// Packet fields parsed into variables in scratch memory.
	`config = { on_stack_limit = 0 } xdp:lo { @[ip.saddr, ip.daddr] = count(); printf("%s\n", ntop(ip.saddr)); }`,
	`config = { on_stack_limit = 0 } tc:lo:ingress { @m[1] = 1; for ($kv : @m) { @x[ip.saddr, sport] = count(); } for ($i : 0..pkt.len) { @y = sum(dport); } }`,
}

func TestScratchPrograms(t *testing.T) {
	eachCompiled(t, scratchPrograms, func(src string, obj *Object) {
		if obj.Scratch == nil {
			t.Errorf("%s: no scratch memory", src)
		}
	})
}

// TestNoScratchWhenTheStackSuffices: programs that fit the stack keep their
// code: no scratch map, no lookup, R8 a temporary as before.
func TestNoScratchWhenTheStackSuffices(t *testing.T) {
	for _, src := range validPrograms {
		obj, diags := compile(t, src, "5", "five")
		if diags.HasErrors() {
			continue
		}
		if obj.Scratch != nil {
			t.Errorf("%s: scratch memory for a program that fits the stack", src)
		}
		for _, p := range obj.Programs {
			for _, ins := range p.Spec.Instructions {
				if ins.Reference() == scratchMap {
					t.Errorf("%s: references %s", src, scratchMap)
				}
			}
		}
	}
}

func TestScratchLayout(t *testing.T) {
	obj, diags := compile(t, `config = { max_strlen = 1024 } BEGIN { $s = str(0); printf("%s\n", $s); } END { printf("%d\n", 1); }`)
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	s := obj.Scratch
	// One entry per probe; the largest need: $s, then printf's record.
	if s.Type != ebpf.PerCPUArray || s.MaxEntries != 2 || s.ValueSize != 1024+1032 {
		t.Errorf("scratch map: %v, %d entries of %d bytes", s.Type, s.MaxEntries, s.ValueSize)
	}
	// END fits the stack: no lookup there.
	for _, ins := range obj.Programs[1].Spec.Instructions {
		if ins.Reference() == scratchMap {
			t.Errorf("END looks up scratch memory")
		}
	}
	// BEGIN keeps the address in R8 and uses no R8 temporary.
	set := 0
	for _, ins := range obj.Programs[0].Spec.Instructions {
		if cl := ins.OpCode.Class(); ins.Dst == asm.R8 && (cl.IsALU() || cl == asm.LdXClass || cl == asm.LdClass) {
			set++
			if set > 1 || ins.OpCode != asm.Mov.Op(asm.RegSource) || ins.Src != asm.R0 {
				t.Errorf("R8 set again: %v", ins)
			}
		}
	}
	if set != 1 {
		t.Errorf("R8 set %d times", set)
	}
}

func TestScratchErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`config = { max_strlen = 16384 } BEGIN { printf("%s %s\n", str(0), str(1)); }`,
			"1:33: error: this probe's values need 65544 bytes of scratch memory, more than the 32768 a per-CPU map value holds"},
		{`config = { max_strlen = 20000 } BEGIN { }`, "1:25: error: max_strlen must be from 1 to 16384"},
	}
	wantErrors(t, tests)
}

// TestVerifierAcceptsScratch loads every scratch program into the real verifier.
func TestVerifierAcceptsScratch(t *testing.T) {
	privtest.Require(t)
	for _, src := range scratchPrograms {
		obj, diags := compile(t, src)
		if diags.HasErrors() {
			continue // reported by TestScratchPrograms
		}
		if err := verify(obj); err != nil {
			t.Errorf("%s:\n%+v", src, err)
		}
	}
}
