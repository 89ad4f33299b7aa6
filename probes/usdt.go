package probes

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// usdt: user statically defined tracing probes (usdt:BINARY:PROVIDER:NAME,
// usdt:BINARY:NAME), found in the binary's .note.stapsdt ELF notes the way
// <sys/sdt.h> writes them. A probe is a uprobe at the note's nop; its
// arguments are read from the registers and memory the note's argument
// spec names ("-4@%edi 8@-16(%rbp) 8@$5"). A point's Target is
// [binary, provider, name]; the program attaches at every location of
// that probe, reading the arguments as the first location describes them.

// ConvUSDT marks a USDT argument: Field.USDT says where it lives.
const ConvUSDT = "usdt"

// USDT argument locations.
const (
	USDTReg   = iota // a register's value
	USDTMem          // memory at register + displacement (+ index*scale)
	USDTConst        // a constant (Disp)
)

// USDTArg is where one USDT argument lives when the probe fires.
type USDTArg struct {
	Kind   int
	Reg    int   // pt_regs offset of the (base) register
	Shift  int   // 8 for the high-byte registers (%ah)
	Index  int   // pt_regs offset of the index register, -1 for none
	Scale  int   // index scale
	Disp   int64 // displacement, or the constant's value
	Size   int   // bytes: 1, 2, 4 or 8
	Signed bool
	Spec   string // as the note spells it
}

// USDTNote is one probe location of a binary.
type USDTNote struct {
	Provider, Name string
	PC, Base, Sem  uint64 // as written in the note
	Args           string
	Offset         uint64 // file offset of the probe's nop
	SemOffset      uint64 // file offset of the semaphore, 0 for none
}

func init() {
	register(&Provider{
		Name:        "usdt",
		Aliases:     []string{"U"},
		ProgType:    ebpf.Kprobe,
		NewestFirst: true,
		Expand:      expandUSDT,
		Context:     func(_ *Env, p Point) (*Context, error) { return usdtContext(p) },
		Attach:      attachUSDT,
	})
}

func expandUSDT(env *Env, parts []string) ([]Point, error) {
	if len(parts) == 1 && parts[0] == "*" && env.TargetPID != 0 {
		parts = []string{"", "*"} // usdt:* -p PID: every probe of the process
	}
	if len(parts) < 2 || len(parts) > 3 || parts[len(parts)-1] == "" {
		return nil, errorf("usdt needs a binary and a probe: usdt:/path/to/binary:[provider:]name")
	}
	bins, err := env.usdtBinaries(parts[0])
	if err != nil {
		return nil, err
	}
	prov, name := "*", parts[len(parts)-1]
	if len(parts) == 3 && parts[1] != "" {
		prov = parts[1]
	}
	var out []Point
	total := 0
	for _, bin := range bins {
		notes, err := USDTNotes(bin)
		if err != nil {
			if len(bins) > 1 {
				continue
			}
			return nil, errorf("%s: %v", bin, err)
		}
		total += len(notes)
		seen := map[string]int{}
		for _, n := range notes {
			okp, _ := path.Match(prov, n.Provider)
			okn, _ := path.Match(name, n.Name)
			if !okp || !okn {
				continue
			}
			seen[n.Provider+":"+n.Name]++
			out = append(out, Point{Provider: "usdt", Target: []string{bin, n.Provider, n.Name}, Loc: seen[n.Provider+":"+n.Name]})
		}
	}
	if len(out) == 0 {
		spec := name
		if len(parts) == 3 {
			spec = parts[1] + ":" + name
		}
		where := strings.Join(bins, ", ")
		if len(bins) != 1 {
			where = fmt.Sprintf("the binaries matching %s", parts[0])
			if parts[0] == "" || parts[0] == "*" {
				where = fmt.Sprintf("process %d", env.TargetPID)
			}
		}
		if total == 0 {
			return nil, missingf("no usdt probes in %s", where)
		}
		return nil, missingf("usdt probe %q not found in %s", spec, where)
	}
	return out, nil
}

