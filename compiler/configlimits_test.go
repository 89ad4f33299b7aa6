package compiler

import (
	"strings"
	"testing"
)

// TestConfigLimits: a ring buffer or map larger than the kernel's 32-bit
// max_entries holds is an error at the value, not a size that wraps to 0.
func TestConfigLimits(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{`config = { perf_rb_pages = 1048576 } BEGIN { printf("x\n"); }`, "1:28: error: perf_rb_pages must be from 1 to 262144"},
		{`config = { max_map_keys = 4294967296 } BEGIN { @a[1] = 1; }`, "1:27: error: max_map_keys must be from 1 to 4294967295"},
	} {
		_, diags := compile(t, tt.src)
		if got := diags.Format(); !strings.Contains(got, tt.want) {
			t.Errorf("%s:\nwant %q in:\n%s", tt.src, tt.want, got)
		}
	}
	if _, diags := compile(t, `config = { perf_rb_pages = 262144 } BEGIN { printf("x\n"); }`); diags.HasErrors() {
		t.Errorf("262144 pages: %s", diags.Format())
	}
}
