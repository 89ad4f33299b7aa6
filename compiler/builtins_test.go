package compiler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestBuiltinNamesMatchLang keeps lang's builtin value names (which the
// grammar needs and lang, below compiler, cannot read from the table) the
// same as the table's value rows.
func TestBuiltinNamesMatchLang(t *testing.T) {
	values := map[string]bool{}
	for _, b := range builtinRows() {
		if b.form&formValue == 0 {
			continue
		}
		values[b.name] = true
		if !lang.IsBuiltinName(b.name) {
			t.Errorf("%s is a value in the builtin table, not in lang's builtinVars", b.name)
		}
	}
	for _, name := range lang.BuiltinValues() {
		if !values[name] {
			t.Errorf("%s is in lang's builtinVars, not a value in the builtin table", name)
		}
	}
}

// TestBuiltinRows checks that each row can do what its form says.
func TestBuiltinRows(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range builtinRows() {
		if seen[b.name] {
			t.Errorf("%s: two rows", b.name)
		}
		seen[b.name] = true
		switch {
		case b.form == 0:
			t.Errorf("%s: no form", b.name)
		case b.todo:
			if b.value != nil || b.check != nil || b.emit != nil || b.operand != nil {
				t.Errorf("%s: not supported yet, but has code", b.name)
			}
			if b.ctx && b.form != formValue {
				t.Errorf("%s: only values come from a probe's context", b.name)
			}
			continue
		}
		if b.form&formValue != 0 && (b.typ == nil || b.value == nil) {
			t.Errorf("%s: a value without a type or code", b.name)
		}
		if b.form&formFunc != 0 && (b.check == nil) == (b.operand == nil || b.result == nil) {
			t.Errorf("%s: a function needs a check, or an operand and a result", b.name)
		}
		if b.form&(formCall|formStmt) != 0 && b.emit == nil {
			t.Errorf("%s: a function without code", b.name)
		}
		if lookupBuiltin(b.name) == nil {
			t.Errorf("%s: not indexed", b.name)
		}
	}
}

// TestCodegenReadsItsOwnScope: a probe's names and constants are the ones
// its checker resolved, whatever probe was checked last. (Code generation
// used to fold setsockopt()'s level with the last-checked probe's names:
// SOL_TCP became 0 when a BEGIN followed the sockops probe.)
func TestCodegenReadsItsOwnScope(t *testing.T) {
	const sockops = `sockops { setsockopt(SOL_TCP, TCP_BPF_IW, 10); }`
	var want string
	for i, src := range []string{sockops, sockops + ` BEGIN { }`} {
		obj, d := compile(t, src)
		if d.HasErrors() {
			t.Fatalf("%s: %v", src, d)
		}
		var got string
		for _, ins := range obj.Programs[0].Spec.Instructions {
			got += fmt.Sprintln(ins) // without the source lines, which differ
		}
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("%s: the sockops program changed:\n%s\nwant\n%s", src, got, want)
		}
	}
}

// TestProbeType: probetype is "special" for bpftrace's own probes, else the
// provider's name, usb's included (bpfsh runs those itself too).
func TestProbeType(t *testing.T) {
	for name, want := range map[string]string{"BEGIN": "special", "END": "special", "self": "special",
		"tracepoint": "tracepoint", "interval": "interval", "usb": "usb", "kprobe": "kprobe"} {
		prov, ok := probes.Lookup(name)
		if !ok {
			t.Fatalf("no provider %s", name)
		}
		if got := probeType(prov); got != want {
			t.Errorf("probetype of %s: %q, want %q", name, got, want)
		}
	}
}

// TestRealWorldBuiltins: the builtins bpftrace's tools use that bpfsh
// writes as table rows (syscall_name) or standard-library macros (pcomm,
// leader_comm) compile in the probes the tools use them in.
func TestRealWorldBuiltins(t *testing.T) {
	for _, src := range []string{
		`t:raw_syscalls:sys_enter { @[syscall_name(args.id)] = count(); printf("%s\n", syscall_name(0)); }`,
		`t:syscalls:sys_enter_openat { @[comm, pcomm, leader_comm] = count(); printf("%s %s\n", pcomm(curtask), leader_comm(curtask->real_parent)); }`,
	} {
		if _, diags := compile(t, src); diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
		}
	}
	if _, diags := compile(t, `BEGIN { @ = syscall_name("x"); }`); !diags.HasErrors() {
		t.Errorf("syscall_name of a string: no error")
	}
	if row := funcRow("syscall_name"); row == nil || row.result.Format != FormatSyscall {
		t.Errorf("syscall_name's result is not formatted as a system call's name")
	}
}

