package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// entry is one map element after per-CPU values are merged.
type entry struct {
	key   []byte
	value []byte // for aggregations: the merged value as 8 bytes (avg: the mean)
	num   int64  // numeric value used for sorting
	isNum bool
	// stats: count and total (num is the average)
	count, total int64
}

// readMap reads and merges every element of a map.
func (dec *decoder) readMap(m *compiler.Map, bm *ebpf.Map) ([]entry, error) {
	var out []entry
	err := eachElem(bm, func(key, val []byte) {
		switch m.Value.Kind {
		case compiler.KCount, compiler.KSum:
			var s uint64
			for i := 0; i+8 <= len(val); i += 8 {
				s += binary.LittleEndian.Uint64(val[i:])
			}
			if s == 0 && bm.Type() == ebpf.PerCPUArray && !dec.zeroed.has(m) {
				return // a keyless count that never counted: nothing to print
			}
			out = append(out, numEntry(key, int64(s)))
		case compiler.KMin, compiler.KMax, compiler.KAvg, compiler.KStats:
			out = append(out, pairEntry(m, key, val))
		default:
			e := entry{key: key, value: val}
			if m.Value.Kind == compiler.KInt {
				e.num, e.isNum = int64(binary.LittleEndian.Uint64(val)), true
				if !m.Value.Signed && e.num < 0 {
					e.num = int64(^uint64(0) >> 1) // sort huge unsigned values last
				}
			}
			out = append(out, e)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read map %s: %w", m.Name, err)
	}
	return out, nil
}

// pairEntry merges the per-CPU (value, count) pairs of a min, max, avg or
// stats.
func pairEntry(m *compiler.Map, key, val []byte) entry {
	var res int64
	set := false
	var sum, cnt int64
	for i := 0; i+16 <= len(val); i += 16 {
		a, b := binary.LittleEndian.Uint64(val[i:]), binary.LittleEndian.Uint64(val[i+8:])
		switch m.Value.Kind {
		case compiler.KAvg, compiler.KStats:
			sum += int64(a)
			cnt += int64(b)
		default:
			if b == 0 {
				continue
			}
			x := int64(a)
			if !set || (m.Value.Kind == compiler.KMin && x < res) || (m.Value.Kind == compiler.KMax && x > res) {
				res = x
			}
			set = true
		}
	}
	if (m.Value.Kind == compiler.KAvg || m.Value.Kind == compiler.KStats) && cnt > 0 {
		res = sum / cnt
	}
	e := numEntry(key, res)
	e.count, e.total = cnt, sum
	return e
}

func numEntry(key []byte, v int64) entry {
	val := make([]byte, 8)
	binary.LittleEndian.PutUint64(val, uint64(v))
	return entry{key: key, value: val, num: v, isNum: true}
}

// sortEntries orders entries as bpftrace prints them: by value ascending,
// ties (and non-numeric values) by key.
func sortEntries(m *compiler.Map, es []entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].isNum && es[i].num != es[j].num {
			return es[i].num < es[j].num
		}
		return keyLess(m.Key, es[i].key, es[j].key)
	})
}

func keyLess(t *compiler.Type, a, b []byte) bool {
	if t == nil {
		return false
	}
	if t.Kind == compiler.KInt {
		x, y := binary.LittleEndian.Uint64(a), binary.LittleEndian.Uint64(b)
		if t.Signed {
			return int64(x) < int64(y)
		}
		return x < y
	}
	return string(a) < string(b)
}

// clearMap deletes every element (arrays, which cannot lose elements, are zeroed).
func clearMap(bm *ebpf.Map) error {
	if bm.Type() == ebpf.PerCPUArray || bm.Type() == ebpf.Array {
		return zeroArray(bm)
	}
	var keys [][]byte
	key := make([]byte, bm.KeySize())
	it := bm.Iterate()
	var discard []byte
	if bm.Type() == ebpf.PerCPUHash {
		for it.Next(&key, &[][]byte{}) {
			keys = append(keys, append([]byte(nil), key...))
		}
	} else {
		discard = make([]byte, bm.ValueSize())
		for it.Next(&key, &discard) {
			keys = append(keys, append([]byte(nil), key...))
		}
	}
	for _, k := range keys {
		if err := bm.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return it.Err()
}

// zeroedSet holds keyless counts that zero() set to 0: unlike ones that
// never counted, they print as 0.
type zeroedSet struct {
	mu sync.Mutex
	m  map[*compiler.Map]bool
}

func (z *zeroedSet) has(m *compiler.Map) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.m[m]
}

func (z *zeroedSet) set(m *compiler.Map, on bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if on {
		z.m[m] = true
	} else {
		delete(z.m, m)
	}
}

// zeroMap sets every value to zero (histograms lose their buckets).
func (dec *decoder) zeroMap(m *compiler.Map, bm *ebpf.Map) error {
	if bm.Type() == ebpf.PerCPUArray {
		dec.zeroed.set(m, true)
	}
	if m.Value.IsHist() || bm.Type() == ebpf.PerCPUArray {
		return clearMap(bm)
	}
	key := make([]byte, bm.KeySize())
	var keys [][]byte
	it := bm.Iterate()
	if m.PerCPU {
		for it.Next(&key, &[][]byte{}) {
			keys = append(keys, append([]byte(nil), key...))
		}
	} else {
		val := make([]byte, bm.ValueSize())
		for it.Next(&key, &val) {
			keys = append(keys, append([]byte(nil), key...))
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	zero := zeroValue(bm, m.PerCPU)
	for _, k := range keys {
		if err := bm.Put(k, zero); err != nil {
			return err
		}
	}
	return nil
}

func zeroArray(bm *ebpf.Map) error {
	zero := zeroValue(bm, bm.Type() == ebpf.PerCPUArray)
	for i := uint32(0); i < bm.MaxEntries(); i++ {
		if err := bm.Put(i, zero); err != nil {
			return err
		}
	}
	return nil
}

// zeroValue is a zero value to Put in bm: one for every possible CPU in a
// per-CPU map.
func zeroValue(bm *ebpf.Map, perCPU bool) any {
	zero := make([]byte, bm.ValueSize())
	if !perCPU {
		return zero
	}
	n, _ := ebpf.PossibleCPU()
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = zero
	}
	return vals
}

// mapFullMessage explains failed map updates in bpftrace's words, naming
// the keyed maps that are at their maximum number of keys (the updates are
// counted, not attributed; LRU maps evict instead of failing).
func mapFullMessage(n uint64, maps []*compiler.Map, loaded map[string]*ebpf.Map) string {
	var full []string
	for _, m := range maps {
		bm := loaded[m.Spec.Name]
		if m.Key == nil || m.Value.IsHist() || m.Value.Kind == compiler.KTseries || bm == nil || bm.Type() == ebpf.LRUHash || bm.Type() == ebpf.LRUCPUHash {
			continue
		}
		keys := uint32(0)
		key := make([]byte, bm.KeySize())
		next := make([]byte, bm.KeySize())
		var cur any // nil: start from the first key
		for bm.NextKey(cur, next) == nil {
			keys++
			copy(key, next)
			cur = key
		}
		if keys >= bm.MaxEntries() {
			full = append(full, fmt.Sprintf("%s (%d keys)", m.Name, keys))
		}
	}
	what := fmt.Sprintf("%d failed update", n)
	if n != 1 {
		what += "s"
	}
	if len(full) > 0 {
		what += "; full: " + strings.Join(full, ", ")
	}
	return "Map full; can't update element (" + what + "). Try increasing max_map_keys config " +
		"or manually setting the max entries in a map declaration e.g. `let @a = hash(5000)`"
}
