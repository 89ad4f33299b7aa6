package runtime

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// Symbolization of kstack/ustack/ksym/usym values, done when they are
// printed. Kernel symbols come from kallsyms, user symbols from the
// process's mappings and the mapped files' ELF symbol tables; both are read
// only if a script prints a stack or symbol.

type symbol struct {
	addr uint64
	size uint64
	name string
}

type symbolizer struct {
	mu      sync.Mutex
	env     *probes.Env // where kallsyms, processes' mappings and cgroup mounts are read
	stacks  *ebpf.Map
	kernel  []symbol
	kLoaded bool
	files   map[string]*elfSyms
}

type elfSyms struct {
	syms  []symbol // sorted by address
	loads []elf.ProgHeader
}

// setStacks makes bm the stack map that stacks are read from.
func (s *symbolizer) setStacks(bm *ebpf.Map) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stacks = bm
}

// closeShared closes a Live's shared maps; stacks are no longer read from
// the one that held them.
func (s *symbolizer) closeShared(ms map[string]*sharedMap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		if m.bm == s.stacks {
			s.stacks = nil
		}
		m.bm.Close()
	}
}

func (s *symbolizer) kernelSyms() []symbol {
	if s.kLoaded || s.env == nil {
		return s.kernel
	}
	s.kLoaded = true
	s.env.KernelSymbols(func(ks probes.KernelSymbol) {
		if ks.IsText() && ks.Addr != 0 {
			s.kernel = append(s.kernel, symbol{addr: ks.Addr, name: ks.Name})
		}
	})
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
	path, fileOff, ok := s.mappingOf(pid, addr)
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

// mappingOf finds the file process pid maps at addr, named through the
// process's root (its mount namespace), and the offset in it.
func (s *symbolizer) mappingOf(pid uint32, addr uint64) (string, uint64, bool) {
	if s.env == nil {
		return "", 0, false
	}
	proc := s.env.ProcPath(strconv.FormatUint(uint64(pid), 10))
	f, err := os.Open(filepath.Join(proc, "maps"))
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
		return filepath.Join(proc, "root") + fields[5], addr - start + off, true
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
// its own line after a newline, indented.
func (s *symbolizer) formatStack(t *compiler.Type, data []byte, indent int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int64(binary.LittleEndian.Uint64(data))
	var pid uint32
	if t.User {
		pid = uint32(binary.LittleEndian.Uint64(data[8:]))
	}
	if id < 0 || s.stacks == nil {
		return "\n"
	}
	var frames [compiler.MaxStackDepth]uint64
	if err := s.stacks.Lookup(uint32(id), &frames); err != nil {
		return "\n"
	}
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for i, a := range frames {
		if a == 0 || t.StackLimit > 0 && i >= t.StackLimit {
			break
		}
		sym := func() string {
			if t.User {
				return s.usym(pid, a, true)
			}
			return s.ksym(a, true)
		}
		switch t.StackMode {
		case compiler.StackRaw, compiler.StackBuildID:
			fmt.Fprintf(&b, "\n%x", a)
		case compiler.StackPerf:
			module := "[kernel.kallsyms]"
			if t.User {
				module = "[unknown]"
				if path, _, ok := s.mappingOf(pid, a); ok {
					module = path
				}
			}
			fmt.Fprintf(&b, "\n\t%x %s (%s)", a, sym(), module)
		default:
			b.WriteString("\n" + pad + sym())
		}
	}
	b.WriteString("\n")
	return b.String()
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
