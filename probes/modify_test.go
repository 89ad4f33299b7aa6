package probes

import (
	"github.com/bpfsh/bpfsh/internal/privtest"

	"bytes"
	"os"
	"strings"
	"testing"
)

// fakeKernel is a kernel with kprobes, trampolines, bpf_override_return, an
// error-injection list and the BPF LSM (files under testdata/kernel); BTF is
// the running kernel's.
func fakeKernel(helper bool) *Env {
	return &Env{TracefsRoot: "testdata/kernel/tracing", DebugfsRoot: "testdata/kernel/debug",
		SecurityfsRoot: "testdata/kernel/security", OverrideHelper: &helper}
}

func needBTF(t *testing.T) {
	t.Helper()
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	privtest.Need(t, err == nil, "no kernel BTF (/sys/kernel/btf/vmlinux)")
}

func TestErrorInjectionList(t *testing.T) {
	inj, note := fakeKernel(true).ErrorInjectionList()
	if !inj["__x64_sys_getpgid"] || !inj["should_failslab"] || len(inj) != 2 || note != "" {
		t.Errorf("list %v note %q", inj, note)
	}
	// debugfs mounted without the list: the kernel has none, nothing to say.
	inj, note = (&Env{DebugfsRoot: "testdata/kernel/debug-noinj"}).ErrorInjectionList()
	if len(inj) != 0 || note != "" {
		t.Errorf("no list: %v %q", inj, note)
	}
	inj, note = (&Env{DebugfsRoot: "testdata/kernel/missing"}).ErrorInjectionList()
	if len(inj) != 0 || !strings.Contains(note, "debugfs is not mounted") {
		t.Errorf("no debugfs: %v %q", inj, note)
	}
}

func TestFmodRetAllowed(t *testing.T) {
	env := fakeKernel(true)
	for fn, want := range map[string]bool{
		"security_file_open": true, "__x64_sys_getpgid": true, "bpf_modify_return_test": true,
		"usb_new_device": false, "vfs_read": false, "bpf_lsm_file_open": false,
	} {
		if got := env.FmodRetAllowed(fn); got != want {
			t.Errorf("FmodRetAllowed(%s) = %v", fn, got)
		}
	}
}

func TestListPattern(t *testing.T) {
	for fn, want := range map[string]string{
		"usb_new_device": "override:*usb*", "__x64_sys_getpgid": "override:*getpgid*",
		"security_foo": "override:*foo*", "security_ab": "override:*", "vfs": "override:*vfs*", "a_b": "override:*",
	} {
		if got := ListPattern(fn); got != want {
			t.Errorf("ListPattern(%s) = %s, want %s", fn, got, want)
		}
	}
}

func TestResolveOverride(t *testing.T) {
	needBTF(t)
	kprobe, _ := Lookup("kprobe")
	fentry, _ := Lookup("fentry")
	fexit, _ := Lookup("fexit")
	for _, c := range []struct {
		helper bool
		prov   *Provider
		parts  []string
		want   string // provider:target, or an error's text
	}{
		{true, kprobe, []string{"__x64_sys_getpgid"}, "kprobe:__x64_sys_getpgid"},
		// Without bpf_override_return the kprobe becomes an fmod_ret trampoline.
		{false, kprobe, []string{"__x64_sys_getpgid"}, "fmod_ret:__x64_sys_getpgid"},
		{true, kprobe, []string{"security_file_open"}, "fmod_ret:security_file_open"},
		{true, fentry, []string{"security_file_open"}, "fmod_ret:security_file_open"},
		{true, fentry, []string{"__x64_sys_getpgid"}, "fmod_ret:__x64_sys_getpgid"},
		{true, fexit, []string{"security_file_open"}, "fexit:security_file_open"},
		{true, kprobe, []string{"usbcore", "usb_new_device"}, "the kernel does not let BPF replace what usb_new_device returns: only functions in its error-injection list and, with fmod_ret, security_* functions can be overridden; list them with: bpfsh -l 'override:*usb*'"},
		{true, fentry, []string{"vfs_read"}, "does not let BPF replace what vfs_read returns"},
		{true, kprobe, []string{"security_*"}, "wildcards"},
		{true, kprobe, []string{"security_file_open+4"}, "remove the offset"},
	} {
		prov, pts, err := ResolveOverride(fakeKernel(c.helper), c.prov, c.parts)
		got := ""
		if err != nil {
			got = err.Error()
		} else if len(pts) != 1 || pts[0].Provider != prov.Name {
			got = "bad points"
		} else {
			got = pts[0].String()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %v (helper %v): got %q, want %q", c.prov.Name, c.parts, c.helper, got, c.want)
		}
	}
}

