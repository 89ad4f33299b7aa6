package runtime

import "testing"

func TestGFPFlags(t *testing.T) {
	for _, c := range []struct {
		f    uint64
		want string
	}{
		{0, "0"},
		{0x1, "GFP_DMA"},
		{0xcc0, "GFP_KERNEL"},
		{0x400cc0, "GFP_KERNEL_ACCOUNT"},
		{0x2800, "GFP_NOWAIT"},
		{0x820, "GFP_ATOMIC"},
		{0x822, "GFP_ATOMIC|__GFP_HIGHMEM"},
		{0x4c0, "__GFP_IO|__GFP_FS|__GFP_DIRECT_RECLAIM"},
		{0xcc0 | 1<<40, "GFP_KERNEL|0x10000000000"},
		{1 << 40, "0x10000000000"},
	} {
		if got := gfpFlags(c.f); got != c.want {
			t.Errorf("gfpFlags(%#x) = %q, want %q", c.f, got, c.want)
		}
	}
}
