package probes

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"
)

// Uprobes at an offset into a function (uprobe:BIN:FUNC+OFFSET) or at an
// address (uprobe:BIN:0xADDR, a virtual address in the ELF file, which
// must lie inside a function). An address point's Target is [bin, "0xADDR"];
// an offset point's is [bin, "FUNC+OFFSET"].

// uprobeAt expands FUNC+OFFSET and ADDRESS; ok is false for other specs.
func uprobeAt(provider, bin, spec string) (pts []Point, ok bool, err error) {
	if fn, offs, found := strings.Cut(spec, "+"); found && fn != "" && !HasWildcard(spec) {
		off, perr := strconv.ParseUint(offs, 0, 64)
		if perr != nil {
			return nil, true, errorf("%s: invalid offset %q (FUNCTION+OFFSET)", provider, offs)
		}
		sym, found, err := elfFunc(bin, func(s elf.Symbol) bool { return s.Name == fn })
		if err != nil {
			return nil, true, errorf("%s: %v", bin, err)
		}
		if !found {
			return nil, true, notInBinary(fn, bin)
		}
		if off >= sym.Size {
			return nil, true, errorf("Offset outside the function bounds ('%s' size is %d)", fn, sym.Size)
		}
		return []Point{{Provider: provider, Target: []string{bin, fmt.Sprintf("%s+%d", fn, off)}}}, true, nil
	}
	addr, perr := strconv.ParseUint(spec, 0, 64)
	if perr != nil {
		return nil, false, nil
	}
	_, found, err := elfFunc(bin, func(s elf.Symbol) bool { return s.Value <= addr && addr < s.Value+max(s.Size, 1) })
	if err != nil {
		return nil, true, errorf("%s: %v", bin, err)
	}
	if !found {
		return nil, true, errorf("Could not resolve address: %s:0x%x", bin, addr)
	}
	return []Point{{Provider: provider, Target: []string{bin, fmt.Sprintf("0x%x", addr)}}}, true, nil
}

// elfFunc finds the first defined function symbol that match accepts.
func elfFunc(file string, match func(elf.Symbol) bool) (elf.Symbol, bool, error) {
	f, err := elf.Open(file)
	if err != nil {
		return elf.Symbol{}, false, err
	}
	defer f.Close()
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		syms, _ := get()
		for _, s := range syms {
			if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 && match(s) {
				return s, true, nil
			}
		}
	}
	return elf.Symbol{}, false, nil
}

// uprobeTarget says where to attach: a symbol and an offset into it, or
// a file offset (for an address point).
func uprobeTarget(p Point) (sym string, off, addr uint64, err error) {
	if vaddr, perr := strconv.ParseUint(p.Target[1], 0, 64); perr == nil {
		addr, err = fileOffset(p.Target[0], vaddr)
		return uprobeFunc(p), 0, addr, err
	}
	sym, offs, found := strings.Cut(p.Target[1], "+")
	if found {
		off, _ = strconv.ParseUint(offs, 10, 64)
	}
	return sym, off, 0, nil
}

// fileOffset turns a virtual address of an ELF file into its offset in the
// file, which is what the kernel's uprobes take.
func fileOffset(file string, vaddr uint64) (uint64, error) {
	f, err := elf.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= vaddr && vaddr < p.Vaddr+p.Memsz {
			return vaddr - p.Vaddr + p.Off, nil
		}
	}
	return 0, errorf("address 0x%x is not in an executable segment of %s", vaddr, file)
}

// uprobeFunc is the function a uprobe point is in (for func).
func uprobeFunc(p Point) string {
	vaddr, err := strconv.ParseUint(p.Target[1], 0, 64)
	if err != nil {
		fn, _, _ := strings.Cut(p.Target[1], "+")
		return fn
	}
	sym, _, _ := elfFunc(p.Target[0], func(s elf.Symbol) bool { return s.Value <= vaddr && vaddr < s.Value+max(s.Size, 1) })
	name, _, _ := strings.Cut(sym.Name, "@")
	return name
}