func TestModifyingProbeTypes(t *testing.T) {
	needBTF(t)
	env := fakeKernel(true)
	fmod, _ := Lookup("fmod_ret")
	lsm, _ := Lookup("lsm")
	if _, err := fmod.Expand(env, []string{"usb_new_device"}); err == nil || !strings.Contains(err.Error(), "override:*usb*") {
		t.Errorf("fmod_ret:usb_new_device: %v", err)
	}
	pts, err := fmod.Expand(env, []string{"security_file_open"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fmod.Context(env, pts[0])
	if err != nil || c.Override != OverrideReturn || c.Returns == nil || len(c.Args) != 1 || c.Args[0].Name != "file" {
		t.Errorf("fmod_ret context %+v %v", c, err)
	}
	pts, err = lsm.Expand(env, []string{"file_open"})
	if err != nil {
		t.Fatal(err)
	}
	c, err = lsm.Context(env, pts[0])
	if err != nil || c.Override != OverrideReturn || c.Returns == nil || len(c.Args) != 1 || c.Args[0].Name != "file" {
		t.Errorf("lsm context %+v %v", c, err)
	}
	if lsm.AttachTo(pts[0]) != "file_open" {
		t.Errorf("lsm attaches to %q", lsm.AttachTo(pts[0]))
	}
	if _, err := lsm.Context(env, Point{Provider: "lsm", Target: []string{"no_such_hook"}}); err == nil || !strings.Contains(err.Error(), `no LSM hook "no_such_hook"`) {
		t.Errorf("unknown hook: %v", err)
	}
	env.SecurityfsRoot = "testdata/kernel/security-nobpf"
	if _, err := lsm.Expand(env, []string{"file_open"}); err == nil || !strings.Contains(err.Error(), "the BPF LSM is not active on this kernel (active: lockdown,capability,yama,apparmor; boot with lsm=lockdown,capability,yama,apparmor,bpf)") {
		t.Errorf("inactive BPF LSM: %v", err)
	}
	noTramp := &Env{TracefsRoot: "testdata/kernel/missing"}
	for _, p := range []*Provider{fmod, lsm} {
		if _, err := p.Expand(noTramp, []string{"security_file_open"}); err == nil || err.Error() != p.Name+" probes are not available: this kernel cannot attach BPF trampolines (ftrace is unavailable)" {
			t.Errorf("%s without trampolines: %v", p.Name, err)
		}
	}
}

func TestListOverride(t *testing.T) {
	needBTF(t)
	for _, c := range []struct {
		pattern string
		helper  bool
		want    string
	}{
		{"override:*", true, "kprobe:__x64_sys_getpgid\nfmod_ret:__x64_sys_getpgid\nfmod_ret:bpf_modify_return_test\nfmod_ret:security_file_open\nfmod_ret:security_socket_create\n"},
		{"override:*", false, "fmod_ret:__x64_sys_getpgid\nfmod_ret:bpf_modify_return_test\nfmod_ret:security_file_open\nfmod_ret:security_socket_create\n"},
		{"override:*usb*", true, ""},
		{"override:security_file_*", true, "fmod_ret:security_file_open\n"},
		{"fmod_ret:*", true, "fmod_ret:__x64_sys_getpgid\nfmod_ret:bpf_modify_return_test\nfmod_ret:security_file_open\nfmod_ret:security_socket_create\n"},
		{"lsm:file_ope*", true, "lsm:file_open\n"},
	} {
		var b bytes.Buffer
		if err := List(fakeKernel(c.helper), c.pattern, false, &b); err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		if b.String() != c.want {
			t.Errorf("-l %s (helper %v):\n%s\nwant:\n%s", c.pattern, c.helper, b.String(), c.want)
		}
	}
	var b bytes.Buffer
	if err := List(fakeKernel(true), "lsm:file_open", true, &b); err != nil || b.String() != "lsm:file_open\n    struct file * file\n" {
		t.Errorf("-lv lsm:file_open: %v\n%s", err, b.String())
	}
	err := List(&Env{TracefsRoot: "testdata/kernel/missing", DebugfsRoot: "testdata/kernel/missing"}, "override:*", false, &b)
	if err == nil || !strings.Contains(err.Error(), "override() is not possible on this kernel") {
		t.Errorf("no mechanism: %v", err)
	}
}
