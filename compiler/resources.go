package compiler

import (
	"fmt"
	"reflect"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/lang"
)

// The resource pass runs between checking and code generation, as
// bpftrace's resource analyser does: it decides what the programs share —
// one BPF map per @map, one record layout per distinct output call — so
// that code generation only reads the answers. A generation retried with
// scratch memory (scratch.go) then has nothing to undo, and the attach
// points of one probe, whose calls lay out the same records, share them.

// instance is one probe at one attach point: the unit of checking and
// code generation.
type instance struct {
	probe *lang.Probe
	index int // the probe's position in the source
	sc    *scope
}

// resources plans the maps and the records of every instance.
func (c *compiler) resources(prog *lang.Program, insts []instance, maps map[string]*mapInfo) {
	c.planMaps(maps)
	lang.Walk(prog, func(n lang.Node) bool {
		if call, ok := n.(*lang.Call); ok && call.Name == "exit" {
			c.useExit = true
		}
		return true
	})
	// Identical records (by layout) get one id: the key narrows the search.
	seen := map[string][]int{}
	for _, in := range insts {
		in.sc.records = map[*lang.Call]int{}
		lang.Walk(in.probe, func(n lang.Node) bool {
			e, ok := n.(*lang.Call)
			if !ok {
				return true
			}
			f := funcRow(e.Name)
			if f == nil || !f.sends || in.sc.seqCalls[e] {
				return true
			}
			c.ringData = true
			if f.record == nil {
				return true
			}
			if pf := f.record(c, in.sc, e); pf != nil {
				in.sc.records[e] = c.addRecord(pf, seen)
			}
			return true
		})
	}
}

// planMaps makes one BPF map per @map, named so bpftool shows the
// script's names, in name order.
func (c *compiler) planMaps(maps map[string]*mapInfo) {
	names := sortedKeys(maps)
	for i, name := range names {
		mi := maps[name]
		m := &Map{Name: mi.name, Key: mi.key, Value: mi.val, Order: i, KeyNames: mi.keyNames}
		m.PerCPU = mi.val.IsAgg()
		keySize := 8
		if mi.key != nil {
			keySize = mi.key.MemSize()
		}
		typ := ebpf.Hash
		if m.PerCPU {
			typ = ebpf.PerCPUHash
		}
		if mi.key == nil && mi.val.Kind == KCount {
			// A keyless count is one per-CPU slot: the lookup cannot miss
			// (and is inlined by the kernel). Zero means never counted.
			typ, keySize = ebpf.PerCPUArray, 4
		}
		maxEntries := uint32(c.maxKeys)
		if mi.key == nil {
			maxEntries = 1
		}
		var flags uint32
		if mi.key != nil {
			// Entries are allocated as keys appear: creating a map costs
			// nothing up front (a preallocated per-CPU map of 4096 keys
			// took 3 ms to create).
			flags = noPrealloc
		}
		if mi.val.IsHist() {
			// One entry per (key, bucket), allocated as buckets fill.
			keySize += 8
			maxEntries = uint32(c.maxKeys) * 16
			flags = noPrealloc
			if mi.key == nil {
				// Keyless: one per-CPU slot per bucket, indexed by bucket.
				typ, keySize, flags = ebpf.PerCPUArray, 4, 0
				maxEntries = uint32(histSlots(mi.val.Bits))
				if mi.val.Kind == KLhist {
					maxEntries = uint32((mi.val.Max-mi.val.Min)/mi.val.Step + 2)
				}
			}
		}
		if mi.val.Kind == KTseries {
			// One entry per (key, bucket), preallocated as bpftrace's are
			// (interval and profile probes run where a map without
			// preallocation soon fails to allocate entries), unless there
			// are very many.
			keySize += 8
			keys := c.maxKeys
			if mi.key == nil {
				keys = 1
			}
			maxEntries, flags = tseriesEntries(keys, mi.val.Intervals), 0
			if maxEntries > maxPreallocTseries {
				flags = noPrealloc
			}
		}
		m.Spec = &ebpf.MapSpec{Name: mapObjName(name, i), Type: typ, KeySize: uint32(keySize),
			ValueSize: uint32(mi.val.MemSize()), MaxEntries: maxEntries, Flags: flags}
		c.declaredSpec(name, mi, m.Spec)
		c.maps[name] = m
	}
}

// addRecord is pf's id: that of an identical record already planned, or a
// new one.
func (c *compiler) addRecord(pf *Printf, seen map[string][]int) int {
	key := fmt.Sprintf("%d %q %d %t %d %q", pf.Kind, pf.Format, pf.Size, pf.Value, pf.ArgLen, pf.Loc)
	for _, id := range seen[key] {
		if reflect.DeepEqual(c.printfs[id], pf) {
			return id
		}
	}
	c.printfs = append(c.printfs, pf)
	id := len(c.printfs) - 1
	seen[key] = append(seen[key], id)
	return id
}

// record is the id and layout the resource pass planned for e's record.
func (g *gen) record(e *lang.Call) (int64, *Printf) {
	id, ok := g.sc.records[e]
	if !ok {
		panic(fmt.Sprintf("codegen: no record planned for %s() at %d:%d", e.Name, e.Span.Start.Line, e.Span.Start.Col))
	}
	return int64(id), g.c.printfs[id]
}
