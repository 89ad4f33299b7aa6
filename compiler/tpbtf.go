package compiler

import (
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/probes"
)

// A tracepoint field declared as a pointer to a struct or union
// ("struct __kernel_timespec * rqtp") points at the kernel's BTF type of
// that name, so args.rqtp.tv_sec reads the member, as in bpftrace. Fields
// of syscall tracepoints point into user memory and are read from there.

// tracepointPtr gives the pointer field f its pointee's BTF type, when the
// kernel's BTF has it (t unchanged otherwise).
func (k *checker) tracepointPtr(f probes.Field, t *Type) *Type {
	if !f.Ptr || f.Char || t.Kind != KPtr {
		return t
	}
	name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f.CType), "*"))
	for _, q := range []string{"const ", "volatile "} {
		name = strings.TrimPrefix(name, q)
	}
	name = strings.TrimSpace(strings.TrimSuffix(name, " const"))
	var target btf.Type
	switch {
	case strings.Contains(name, "*"):
		return t // a pointer to a pointer: left as it is
	case strings.HasPrefix(name, "struct "):
		var s *btf.Struct
		if k.c.opts.Env.FindType(strings.TrimPrefix(name, "struct "), &s) != nil {
			return t
		}
		target = s
	case strings.HasPrefix(name, "union "):
		var u *btf.Union
		if k.c.opts.Env.FindType(strings.TrimPrefix(name, "union "), &u) != nil {
			return t
		}
		target = u
	default:
		return t
	}
	w := *t
	w.BTF = target
	return &w
}

// userMember marks a member reached through user memory as being there too.
func userMember(xt, t *Type) *Type {
	if !xt.User || (t.Kind != KPtr && t.Kind != KStruct) || t.User {
		return t
	}
	w := *t
	w.User = true
	return &w
}
