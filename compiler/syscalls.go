package compiler

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// A probe on several syscall tracepoints becomes one program on
// raw_syscalls that dispatches on the syscall number (probes/syscalls.go
// says why). Its table, one per program, maps each syscall it serves to
// the probe name `probe` yields there; a syscall without an entry is not
// one of the probe's and ends the program at once.

// attachPoint is a point with the provider that attaches it.
type attachPoint struct {
	prov *probes.Provider
	pt   probes.Point
}

// attachPoints decides how a probe's tracepoints attach: several syscalls
// through one dispatching program, when its body reads nothing that
// differs between them but `probe` and the arguments they have alike;
// the others as raw tracepoints when the body reads no args (whose
// detach does not wait); else each through its perf event.
func (c *compiler) attachPoints(p *lang.Probe, prov *probes.Provider, points []probes.Point) []attachPoint {
	var out []attachPoint
	used, ok := argsUsed(p)
	if prov == nil || prov.Name != "tracepoint" || !ok {
		for _, pt := range points {
			out = append(out, attachPoint{prov, pt})
		}
		return out
	}
	rest := points
	if len(points) > 1 {
		var merged []probes.Point
		merged, rest = probes.DispatchSyscalls(c.opts.Env, points, used)
		for _, pt := range merged {
			out = append(out, attachPoint{probes.SyscallDispatcher, pt})
		}
	}
	for _, pt := range rest {
		if len(used) == 0 && c.opts.Env.HasRawTracepoint(pt) {
			out = append(out, attachPoint{probes.TracepointAsRaw, pt})
		} else {
			out = append(out, attachPoint{prov, pt})
		}
	}
	return out
}

// argsUsed lists the fields of args the probe reads; false when it uses
// something a dispatching program would give otherwise: args as a whole,
// ctx (the record), kernel stacks (the tracepoint's frames differ).
func argsUsed(p *lang.Probe) ([]string, bool) {
	var used []string
	ok := true
	lang.Walk(p, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Field:
			if id, isID := n.X.(*lang.Ident); isID && id.Name == "args" {
				if !slices.Contains(used, n.Name) {
					used = append(used, n.Name)
				}
				return false
			}
		case *lang.Ident:
			ok = ok && n.Name != "args" && n.Name != "ctx" && n.Name != "kstack"
		case *lang.Call:
			ok = ok && n.Name != "kstack"
		}
		return true
	})
	return used, ok
}

// syscallTable is the name and spec of a dispatching program's table:
// syscall number → probe name, as `probe` holds it (size bytes).
func syscallTable(d *probes.SyscallDispatch, size int) (string, *ebpf.MapSpec) {
	nrs := make([]int, 0, len(d.Probes))
	for nr := range d.Probes {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	spec := &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: uint32(size), MaxEntries: uint32(nrs[len(nrs)-1] + 1)}
	h := fnv.New32a()
	for _, nr := range nrs {
		v := make([]byte, size)
		copy(v, d.Probes[nr])
		spec.Contents = append(spec.Contents, ebpf.MapKV{Key: uint32(nr), Value: v})
		h.Write(binary.LittleEndian.AppendUint32(nil, uint32(nr)))
		h.Write(v)
	}
	// Named by its contents: a REPL's later probes on the same syscalls
	// share it, and others get their own; bpfsh_ like bpfsh's other
	// objects (the teardown test finds leaks by it).
	spec.Name = fmt.Sprintf("bpfsh_t%08x", h.Sum32())
	return spec.Name, spec
}

// probeSize is the size of `probe`'s string.
const probeSize = 64

// probeName is `probe`: the attach point's name, or in a dispatching
// program the name of this event's syscall tracepoint.
func (g *gen) probeName() *val {
	if g.sc.ctx == nil || g.sc.ctx.Syscalls == nil {
		return g.strLit(g.sc.point.String(), probeSize)
	}
	buf := g.mem(probeSize, strType(probeSize))
	g.syscallEntry(g.exit, false)
	for i := 0; i < probeSize; i += 8 {
		g.emit(asm.LoadMem(asm.R1, asm.R0, int16(i), asm.DWord),
			asm.StoreMem(buf.base(), buf.off+int16(i), asm.R1, asm.DWord))
	}
	return buf
}

// syscallPrologue ends a dispatching program at once for the syscalls
// that are not the probe's.
func (g *gen) syscallPrologue(miss string) {
	if g.sc.ctx != nil && g.sc.ctx.Syscalls != nil {
		g.syscallEntry(miss, true)
	}
}

// syscallEntry leaves in R0 this event's entry of the program's table.
// In the prologue (check) it jumps to miss when the syscall is not one of
// the probe's or is a 32-bit one: the syscall tracepoints ignore those,
// whose numbers are another table's.
func (g *gen) syscallEntry(miss string, check bool) {
	d := g.sc.ctx.Syscalls
	name, spec := syscallTable(d, probeSize)
	g.c.tables[name] = spec
	off := g.alloc(4)
	if check {
		g.emit(asm.FnGetCurrentTaskBtf.Call(),
			asm.LoadMem(asm.R1, asm.R0, int16(d.StatusOffset), asm.Word),
			asm.JSet.Imm(asm.R1, d.Compat, miss))
	}
	g.emit(asm.LoadMem(asm.R1, ctxReg, 0, asm.DWord), // struct pt_regs *
		asm.LoadMem(asm.R1, asm.R1, int16(d.NrOffset), asm.DWord),
		asm.StoreMem(asm.R10, off, asm.R1, asm.Word))
	g.mapPtr(asm.R1, name)
	g.emit(asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, int32(off)),
		asm.FnMapLookupElem.Call(), asm.JEq.Imm(asm.R0, 0, miss))
	if check {
		// An empty entry: a syscall the probe does not match.
		g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.Byte), asm.JEq.Imm(asm.R1, 0, miss))
	}
	g.sp -= 8
}

// regsField reads a syscall's argument (or number) from struct pt_regs.
func (g *gen) regsField(f probes.Field, dst *val, signed bool) {
	g.emit(asm.LoadMem(dst.reg, ctxReg, 0, asm.DWord),
		asm.LoadMem(dst.reg, dst.reg, int16(f.Offset), asm.DWord))
	g.extend(dst.reg, f.Size, signed)
}
