package runtime

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Reading a whole map: element by element, a map of 100,000 keys takes
// 200,000 system calls (next key, then lookup); batch lookups take one per
// few thousand elements. Kernels without them (before 5.6, or map types
// that have none) are read with an iterator.

// batchChunk is how many elements one batch lookup asks for: big enough
// that a hash bucket always fits, small enough to stay in the cache.
const batchChunk = 4096

// eachElem calls fn with every element of bm: its key and value bytes, a
// per-CPU value as one slot per possible CPU, each 8-byte aligned (see
// perCPUStride). fn may keep key and val: each chunk has its own buffers.
func eachElem(bm *ebpf.Map, fn func(key, val []byte)) error {
	err := eachElemBatch(bm, fn)
	if errors.Is(err, ebpf.ErrNotSupported) {
		err = eachElemIter(bm, fn)
	}
	return err
}

// perCPU is whether bm has a value per CPU.
func perCPU(bm *ebpf.Map) bool {
	switch bm.Type() {
	case ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash, ebpf.PerCPUCGroupStorage:
		return true
	}
	return false
}

// perCPUStride is the distance between two CPUs' slots in a per-CPU value.
func perCPUStride(bm *ebpf.Map) int { return (int(bm.ValueSize()) + 7) &^ 7 }

// valueBytes is the size of one element's value as eachElem hands it over.
func valueBytes(bm *ebpf.Map) (int, error) {
	if !perCPU(bm) {
		return int(bm.ValueSize()), nil
	}
	ncpu, err := ebpf.PossibleCPU()
	return ncpu * perCPUStride(bm), err
}

// byteRows is a slice of n rows of size bytes each, as cilium/ebpf wants
// batch buffers (one slice element per map element, so it copies nothing),
// and the same memory as bytes.
func byteRows(n, size int) (any, []byte) {
	rows := reflect.MakeSlice(reflect.SliceOf(reflect.ArrayOf(size, reflect.TypeFor[byte]())), n, n)
	return rows.Interface(), unsafe.Slice((*byte)(rows.UnsafePointer()), n*size)
}

func eachElemBatch(bm *ebpf.Map, fn func(key, val []byte)) error {
	ks := int(bm.KeySize())
	vs, err := valueBytes(bm)
	if err != nil {
		return err
	}
	n := max(1, min(int(bm.MaxEntries()), batchChunk))
	var cursor ebpf.MapBatchCursor
	for {
		keysOut, keys := byteRows(n, ks)
		var valsOut any
		var vals []byte
		if perCPU(bm) {
			vals = make([]byte, n*vs) // cilium/ebpf takes per-CPU values as raw bytes
			valsOut = vals
		} else {
			valsOut, vals = byteRows(n, vs)
		}
		got, err := bm.BatchLookup(&cursor, keysOut, valsOut, nil)
		if errors.Is(err, unix.ENOSPC) {
			n *= 2 // a hash bucket bigger than the batch: nothing was read
			continue
		}
		for i := 0; i < got; i++ {
			fn(keys[i*ks:(i+1)*ks:(i+1)*ks], vals[i*vs:(i+1)*vs:(i+1)*vs])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// eachElemIter is eachElem with a map iterator.
func eachElemIter(bm *ebpf.Map, fn func(key, val []byte)) error {
	key := make([]byte, bm.KeySize())
	it := bm.Iterate()
	if !perCPU(bm) {
		val := make([]byte, bm.ValueSize())
		for it.Next(&key, &val) {
			fn(append([]byte(nil), key...), append([]byte(nil), val...))
		}
		return it.Err()
	}
	stride := perCPUStride(bm)
	var slots [][]byte
	for it.Next(&key, &slots) {
		val := make([]byte, len(slots)*stride)
		for i, s := range slots {
			copy(val[i*stride:], s)
		}
		fn(append([]byte(nil), key...), val)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	return nil
}
