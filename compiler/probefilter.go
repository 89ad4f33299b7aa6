package compiler

import (
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// --probe-filter REGEX: of a script's attach points only those whose
// names match are kept (BEGIN and END always are), as current bpftrace.

// probeFilter counts what the filter did.
type probeFilter struct {
	dropped, kept int // attach points other than BEGIN and END
}

func (c *compiler) keepPoint(prov *probes.Provider, pt probes.Point) bool {
	if prov.Runs.Once() {
		return true
	}
	if f := c.opts.ProbeFilter; f != nil && !f.MatchString(pt.String()) {
		c.filter.dropped++
		return false
	}
	c.filter.kept++
	return true
}

// checkFiltered reports a filter that left nothing to attach.
func (c *compiler) checkFiltered(diags *lang.Diags) {
	if c.filter.dropped > 0 && c.filter.kept == 0 && !diags.HasErrors() {
		diags.Errorf(c.prog.Probes[0].Span, "No probes to attach: --probe-filter %q matches none of the script's probes", c.opts.ProbeFilter.String())
	}
}
