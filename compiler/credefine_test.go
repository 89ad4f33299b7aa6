package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// TestRedefinedKernelTypeAfterInclude: a script that redefines a kernel
// type (nameidata) may hold other kernel types by value once it includes
// a header, as bpftrace with the header's definitions; without one,
// bpftrace's rule stands and the error says what to do.
func TestRedefinedKernelTypeAfterInclude(t *testing.T) {
	const def = `struct nameidata { struct path path; struct qstr last; struct path root; struct inode *inode; unsigned int flags, state; };
BEGIN { $nd = (struct nameidata *)curtask; @[$nd->last.len, $nd->root.dentry] = count(); printf("%d %d\n", sizeof(struct nameidata), offsetof(struct nameidata, inode)); }`
	if _, diags := compile(t, "#include <linux/fs.h>\n"+def); diags.HasErrors() {
		t.Errorf("with #include:\n%s", diags.Format())
	}
	_, diags := compile(t, def)
	got := diags.Format()
	for _, want := range []string{"test.bt:1:27: error: field has incomplete type 'struct path'", "or #include a header that does"} {
		if !strings.Contains(got, want) {
			t.Errorf("without #include: want %q in\n%s", want, got)
		}
	}
}

// TestKernelHeadersInstalled: where the running kernel's header tree is
// installed (here: a procfs whose osrelease names the release that make
// test's set-up installed), the constants only the kernel's headers define
// resolve, with their values.
func TestKernelHeadersInstalled(t *testing.T) {
	trees, _ := filepath.Glob("/lib/modules/*/source/include/linux/sched.h")
	more, _ := filepath.Glob("/lib/modules/*/build/include/linux/sched.h")
	trees = append(trees, more...)
	privtest.Need(t, len(trees) > 0, "no kernel header tree under /lib/modules (package linux-headers-ARCH: make test installs it as root on Debian)")
	release := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(trees[0])))))
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "sys/kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "sys/kernel/osrelease"), []byte(release+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := &probes.Env{TracefsRoot: testEnv.TracefsRoot, SysfsRoot: testEnv.SysfsRoot, ProcRoot: proc, Hz: 250, SkipCgroupCheck: true}
	run := func(src string) string {
		prog, diags := lang.Parse("test.bt", []byte(src))
		if !diags.HasErrors() {
			_, diags = Compile(prog, Options{Env: env})
		}
		return diags.Format()
	}
	if got := run("#include <linux/sched.h>\nBEGIN { printf(\"%d %d\\n\", TASK_UNINTERRUPTIBLE, PF_KTHREAD); exit(); }"); got != "" {
		t.Errorf("release %s: TASK_UNINTERRUPTIBLE, PF_KTHREAD:\n%s", release, got)
	}
	// The values are the headers': TASK_INTERRUPTIBLE (1) is above TASK_RUNNING (0).
	got := run("#include <linux/sched.h>\nBEGIN { @ = lhist(1, TASK_INTERRUPTIBLE, TASK_RUNNING, 1); }")
	if !strings.Contains(got, "lhist() max must be greater than min") {
		t.Errorf("release %s: want max <= min, got\n%s", release, got)
	}
}
