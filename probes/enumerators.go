package probes

import (
	"bytes"
	"encoding/binary"
	"os"

	"github.com/cilium/ebpf/btf"
)

// Every enumerator in the kernel's BTF is a constant a script may name
// (TCP_CLOSE, IPPROTO_UDP). cilium/ebpf indexes types by name only, and
// inflating all of vmlinux's types to find an enumerator costs a few
// hundred milliseconds; a script names a handful, so each is found by
// scanning the raw BTF for it: its string's offset, then the enum whose
// value carries that offset, inflated alone by its type ID.

// The BTF kinds whose members are enumerators (uapi/linux/btf.h).
const (
	btfKindEnum   = 6
	btfKindEnum64 = 19
)

// Enumerator finds the kernel enum that defines the enumerator name and
// its value; ok is false when no enum in vmlinux's BTF defines it.
func (e *Env) Enumerator(name string) (enum *btf.Enum, value uint64, ok bool) {
	spec, err := e.KernelBTF()
	if err != nil {
		return nil, 0, false
	}
	e.enumMu.Lock()
	defer e.enumMu.Unlock()
	if e.enumRaw == nil {
		e.enumRaw = e.rawKernelBTF()
	}
	if !isRawBTF(e.enumRaw) {
		return slowEnumerator(spec, name)
	}
	id, found := findEnumerator(e.enumRaw, name)
	if !found {
		return nil, 0, false
	}
	t, err := spec.TypeByID(id)
	if err != nil {
		return nil, 0, false
	}
	en, isEnum := t.(*btf.Enum)
	if !isEnum {
		return nil, 0, false
	}
	return enumeratorIn(en, name)
}

func enumeratorIn(en *btf.Enum, name string) (*btf.Enum, uint64, bool) {
	for _, v := range en.Values {
		if v.Name == name {
			return en, v.Value, true
		}
	}
	return nil, 0, false
}

// slowEnumerator looks through every type, for the kernels whose BTF
// comes from an ELF file rather than /sys/kernel/btf/vmlinux.
func slowEnumerator(spec *btf.Spec, name string) (*btf.Enum, uint64, bool) {
	for t, err := range spec.All() {
		if err != nil {
			break
		}
		if en, ok := t.(*btf.Enum); ok {
			if en, v, ok := enumeratorIn(en, name); ok {
				return en, v, true
			}
		}
	}
	return nil, 0, false
}

// isRawBTF reports whether b starts with the little-endian BTF header.
func isRawBTF(b []byte) bool {
	return len(b) >= 24 && binary.LittleEndian.Uint16(b) == 0xeb9f
}

// rawKernelBTF reads the BTF KernelBTF parsed, as bytes; an empty (not
// nil) slice when it cannot, so the read is tried once.
func (e *Env) rawKernelBTF() []byte {
	path := e.BTFFile
	if path == "" {
		path = "/sys/kernel/btf/vmlinux" // where btf.LoadKernelSpec reads it
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return []byte{}
	}
	return b
}

// findEnumerator returns the ID of the first enum in raw (a raw,
// non-split BTF blob) with an enumerator called name.
func findEnumerator(raw []byte, name string) (btf.TypeID, bool) {
	le := binary.LittleEndian
	hdrLen := le.Uint32(raw[4:])
	typeOff, typeLen := le.Uint32(raw[8:]), le.Uint32(raw[12:])
	strOff, strLen := le.Uint32(raw[16:]), le.Uint32(raw[20:])
	if uint64(hdrLen)+uint64(strOff)+uint64(strLen) > uint64(len(raw)) ||
		uint64(hdrLen)+uint64(typeOff)+uint64(typeLen) > uint64(len(raw)) {
		return 0, false
	}
	strs := raw[hdrLen+strOff : hdrLen+strOff+strLen]
	// Strings are NUL-separated (and usually deduplicated): the name's
	// offsets are where "\x00name\x00" starts, plus one.
	offs := map[uint32]bool{}
	needle := append(append([]byte{0}, name...), 0)
	for from := 0; ; {
		at := bytes.Index(strs[from:], needle)
		if at < 0 {
			break
		}
		offs[uint32(from+at+1)] = true
		from += at + 1
	}
	if len(offs) == 0 {
		return 0, false
	}
	types := raw[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	id := btf.TypeID(1)
	for off := 0; off+12 <= len(types); id++ {
		info := le.Uint32(types[off+4:])
		kind, vlen := (info>>24)&0x1f, int(info&0xffff)
		off += 12
		step := 0
		switch kind {
		case btfKindEnum, btfKindEnum64:
			step = 8
			if kind == btfKindEnum64 {
				step = 12
			}
			for i := 0; i < vlen && off+i*step+4 <= len(types); i++ {
				if offs[le.Uint32(types[off+i*step:])] {
					return id, true
				}
			}
		}
		off += extraSize(kind, vlen, step)
	}
	return 0, false
}

// extraSize is the size of the data after a type's header; step is an
// enum's member size, already known to the caller.
func extraSize(kind uint32, vlen, step int) int {
	switch kind {
	case 1, 14, 17: // int, var, decl_tag: 4 bytes
		return 4
	case 3: // array
		return 12
	case 4, 5, 15: // struct, union, datasec: 12 bytes a member
		return 12 * vlen
	case 13: // func_proto: 8 bytes a parameter
		return 8 * vlen
	case btfKindEnum, btfKindEnum64:
		return step * vlen
	}
	return 0 // ptr, fwd, typedef, volatile, const, restrict, func, float, type_tag
}
