package compiler

import (
	"github.com/bpfsh/bpfsh/internal/privtest"

	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// kernelEnv is a kernel that has kprobes, trampolines, an error-injection
// list and the BPF LSM (captured files under probes/testdata/kernel); types
// come from the running kernel's BTF. helper says whether kprobes may call
// bpf_override_return.
func kernelEnv(t *testing.T, helper bool) *probes.Env {
	t.Helper()
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	privtest.Need(t, err == nil, "no kernel BTF (/sys/kernel/btf/vmlinux)")
	const dir = "../probes/testdata/kernel/"
	return &probes.Env{TracefsRoot: dir + "tracing", DebugfsRoot: dir + "debug", SecurityfsRoot: dir + "security", OverrideHelper: &helper}
}

func compileWith(t *testing.T, env *probes.Env, unsafe bool, src string) (*Object, *lang.Diags) {
	t.Helper()
	prog, diags := lang.Parse("test.bt", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse %q:\n%s", src, diags.Format())
	}
	return Compile(prog, Options{Env: env, Unsafe: unsafe})
}

// returned finds the value the program returns through the override
// variable: the last store of a constant into the slot the epilogue loads.
func returned(insns asm.Instructions) (int64, bool) {
	n := len(insns)
	if n < 2 || insns[n-1].OpCode != asm.Return().OpCode || insns[n-2].OpCode != asm.LoadMemOp(asm.DWord) || insns[n-2].Src != asm.R10 || insns[n-2].Dst != asm.R0 {
		return 0, false
	}
	slot := insns[n-2].Offset
	consts := map[asm.Register]int64{}
	var v int64
	found := false
	for _, ins := range insns[:n-2] {
		if ins.OpCode == asm.Mov.Op(asm.ImmSource) {
			consts[ins.Dst] = ins.Constant
		}
		if ins.OpCode == asm.StoreMemOp(asm.DWord) && ins.Dst == asm.R10 && ins.Offset == slot {
			if c, ok := consts[ins.Src]; ok {
				v, found = c, true
			}
		}
	}
	return v, found
}

// overrideCall finds bpf_override_return(ctx, rc) and rc.
func overrideCall(insns asm.Instructions) (int64, bool) {
	for i, ins := range insns {
		if !ins.IsBuiltinCall() || ins.Constant != int64(asm.FnOverrideReturn) || i < 2 {
			continue
		}
		var rc int64
		ctx, haveRC := false, false
		for _, p := range insns[max(0, i-3):i] {
			if p.OpCode == asm.Mov.Op(asm.RegSource) && p.Dst == asm.R1 && p.Src == ctxReg {
				ctx = true
			}
			if p.OpCode == asm.Mov.Op(asm.ImmSource) && p.Dst == asm.R2 {
				rc, haveRC = p.Constant, true
			}
		}
		return rc, ctx && haveRC
	}
	return 0, false
}

func TestOverrideMechanisms(t *testing.T) {
	for _, c := range []struct {
		helper   bool
		src      string
		progType ebpf.ProgramType
		attach   ebpf.AttachType
		attachTo string
		rc       int64 // what the function is made to return
	}{
		// bpf_override_return where the kernel has it for the function...
		{true, `kprobe:__x64_sys_getpgid { override(-12); }`, ebpf.Kprobe, ebpf.AttachNone, "", -12},
		{true, `kprobe:__x64_sys_getpgid /pid == 1/ { override(ENOMEM); }`, ebpf.Kprobe, ebpf.AttachNone, "", -12},
		// ...else an fmod_ret trampoline, whatever the script's probe type.
		{false, `kprobe:__x64_sys_getpgid { override(-ENOMEM); }`, ebpf.Tracing, ebpf.AttachModifyReturn, "__x64_sys_getpgid", -12},
		{true, `kprobe:security_file_open { override(EACCES); }`, ebpf.Tracing, ebpf.AttachModifyReturn, "security_file_open", -13},
		{true, `fentry:security_file_open /comm == "cat"/ { override(EPERM); }`, ebpf.Tracing, ebpf.AttachModifyReturn, "security_file_open", -1},
		{true, `fmod_ret:bpf_modify_return_test { override(1234); }`, ebpf.Tracing, ebpf.AttachModifyReturn, "bpf_modify_return_test", 1234},
		{true, `fmod_ret:security_file_open { if (args.file->f_inode->i_rdev == 1) { override(EPERM); } }`, ebpf.Tracing, ebpf.AttachModifyReturn, "security_file_open", -1},
		{true, `lsm:file_open /args.file->f_inode->i_rdev == (189 << 20)/ { override(EPERM); }`, ebpf.LSM, ebpf.AttachLSMMac, "file_open", -1},
		{true, `lsm:socket_create /comm == "nc" && args.kern == 0/ { printf("denied\n"); override(-EACCES); }`, ebpf.LSM, ebpf.AttachLSMMac, "socket_create", -13},
	} {
		obj, diags := compileWith(t, kernelEnv(t, c.helper), true, c.src)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", c.src, diags.Format())
			continue
		}
		spec := obj.Programs[0].Spec
		if spec.Type != c.progType || spec.AttachType != c.attach || spec.AttachTo != c.attachTo {
			t.Errorf("%s: %s/%s to %q, want %s/%s to %q", c.src, spec.Type, spec.AttachType, spec.AttachTo, c.progType, c.attach, c.attachTo)
		}
		var rc int64
		var ok bool
		if c.progType == ebpf.Kprobe {
			rc, ok = overrideCall(spec.Instructions)
		} else {
			rc, ok = returned(spec.Instructions)
		}
		if !ok || rc != c.rc {
			t.Errorf("%s: returns %d (found %v), want %d:\n%s", c.src, rc, ok, c.rc, spec.Instructions)
		}
	}
}

