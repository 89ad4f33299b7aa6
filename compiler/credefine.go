package compiler

import (
	"strings"

	"github.com/cilium/ebpf/btf"
)

// A script that redefines a kernel type (struct task_struct { int x; })
// gets no types from the kernel's BTF for its definitions' members held by
// value: it must define them too, as in bpftrace ("once the user redefines
// any kernel type, he must provide all necessary definitions"). Pointers
// to kernel types stay fine. A script that #includes a header is
// different: bpftrace gets the types it holds by value from the headers
// (struct nameidata { struct path path; ... } after #include <linux/fs.h>),
// and bpfsh, which reads headers only for their constants, from the
// kernel's BTF.

// incompleteOK reports whether a member of type t (by value) may be used,
// reporting the error when not.
func (p *cparser) incompleteOK(t btf.Type) bool {
	var full string
	switch u := t.(type) {
	case *btf.Struct:
		full = "struct " + u.Name
	case *btf.Union:
		full = "union " + u.Name
	default:
		return true
	}
	if own, ok := p.c.cdefs.types[full]; ok && own == t {
		return true // the script's own
	}
	redefined := p.redefinedKernelType()
	if redefined == "" || p.c.includes() {
		return true
	}
	p.errorf(p.toks[p.i-1], "field has incomplete type '%s'", full).
		Hint("the script redefines %s, a kernel type: it must then define the types its definitions hold by value, or #include a header that does", redefined)
	return false
}

// includes reports whether the script #includes a header.
func (c *compiler) includes() bool {
	for _, d := range c.prog.Preamble {
		if text := strings.TrimSpace(d.Text); strings.HasPrefix(text, "#") &&
			strings.HasPrefix(strings.TrimSpace(text[1:]), "include") {
			return true
		}
	}
	return false
}

// redefinedKernelType names a struct or union of the script that the kernel
// defines too ("" when none).
func (p *cparser) redefinedKernelType() string {
	for _, name := range p.c.cdefs.order {
		if _, ok := p.c.kernelType(name); ok {
			return name
		}
	}
	return ""
}
