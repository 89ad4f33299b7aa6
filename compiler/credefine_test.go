package compiler

import (
	"strings"
	"testing"
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