// Without override(), fmod_ret and lsm programs return 0: the function
// runs, the operation is allowed.
func TestModifyingProbesDefaultToNoChange(t *testing.T) {
	for _, src := range []string{
		`fmod_ret:security_file_open { @opens = count(); }`,
		`lsm:file_open { printf("%s\n", comm); }`,
		`lsm:file_open /comm == "x"/ { override(EPERM); }`,
		`i:s:1 { exit(); } lsm:file_open { if (pid == 0) { override(EPERM); } }`,
	} {
		obj, diags := compileWith(t, kernelEnv(t, true), true, src)
		if diags.HasErrors() {
			t.Errorf("%s:\n%s", src, diags.Format())
			continue
		}
		for _, p := range obj.Programs {
			insns := p.Spec.Instructions
			n := len(insns)
			if p.Spec.Type == ebpf.PerfEvent {
				continue
			}
			// Every way out returns 0 unless override() ran: the slot the
			// epilogue reads is zeroed before the first jump to it.
			if last := insns[n-2]; last.OpCode == asm.Mov.Op(asm.ImmSource) && last.Constant == 0 {
				continue
			}
			slot := insns[n-2].Offset
			at := map[string]int{}
			for i, ins := range insns {
				if sym := ins.Symbol(); sym != "" {
					at[sym] = i
				}
			}
			for _, ins := range insns {
				if ins.OpCode == asm.StoreImmOp(asm.DWord) && ins.Offset == slot && ins.Constant == 0 {
					break
				}
				if !ins.OpCode.Class().IsJump() || ins.OpCode.JumpOp() == asm.Call {
					continue
				}
				// Before the slot is zeroed, every way out returns 0 itself.
				i, ok := at[ins.Reference()]
				if !ok || i+1 >= n || insns[i].OpCode != asm.Mov.Op(asm.ImmSource) || insns[i].Dst != asm.R0 ||
					insns[i].Constant != 0 || insns[i+1].OpCode != asm.Return().OpCode {
					t.Errorf("%s: a jump to %s before the return slot is zeroed:\n%s", src, ins.Reference(), insns)
				}
			}
		}
	}
}

