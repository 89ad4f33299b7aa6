package runtime

import (
	"errors"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// This file is the one way programs reach the kernel, for Run, Pin and a
// Live session alike: maps are created (or, in a Live, found), then each
// program gets its patches filled in, its map references bound and is
// loaded, and a refusal is explained in bpfsh's terms.

// patchValues are the run's values for the constants the compiler leaves
// to the loader (compiler.Patch*).
type patchValues struct {
	start    uint64            // CLOCK_MONOTONIC when the run (or session) started
	childPID int               // -c's process; 0 without one
	ksyms    map[string]uint64 // kernel symbols' addresses (kaddr()), by name
}

// kernelAddrs reads the addresses of the kernel symbols obj's kaddr()s
// name from kallsyms, now that the program is loaded on this kernel.
func kernelAddrs(obj *compiler.Object, env *probes.Env) (map[string]uint64, error) {
	if len(obj.KernelAddrs) == 0 {
		return nil, nil
	}
	names := slices.Sorted(maps.Values(obj.KernelAddrs))
	addrs, err := env.KernelSymbolAddrs(names)
	if err != nil {
		return nil, fmt.Errorf("kaddr(): cannot read the kernel's symbols: %w", err)
	}
	for _, n := range names {
		a, ok := addrs[n]
		if !ok {
			return nil, fmt.Errorf("kaddr(): no kernel symbol %q in /proc/kallsyms", n)
		}
		if a == 0 {
			return nil, fmt.Errorf("kaddr(%q): /proc/kallsyms hides kernel addresses (kernel.kptr_restrict)", n)
		}
	}
	return addrs, nil
}

// apply returns a copy of p's spec with the object's patches filled in.
func (pv patchValues) apply(obj *compiler.Object, p *compiler.Program) *ebpf.ProgramSpec {
	ps := p.Spec.Copy()
	for i, ins := range ps.Instructions {
		k, ok := obj.Patches[ins.Symbol()]
		if !ok {
			continue
		}
		switch k {
		case compiler.PatchStartTime:
			ps.Instructions[i].Constant = int64(pv.start)
		case compiler.PatchNCPUs:
			n, _ := ebpf.PossibleCPU()
			ps.Instructions[i].Constant = int64(n)
		case compiler.PatchChildPID:
			ps.Instructions[i].Constant = int64(pv.childPID)
		case compiler.PatchTAIOffset:
			ps.Instructions[i].Constant = taiOffset()
		case compiler.PatchKernelAddr:
			ps.Instructions[i].Constant = int64(pv.ksyms[obj.KernelAddrs[ins.Symbol()]])
		}
	}
	return ps
}

// raiseMemlock lifts RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF
// maps and programs to (later ones charge the memory cgroup and leave it
// alone), once, when a map or program is refused: nothing is asked of the kernel on
// the kernels that do not need it. It reports whether it lifted it.
// (Not cilium/ebpf/rlimit: its init creates a map to probe the kernel, a
// quarter of a millisecond of every start-up.)
var raiseMemlock = sync.OnceValue(func() bool {
	inf := &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	return unix.Setrlimit(unix.RLIMIT_MEMLOCK, inf) == nil
})

// memlockFirst lifts RLIMIT_MEMLOCK before anything is loaded on the
// kernels that charge it (before 5.11, by their release: reading BTF for
// it would cost every run tens of milliseconds): there cilium/ebpf's own
// probes (BPF_PROG_RUN's, for BEGIN) are charged too, and a small default
// limit refuses them half-way.
func memlockFirst(env *probes.Env) {
	if env != nil && env.KernelBefore(5, 11) {
		raiseMemlock()
	}
}

// createMaps creates the maps of specs, several at a time (a per-CPU
// map's allocation takes a tenth of a millisecond or more), keyed by
// their object names. On an error whatever was created is closed again.
func createMaps(specs map[string]*ebpf.MapSpec) (map[string]*ebpf.Map, error) {
	out := map[string]*ebpf.Map{}
	var mu sync.Mutex
	names := slices.Sorted(maps.Keys(specs))
	err := parallel(len(names), func(i int) error {
		m, err := ebpf.NewMap(specs[names[i]])
		if errors.Is(err, unix.EPERM) && raiseMemlock() {
			m, err = ebpf.NewMap(specs[names[i]])
		}
		if err != nil {
			return fdExhausted(mapError(names[i], specs[names[i]], err))
		}
		mu.Lock()
		out[names[i]] = m
		mu.Unlock()
		return nil
	})
	if err != nil {
		for _, m := range out {
			m.Close()
		}
		return nil, err
	}
	return out, nil
}

// maxOldKey is the largest hash map key older kernels take (MAX_BPF_STACK,
// as their programs built keys on the stack: 5.10 does, 6.1 takes more).
const maxOldKey = 512

// mapError explains a map the kernel would not create.
func mapError(name string, spec *ebpf.MapSpec, err error) error {
	hash := spec.Type == ebpf.Hash || spec.Type == ebpf.PerCPUHash || spec.Type == ebpf.LRUHash || spec.Type == ebpf.LRUCPUHash
	if errors.Is(err, unix.E2BIG) && hash && spec.KeySize > maxOldKey {
		return fmt.Errorf("create map %s: its keys are %d bytes, and this kernel's hash maps take keys of at most %d bytes (a string in a key takes max_strlen bytes: lower max_strlen)", name, spec.KeySize, maxOldKey)
	}
	return fmt.Errorf("create map %s: %w", name, err)
}

// loadPrograms loads progs of obj, several at a time (verification and JIT
// take a tenth of a millisecond or more each: a script of hundreds of
// probes loads in half the time on two CPUs), with their map references
// bound to byName (object name → map). On an error every program it
// loaded is closed again and the error explains the refusal.
func loadPrograms(obj *compiler.Object, progs []*compiler.Program, byName map[string]*ebpf.Map, pv patchValues, opts Options) (map[*compiler.Program]*ebpf.Program, error) {
	ksyms, err := kernelAddrs(obj, opts.Env)
	if err != nil {
		return nil, err
	}
	pv.ksyms = ksyms
	loaded := make([]*ebpf.Program, len(progs))
	err = parallel(len(progs), func(i int) error {
		spec := pv.apply(obj, progs[i])
		p, err := loadProgram(spec, byName, opts.Verbose)
		if errors.Is(err, unix.EPERM) && raiseMemlock() {
			// Kernels before 5.11 charge programs to RLIMIT_MEMLOCK too.
			p, err = loadProgram(spec, byName, opts.Verbose)
		}
		if err != nil {
			return fdExhausted(loadError(fmt.Errorf("load %s: %w", progs[i].Point, err), spec, progs[i].PlainRanges, opts.Env))
		}
		loaded[i] = p
		return nil
	})
	if err != nil {
		for _, p := range loaded {
			if p != nil {
				p.Close()
			}
		}
		return nil, err
	}
	out := make(map[*compiler.Program]*ebpf.Program, len(progs))
	for i, p := range progs {
		out[p] = loaded[i]
		if opts.Verbose {
			fmt.Fprintf(opts.Err, "%s (%s):\n%s\n", p.Spec.Name, p.Point, loaded[i].VerifierLog)
		}
	}
	return out, nil
}

// loadProgram binds ps's map references and loads it. Line info only
// matters in the verifier's log: without verbose it loads without (no BTF
// to build, probe and load), and again with it should the verifier refuse
// the program, for a log that names the source.
func loadProgram(ps *ebpf.ProgramSpec, byName map[string]*ebpf.Map, verbose bool) (*ebpf.Program, error) {
	for i := range ps.Instructions {
		ins := &ps.Instructions[i]
		if !ins.IsLoadFromMap() || ins.Reference() == "" {
			continue
		}
		m := byName[ins.Reference()]
		if m == nil {
			return nil, fmt.Errorf("no map %s (a bpfsh bug; please report it)", ins.Reference())
		}
		if err := ins.AssociateMap(m); err != nil {
			return nil, err
		}
	}
	var opts ebpf.ProgramOptions
	if verbose {
		opts.LogLevel = ebpf.LogLevelInstruction | ebpf.LogLevelStats
		return ebpf.NewProgramWithOptions(ps, opts)
	}
	lean := withoutLineInfo(ps)
	p, err := ebpf.NewProgramWithOptions(lean, opts)
	var ve *ebpf.VerifierError
	if lean != ps && errors.As(err, &ve) {
		p, err = ebpf.NewProgramWithOptions(ps, opts)
	}
	return p, err
}

// withoutLineInfo returns ps with its source lines dropped when it is made
// of one function (subprograms keep theirs: the kernel wants BTF function
// info for them), else ps itself.
func withoutLineInfo(ps *ebpf.ProgramSpec) *ebpf.ProgramSpec {
	for _, ins := range ps.Instructions {
		if ins.IsFunctionCall() || ins.IsLoadOfFunctionPointer() {
			return ps
		}
	}
	cp := *ps
	cp.Instructions = make(asm.Instructions, len(ps.Instructions))
	for i, ins := range ps.Instructions {
		cp.Instructions[i] = ins.WithSource(nil)
	}
	return &cp
}

// loadError explains a verifier refusal: what the kernel lacks, what in
// the script it cannot accept (verifier.go), or else a bpfsh bug with the
// verifier's log. Other errors pass unchanged.
func loadError(err error, spec *ebpf.ProgramSpec, plainRanges bool, env *probes.Env) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return err
	}
	if plainRanges && tooLong(ve) {
		return errors.New(helperMessage(asm.FnLoop, env, "for ($i : a..b) with more iterations than the verifier can walk"))
	}
	if sym, ok := missingKsym(ve); ok {
		return fmt.Errorf("the kernel cannot find the address of %s: it is not in /proc/kallsyms (kernels built without CONFIG_KALLSYMS_ALL list no variables)", sym)
	}
	if why := refusedHelper(ve); why != "" {
		return errors.New(why)
	}
	if why := missingHelper(ve, env); why != "" {
		return errors.New(why)
	}
	if why := lackingHelper(spec, env); why != "" {
		// An older kernel may reject a program for what a helper brings
		// (a callback subprogram) before it looks at the call.
		return errors.New(why)
	}
	if err := userRefusal(ve, spec); err != nil {
		return err
	}
	return fmt.Errorf("the kernel's verifier rejected the program (a bpfsh bug; please report it):\n%+v", ve)
}

// parallel runs do(0) ... do(n-1) on up to GOMAXPROCS goroutines and
// returns the error of the lowest index that failed (the first one a
// sequential loop would have met), after all have finished. The caller is
// one of the workers: its goroutine, locked to the main thread
// (cmd/bpfsh), would otherwise block at once, and each time it blocks
// the thread hands its P to another and takes one back.
func parallel(n int, do func(i int) error) error {
	workers := min(n, goruntime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := do(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next sync.Mutex
	i := 0
	work := func() {
		for {
			next.Lock()
			j := i
			i++
			next.Unlock()
			if j >= n {
				return
			}
			errs[j] = do(j)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