// usdtBinaries resolves a usdt probe's binary: a path or name, a glob,
// or (with -p) empty or a pattern matched against the process's
// executable and the files it maps.
func (e *Env) usdtBinaries(pattern string) ([]string, error) {
	if e.TargetPID != 0 && (pattern == "" || HasWildcard(pattern)) {
		mods, err := e.processModules(e.TargetPID)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, m := range mods {
			if ok, _ := path.Match(pattern, m); pattern == "" || pattern == "*" || ok {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, errorf("no binary of process %d matches %q", e.TargetPID, pattern)
		}
		return out, nil
	}
	if pattern == "" {
		return nil, errorf("usdt needs a binary (or -p PID): usdt:/path/to/binary:[provider:]name")
	}
	if HasWildcard(pattern) {
		matches, _ := filepath.Glob(pattern)
		var out []string
		for _, m := range matches {
			if isELF(m) {
				if strings.HasPrefix(pattern, "./") && !strings.HasPrefix(m, "./") {
					m = "./" + m // Glob drops it; bpftrace keeps the path as written
				}
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, errorf("no binary matches %q", pattern)
		}
		return out, nil
	}
	bin, err := ResolveBinary(pattern)
	if err != nil {
		return nil, err
	}
	if strings.Contains(pattern, "/") {
		// A path stays as written, in probe names too (as bpftrace's).
		return []string{pattern}, nil
	}
	return []string{bin}, nil
}

// processModules lists a process's executable and the other ELF files it
// maps executable, through /proc/PID/root (as bpftrace 0.17 names them),
// so that a process in another mount namespace is seen as it sees itself.
func (e *Env) processModules(pid int) ([]string, error) {
	data, err := os.ReadFile(e.ProcPath(strconv.Itoa(pid), "maps"))
	if err != nil {
		return nil, errorf("-p %d: %v", pid, err)
	}
	var out []string
	seen := map[string]bool{}
	root := e.ProcPath(strconv.Itoa(pid), "root")
	if exe, err := os.Readlink(e.ProcPath(strconv.Itoa(pid), "exe")); err == nil {
		seen[exe] = true
		out = append(out, root+exe)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.Contains(f[1], "x") || !strings.HasPrefix(f[5], "/") || seen[f[5]] {
			continue
		}
		seen[f[5]] = true
		if isELF(root + f[5]) {
			out = append(out, root+f[5])
		}
	}
	return out, nil
}

// usdtLocations lists a point's notes.
func usdtLocations(p Point) ([]USDTNote, error) {
	notes, err := USDTNotes(p.Target[0])
	if err != nil {
		return nil, err
	}
	var out []USDTNote
	for _, n := range notes {
		if n.Provider == p.Target[1] && n.Name == p.Target[2] {
			out = append(out, n)
		}
	}
	if len(out) == 0 || p.Loc > len(out) {
		return nil, missingf("usdt probe %s:%s not found in %s", p.Target[1], p.Target[2], p.Target[0])
	}
	if p.Loc > 0 {
		out = out[p.Loc-1 : p.Loc]
	}
	return out, nil
}

func usdtContext(p Point) (*Context, error) {
	locs, err := usdtLocations(p)
	if err != nil {
		return nil, err
	}
	args, err := ParseUSDTArgs(locs[0].Args)
	if err != nil {
		return nil, errorf("usdt probe %s:%s in %s: %v", p.Target[1], p.Target[2], p.Target[0], err)
	}
	c := &Context{UserPtrs: true, PtRegs: true}
	for i, a := range args {
		c.Builtins = append(c.Builtins, Field{Name: "arg" + strconv.Itoa(i), Size: a.Size, Signed: a.Signed, Conv: ConvUSDT, USDT: &a})
	}
	return c, nil
}

func attachUSDT(env *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
	locs, err := usdtLocations(p)
	if err != nil {
		return nil, err
	}
	ex, err := link.OpenExecutable(p.Target[0])
	if err != nil {
		return nil, err
	}
	var links closers
	for _, n := range locs {
		opts := &link.UprobeOptions{PID: env.TargetPID, Address: n.Offset, RefCtrOffset: n.SemOffset}
		l, err := ex.Uprobe(n.Provider+"_"+n.Name, prog, opts)
		if err != nil {
			links.Close()
			return nil, err
		}
		links = append(links, l)
	}
	return links, nil
}

// USDTNotes reads the USDT probes of an ELF file, with file offsets.
func USDTNotes(file string) ([]USDTNote, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".note.stapsdt")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	var base uint64
	if b := f.Section(".stapsdt.base"); b != nil {
		base = b.Addr
	}
	bo := f.ByteOrder
	addrSize := 8
	if f.Class == elf.ELFCLASS32 {
		addrSize = 4
	}
	addr := func(b []byte) uint64 {
		if addrSize == 4 {
			return uint64(bo.Uint32(b))
		}
		return bo.Uint64(b)
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	var out []USDTNote
	for len(data) >= 12 {
		namesz, descsz, typ := int(bo.Uint32(data)), int(bo.Uint32(data[4:])), bo.Uint32(data[8:])
		data = data[12:]
		if align(namesz)+align(descsz) > len(data) {
			break
		}
		name := string(bytes.TrimRight(data[:namesz], "\x00"))
		desc := data[align(namesz) : align(namesz)+descsz]
		data = data[align(namesz)+align(descsz):]
		if name != "stapsdt" || typ != 3 || len(desc) < 3*addrSize {
			continue
		}
		n := USDTNote{PC: addr(desc), Base: addr(desc[addrSize:]), Sem: addr(desc[2*addrSize:])}
		strs := strings.SplitN(string(desc[3*addrSize:]), "\x00", 4)
		if len(strs) < 3 {
			continue
		}
		n.Provider, n.Name, n.Args = strs[0], strs[1], strs[2]
		pc, sem := n.PC, n.Sem
		if base != 0 && n.Base != 0 {
			// Prelinked or otherwise moved: shift by how far .stapsdt.base moved.
			pc += base - n.Base
			if sem != 0 {
				sem += base - n.Base
			}
		}
		off, ok := vaddrOffset(f, pc, true)
		if !ok {
			continue
		}
		n.Offset = off
		if sem != 0 {
			if n.SemOffset, ok = vaddrOffset(f, sem, false); !ok {
				continue
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// vaddrOffset turns a virtual address into a file offset through the
// loadable segment that holds it (an executable one for code).
func vaddrOffset(f *elf.File, vaddr uint64, exec bool) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || exec && p.Flags&elf.PF_X == 0 {
			continue
		}
		if p.Vaddr <= vaddr && vaddr < p.Vaddr+p.Memsz {
			return vaddr - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}

// usdtNames lists the probes of a binary that match provider and name
// (spec "PROVIDER:NAME" or "NAME"; globs allowed), as usdt:FILE:PROVIDER:NAME,
// sorted within each binary.
func usdtNames(env *Env, bin, spec string) ([]string, error) {
	files, err := env.usdtBinaries(bin)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, file := range files {
		names, err := usdtFileNames(file, spec)
		if err != nil && len(files) == 1 {
			return out, err
		}
		out = append(out, names...)
	}
	return out, nil
}

func usdtFileNames(file, spec string) ([]string, error) {
	notes, err := USDTNotes(file)
	if err != nil {
		return nil, err
	}
	prov, name := "*", "*"
	if spec != "" {
		parts := strings.Split(spec, ":")
		name = parts[len(parts)-1]
		if len(parts) > 1 && parts[0] != "" {
			prov = parts[0]
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, n := range notes {
		okp, _ := path.Match(prov, n.Provider)
		okn, _ := path.Match(name, n.Name)
		if okp && okn && !seen[n.Provider+":"+n.Name] {
			seen[n.Provider+":"+n.Name] = true
			names = append(names, fmt.Sprintf("usdt:%s:%s:%s", file, n.Provider, n.Name))
		}
	}
	sort.Strings(names)
	return names, nil
}

// x86-64 registers by every name, as pt_regs offsets; the value is in
// the low bytes, except for the high-byte registers (shift 8). Built when
// first asked, not at every start.
var usdtRegs = sync.OnceValue(func() map[string][2]int {
	m := map[string][2]int{}
	legacy := []struct {
		names []string
		off   int
	}{
		{[]string{"rax", "eax", "ax", "al"}, 80},
		{[]string{"rbx", "ebx", "bx", "bl"}, 40},
		{[]string{"rcx", "ecx", "cx", "cl"}, 88},
		{[]string{"rdx", "edx", "dx", "dl"}, 96},
		{[]string{"rsi", "esi", "si", "sil"}, 104},
		{[]string{"rdi", "edi", "di", "dil"}, 112},
		{[]string{"rbp", "ebp", "bp", "bpl"}, 32},
		{[]string{"rsp", "esp", "sp", "spl"}, 152},
		{[]string{"rip", "eip", "ip"}, 128},
	}
	for _, r := range legacy {
		for _, n := range r.names {
			m[n] = [2]int{r.off, 0}
		}
	}
	for _, h := range []struct {
		name string
		off  int
	}{{"ah", 80}, {"bh", 40}, {"ch", 88}, {"dh", 96}} {
		m[h.name] = [2]int{h.off, 8}
	}
	roff := []int{72, 64, 56, 48, 24, 16, 8, 0} // r8..r15
	for i, off := range roff {
		r := "r" + strconv.Itoa(8+i)
		for _, s := range []string{"", "d", "w", "b"} {
			m[r+s] = [2]int{off, 0}
		}
	}
	return m
})

// ParseUSDTArgs parses a note's argument spec ("-4@%edi 8@-8(%rbp) 4@$3").
func ParseUSDTArgs(spec string) ([]USDTArg, error) {
	var out []USDTArg
	for _, s := range strings.Fields(spec) {
		a, err := parseUSDTArg(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseUSDTArg(s string) (USDTArg, error) {
	a := USDTArg{Spec: s, Index: -1, Size: 8}
	loc := s
	if sz, rest, ok := strings.Cut(s, "@"); ok {
		n, err := strconv.Atoi(sz)
		if err != nil {
			return a, errorf("invalid usdt argument %q", s)
		}
		a.Signed = n < 0
		a.Size = max(n, -n)
		loc = rest
	}
	if a.Size != 1 && a.Size != 2 && a.Size != 4 && a.Size != 8 {
		return a, errorf("invalid usdt argument size in %q", s)
	}
	reg := func(name string) (int, int, error) {
		r, ok := usdtRegs()[strings.TrimPrefix(name, "%")]
		if !ok || !strings.HasPrefix(name, "%") {
			return 0, 0, errorf("unsupported register in usdt argument %q", s)
		}
		return r[0], r[1], nil
	}
	switch {
	case strings.HasPrefix(loc, "$"):
		v, err := strconv.ParseInt(loc[1:], 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(loc[1:], 0, 64)
			if uerr != nil {
				return a, errorf("unsupported constant in usdt argument %q", s)
			}
			v = int64(u)
		}
		a.Kind, a.Disp = USDTConst, v
	case strings.HasPrefix(loc, "%"):
		r, sh, err := reg(loc)
		if err != nil {
			return a, err
		}
		a.Kind, a.Reg, a.Shift = USDTReg, r, sh
	default:
		open := strings.Index(loc, "(")
		if open < 0 || !strings.HasSuffix(loc, ")") {
			return a, errorf("unsupported usdt argument %q", s)
		}
		if d := loc[:open]; d != "" {
			v, err := strconv.ParseInt(d, 0, 64)
			if err != nil {
				return a, errorf("unsupported usdt argument %q (symbolic displacement)", s)
			}
			a.Disp = v
		}
		regs := strings.Split(loc[open+1:len(loc)-1], ",")
		r, _, err := reg(regs[0])
		if err != nil {
			return a, err
		}
		if r == 128 {
			return a, errorf("unsupported usdt argument %q (%%rip-relative)", s)
		}
		a.Kind, a.Reg = USDTMem, r
		if len(regs) > 1 {
			if a.Index, _, err = reg(regs[1]); err != nil {
				return a, err
			}
			a.Scale = 1
			if len(regs) > 2 {
				if a.Scale, err = strconv.Atoi(regs[2]); err != nil {
					return a, errorf("unsupported usdt argument %q", s)
				}
			}
		}
	}
	return a, nil
}