func TestOverrideErrors(t *testing.T) {
	for _, c := range []struct {
		src    string
		unsafe bool
		want   string
	}{
		{`kprobe:security_file_open { override(EPERM); }`, false,
			"test.bt:1:29: error: override() is a destructive action: run bpfsh with --unsafe to allow it\n" +
				"kprobe:security_file_open { override(EPERM); }\n                            ^~~~~~~~~~~~~~~"},
		{`kprobe:usbcore:usb_new_device { override(EPERM); }`, true,
			"test.bt:1:1: error: the kernel does not let BPF replace what usb_new_device returns: only functions in its error-injection list and, with fmod_ret, security_* functions can be overridden; list them with: bpfsh -l 'override:*usb*'"},
		{`fentry:vfs_read { override(-1); }`, true, "does not let BPF replace what vfs_read returns"},
		{`fmod_ret:usb_new_device { }`, true, "does not let BPF replace what usb_new_device returns"},
		{`kretprobe:security_file_open { override(-1); }`, true, "override() must run before the function returns: use it in a kprobe, fentry, fmod_ret or lsm probe, not kretprobe"},
		{`fexit:security_file_open { override(-1); }`, true, "must run before the function returns"},
		{`interval:s:1 { override(-1); }`, true, "override() is only available in kprobe, fentry, fmod_ret and lsm probes, not interval"},
		{`BEGIN { override(-1); }`, true, "override() is only available in kprobe, fentry, fmod_ret and lsm probes, not BEGIN"},
		{`lsm:file_open { override(5); }`, true, "test.bt:1:26: error: an LSM hook returns 0 to allow or a negative errno to deny, not 5"},
		{`lsm:file_open { override("no"); }`, true, "override() takes the value to return (an integer or an errno name like EPERM), not string"},
		{`lsm:file_open { override(1, 2); }`, true, "override() takes exactly 1 argument, got 2"},
		{`lsm:file_set_fowner { override(EPERM); }`, true, "lsm:file_set_fowner returns nothing: there is no return value to override"},
		{`lsm:no_such_hook { }`, true, `no LSM hook "no_such_hook" in this kernel (list them: bpfsh -l 'lsm:*')`},
		{`kprobe:security_* { override(EPERM); }`, true, "not supported yet: wildcards in a probe that calls override()"},
		{`kprobe:__x64_sys_getpgid { @m[1] = 1; for ($kv : @m) { override(EPERM); } }`, true, "not supported yet: override() inside this loop"},
	} {
		_, diags := compileWith(t, kernelEnv(t, true), c.unsafe, c.src)
		if got := diags.Format(); !diags.HasErrors() || !strings.Contains(got, c.want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", c.src, got, c.want)
		}
	}
}

func TestOverrideWarnsOnZeroInFmodRet(t *testing.T) {
	_, diags := compileWith(t, kernelEnv(t, true), true, `fmod_ret:security_file_open { override(0); }`)
	if diags.HasErrors() || !strings.Contains(diags.Warnings(), "override(0) does nothing here") {
		t.Errorf("want a warning:\n%s", diags.Format())
	}
}

// errno names are constants in every probe.
func TestErrnoConstants(t *testing.T) {
	obj, diags := compile(t, `BEGIN { printf("%d %d %d\n", EPERM, -EACCES, ENOENT + 1); exit(); }`)
	if diags.HasErrors() || len(obj.Programs) != 1 {
		t.Fatalf("%s", diags.Format())
	}
	_, diags = compile(t, `t:syscalls:sys_exit_openat /args.ret == -ENOENT/ { @missing = count(); }`)
	if diags.HasErrors() {
		t.Errorf("%s", diags.Format())
	}
}

// override() reached through a macro picks the mechanism as a direct call.
func TestOverrideInMacro(t *testing.T) {
	obj, diags := compileWith(t, kernelEnv(t, true), true,
		"macro deny(e) { override(e) }\nkprobe:security_file_open /comm == \"cat\"/ { deny(EACCES); }")
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	spec := obj.Programs[0].Spec
	if spec.AttachType != ebpf.AttachModifyReturn {
		t.Errorf("attach type %s, want fmod_ret", spec.AttachType)
	}
}