// TestNtopBytes: ntop() takes an address's bytes, 4 or 16 of them (a
// tracepoint's __u8 daddr_v6[16]), their number giving the family.
func TestNtopBytes(t *testing.T) {
	src := `t:sock:inet_sock_set_state { @[ntop(args.saddr), ntop(args.daddr_v6), ntop(args.family, args.saddr_v6)] = count(); print(args.daddr); @i = args.daddr_v6[15]; }`
	if _, diags := compile(t, src); diags.HasErrors() {
		t.Errorf("%s:\n%s", src, diags.Format())
	}
	_, diags := compile(t, `BEGIN { @ = ntop("abcde"); }`)
	if want := "ntop() takes 4 bytes (IPv4) or 16 (IPv6), not string[6]"; !strings.Contains(diags.Format(), want) {
		t.Errorf("want %q, got\n%s", want, diags.Format())
	}
}

// TestMissingProbes: config = { missing_probes = ... } decides what an
// attach point that does not exist here is: an error, a warning, nothing.
func TestMissingProbes(t *testing.T) {
	const probes = ` t:syscalls:sys_enter_openat, t:nonsense:nonsense { @ = count(); } t:syscalls:nonsense { exit(); }`
	for _, c := range []struct {
		config        string
		errors, warns int
		programs      int
	}{
		{``, 2, 0, 0},
		{`config = { missing_probes = error }`, 2, 0, 0},
		{`config = { missing_probes = warn }`, 0, 3, 1},
		{`config = { missing_probes = "ignore" }`, 0, 0, 1},
	} {
		obj, diags := compile(t, c.config+probes)
		var errs, warns int
		for _, d := range diags.List {
			if d.Severity == lang.Error {
				errs++
			} else {
				warns++
			}
		}
		if errs != c.errors || warns != c.warns || (obj != nil) != (c.programs > 0) || obj != nil && len(obj.Programs) != c.programs {
			t.Errorf("%s: %d errors and %d warnings, want %d and %d:\n%s", c.config, errs, warns, c.errors, c.warns, diags.Format())
		}
	}
}

// TestReg: reg("name") loads the register from the probe's pt_regs, in
// the probes whose context is one.
func TestReg(t *testing.T) {
	src := `uprobe:libc:getppid { @ = reg("ip"); }`
	obj, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatalf("%s:\n%s", src, diags.Format())
	}
	if !loadsCtx(obj.Programs[0].Spec.Instructions, 128) {
		t.Errorf("%s: no load of pt_regs->ip (ctx+128)", src)
	}
	for src, want := range map[string]string{
		`BEGIN { @ = reg("ip"); }`:                       "reg() reads the registers of kprobe, uprobe and usdt probes, not of BEGIN probes",
		`i:s:1 { @ = reg(1); }`:                          "reg() needs the register's name as a string literal",
		`t:syscalls:sys_enter_openat { @ = reg("ip"); }`: "not of tracepoint probes",
	} {
		if _, diags := compile(t, src); !strings.Contains(diags.Format(), want) {
			t.Errorf("%s: want %q, got\n%s", src, want, diags.Format())
		}
	}
	for name, off := range map[string]int{"ip": 128, "sp": 152, "di": 112, "r15": 0, "orig_ax": 120} {
		if got, ok := probes.RegOffset(name); !ok || got != off {
			t.Errorf("RegOffset(%s) = %d, %v; want %d", name, got, ok, off)
		}
	}
	if _, ok := probes.RegOffset("eip"); ok {
		t.Errorf("RegOffset(eip): a register bpftrace's reg() does not take")
	}
}

// loadsCtx reports whether insns load a u64 at ctx+off (ctx kept in R9).
func loadsCtx(insns asm.Instructions, off int16) bool {
	for _, ins := range insns {
		if ins.OpCode.Class().IsLoad() && ins.Src == ctxReg && ins.Offset == off && ins.OpCode.Size() == asm.DWord {
			return true
		}
	}
	return false
}
