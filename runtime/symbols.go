package runtime

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
)

// Symbolization of kstack/ustack/ksym/usym values, done when they are
// printed. Kernel symbols come from /proc/kallsyms, user symbols from the
// process's mappings and the mapped files' ELF symbol tables; both are read
// only if a script prints a stack or symbol.

type symbol struct {
	addr uint64
	size uint64
	name string
}

type symbolizer struct {
	mu      sync.Mutex
	stacks  *ebpf.Map
	kernel  []symbol
	kLoaded bool
	files   map[string]*elfSyms
}

type elfSyms struct {
	syms  []symbol // sorted by address
	loads []elf.ProgHeader
}

var syms = &symbolizer{files: map[string]*elfSyms{}}

func (s *symbolizer) kernelSyms() []symbol {
	if s.kLoaded {
		return s.kernel
	}
	s.kLoaded = true
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		switch fields[1] {
		case "t", "T", "w", "W":
		default:
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		s.kernel = append(s.kernel, symbol{addr: addr, name: fields[2]})
	}
	sort.Slice(s.kernel, func(i, j int) bool { return s.kernel[i].addr < s.kernel[j].addr })
	return s.kernel
}

// ksym names a kernel address: "name+off" (with offset) or "name".
func (s *symbolizer) ksym(addr uint64, withOffset bool) string {
	ks := s.kernelSyms()
	i := sort.Search(len(ks), func(i int) bool { return ks[i].addr > addr }) - 1
	if i < 0 {
		return strconv.FormatUint(addr, 16)
	}
	if withOffset {
		return fmt.Sprintf("%s+%d", ks[i].name, addr-ks[i].addr)
	}
	return ks[i].name
}

// usym names an address in process pid.
func (s *symbolizer) usym(pid uint32, addr uint64, withOffset bool) string {
	path, fileOff, ok := mappingOf(pid, addr)
	if ok {
		if es := s.elf(path); es != nil {
			vaddr := fileOff
			for _, ph := range es.loads {
				if fileOff >= ph.Off && fileOff < ph.Off+ph.Filesz {
					vaddr = fileOff - ph.Off + ph.Vaddr
					break
				}
			}
			i := sort.Search(len(es.syms), func(i int) bool { return es.syms[i].addr > vaddr }) - 1
			if i >= 0 && (es.syms[i].size == 0 || vaddr < es.syms[i].addr+es.syms[i].size) {
				if withOffset {
					return fmt.Sprintf("%s+%d", es.syms[i].name, vaddr-es.syms[i].addr)
				}
				return es.syms[i].name
			}
		}
	}
	return fmt.Sprintf("0x%x", addr)
}

func mappingOf(pid uint32, addr uint64) (string, uint64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return "", 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		if addr < start || addr >= end {
			continue
		}
		off, _ := strconv.ParseUint(fields[2], 16, 64)
		return fmt.Sprintf("/proc/%d/root%s", pid, fields[5]), addr - start + off, true
	}
	return "", 0, false
}

func (s *symbolizer) elf(path string) *elfSyms {
	if es, ok := s.files[path]; ok {
		return es
	}
	s.files[path] = nil
	f, err := elf.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	es := &elfSyms{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			es.loads = append(es.loads, p.ProgHeader)
		}
	}
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		list, _ := get()
		for _, sy := range list {
			if elf.ST_TYPE(sy.Info) == elf.STT_FUNC && sy.Value != 0 {
				es.syms = append(es.syms, symbol{addr: sy.Value, size: sy.Size, name: strings.SplitN(sy.Name, "@", 2)[0]})
			}
		}
	}
	sort.Slice(es.syms, func(i, j int) bool { return es.syms[i].addr < es.syms[j].addr })
	s.files[path] = es
	return es
}

// formatStack renders a kstack/ustack value as bpftrace does: each frame on
// its own line after a newline, indented (perf mode: tab, address, symbol
// and the object of user frames; raw mode: addresses alone).
func (s *symbolizer) formatStack(t *compiler.Type, data []byte, indent int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var frames []uint64
	var pid uint32
	if t.StackLimit > 0 {
		// The frames are in the value, then the pid of a user stack.
		for i := 0; i < t.StackLimit && 8*i+8 <= len(data); i++ {
			frames = append(frames, binary.LittleEndian.Uint64(data[8*i:]))
		}
		if t.User && len(data) >= 8*t.StackLimit+8 {
			pid = uint32(binary.LittleEndian.Uint64(data[8*t.StackLimit:]))
		}
	} else {
		id := int64(binary.LittleEndian.Uint64(data))
		if t.User {
			pid = uint32(binary.LittleEndian.Uint64(data[8:]))
		}
		if id < 0 || s.stacks == nil {
			return "\n"
		}
		var all [compiler.MaxStackDepth]uint64
		if err := s.stacks.Lookup(uint32(id), &all); err != nil {
			return "\n"
		}
		frames = all[:]
	}
	var b strings.Builder
	b.WriteString("\n")
	pad := strings.Repeat(" ", indent)
	for _, a := range frames {
		if a == 0 {
			break
		}
		switch t.StackMode {
		case "raw":
			fmt.Fprintf(&b, "%x\n", a)
		case "perf":
			fmt.Fprintf(&b, "\t%x %s\n", a, s.perfSym(t.User, pid, a))
		default:
			b.WriteString(pad)
			if t.User {
				b.WriteString(s.usym(pid, a, true))
			} else {
				b.WriteString(s.ksym(a, true))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// perfSym names a frame as perf does: symbol+offset, and for user frames
// the object it is in ("([unknown])" when none).
func (s *symbolizer) perfSym(user bool, pid uint32, a uint64) string {
	if !user {
		return s.ksym(a, true)
	}
	sym := s.usym(pid, a, true)
	if path, _, ok := mappingOf(pid, a); ok && path != "" {
		return sym + " (" + path + ")"
	}
	return sym + " ([unknown])"
}

func (s *symbolizer) formatSym(t *compiler.Type, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := binary.LittleEndian.Uint64(data)
	if t.User {
		return s.usym(uint32(binary.LittleEndian.Uint64(data[8:])), addr, false)
	}
	return s.ksym(addr, false)
}
