package compiler

import (
	"sort"

	"github.com/bpfsh/bpfsh/lang"
)

// configKeys are bpftrace's config = { ... } options (lower case, without
// the BPFTRACE_ prefix). Those bpfsh does not act on are accepted with a
// warning.
var configKeys = map[string]bool{
	"cache_user_symbols": true, "cpp_demangle": true, "lazy_symbolication": true, "license": true,
	"log_size": true, "max_bpf_progs": true, "max_cat_bytes": true, "max_map_keys": true,
	"max_probes": true, "max_strlen": true, "on_stack_limit": true, "perf_rb_pages": true,
	"stack_mode": true, "str_trunc_trailer": true, "missing_probes": true, "print_maps_on_exit": true,
	"use_blazesym": true, "show_debug_info": true,
	// older names
	"strlen": true, "no_cpp_demangle": true, "cat_bytes_max": true, "map_keys_max": true,
}

func configKeyList() []string {
	var out []string
	for k := range configKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// bpfLicenses are the licenses the kernel counts as GPL-compatible, in the
// order bpftrace lists them.
var bpfLicenses = []string{"Dual MIT/GPL", "Dual BSD/GPL", "Dual MPL/GPL", "GPL and additional rights", "GPL v2", "GPL"}

// configString applies a config option whose value is a string or a name
// (license = "GPL", stack_mode = raw). It reports whether it handled a.
func (c *compiler) configString(name string, id *lang.Ident, rhs lang.Expr, diags *lang.Diags) bool {
	var val string
	switch v := rhs.(type) {
	case *lang.StrLit:
		val = v.Val
	case *lang.Ident:
		val = v.Name
	default:
		return false
	}
	switch name {
	case "max_map_keys", "map_keys_max", "max_probes", "perf_rb_pages", "max_strlen", "strlen", "on_stack_limit":
		diags.Errorf(rhs.Sp(), "%s: expecting a number, got %s", id.Name, val)
	case "license":
		for _, l := range bpfLicenses {
			if l == val {
				c.license = val
				return true
			}
		}
		msg := "Invalid value for license. Found: " + val + ". Valid values: "
		for i, l := range bpfLicenses {
			if i > 0 {
				msg += ", "
			}
			msg += l
		}
		diags.Errorf(rhs.Sp(), "%s", msg).Hint("read more about BPF programs and licensing: https://docs.kernel.org/bpf/bpf_licensing.html#using-bpf-programs-in-the-linux-kernel")
	case "missing_probes":
		switch val {
		case "error", "warn", "ignore":
			c.missingProbes = val
		default:
			diags.Errorf(rhs.Sp(), "%s: invalid value %s: valid values are error, warn and ignore", id.Name, val)
		}
	case "print_maps_on_exit":
		b, err := parseBoolParam(val)
		if err != nil || val == "" {
			diags.Errorf(rhs.Sp(), "%s: Invalid bool value: valid values are true, false, 1 or 0.", id.Name)
			return true
		}
		c.noPrintMaps = !b
	default:
		if !configKeys[name] {
			diags.Errorf(id.Span, "%s: not a known configuration option", id.Name).Hint("known: %s", joinNames(configKeyList()))
			return true
		}
		diags.Warnf(id.Span, "config option %s has no effect in bpfsh", id.Name)
	}
	return true
}
