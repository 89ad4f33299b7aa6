package probes

import "sort"

// Registers as reg("name") reads them from a probe's struct pt_regs
// (x86-64), by bpftrace's names.

// regNames are bpftrace's register names; their offsets come from the
// table USDT arguments use (usdtRegs), the rest are pt_regs' own fields.
var regNames = []string{"r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
	"ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"}

var regExtra = map[string]int{"orig_ax": 120, "cs": 136, "flags": 144, "ss": 160}

// RegOffset is the offset of register name in struct pt_regs.
func RegOffset(name string) (int, bool) {
	if off, ok := regExtra[name]; ok {
		return off, true
	}
	for _, n := range regNames {
		if n == name {
			r := usdtRegs()[name]
			return r[0], true
		}
	}
	return 0, false
}

// RegNames lists the names reg() takes, sorted.
func RegNames() []string {
	out := append([]string(nil), regNames...)
	sort.Strings(out)
	return out
}
