package runtime

import (
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
)

// loadCollection creates spec's maps, then loads its programs, each step
// on as many CPUs as there are: what ebpf.NewCollectionWithOptions does
// one object after another. (A program's verification and JIT, a per-CPU
// map's allocation, take a tenth of a millisecond or more each; a script
// of hundreds of probes loads in half the time on two CPUs.) On an error
// whatever was created is closed again.
func loadCollection(spec *ebpf.CollectionSpec, opts ebpf.CollectionOptions) (*ebpf.Collection, error) {
	coll := &ebpf.Collection{Maps: map[string]*ebpf.Map{}, Programs: map[string]*ebpf.Program{}}
	var mu sync.Mutex
	mapNames := slices.Sorted(maps.Keys(spec.Maps))
	err := parallel(len(mapNames), func(i int) error {
		name := mapNames[i]
		m, err := ebpf.NewMapWithOptions(spec.Maps[name], opts.Maps)
		if err != nil {
			return fmt.Errorf("map %s: %w", name, err)
		}
		mu.Lock()
		coll.Maps[name] = m
		mu.Unlock()
		return nil
	})
	if err != nil {
		coll.Close()
		return nil, err
	}
	progNames := slices.Sorted(maps.Keys(spec.Programs))
	err = parallel(len(progNames), func(i int) error {
		name := progNames[i]
		ps := spec.Programs[name].Copy()
		for j := range ps.Instructions {
			ins := &ps.Instructions[j]
			if !ins.IsLoadFromMap() || ins.Reference() == "" {
				continue
			}
			m := coll.Maps[ins.Reference()]
			if m == nil {
				return fmt.Errorf("program %s: no map %s", name, ins.Reference())
			}
			if err := ins.AssociateMap(m); err != nil {
				return fmt.Errorf("program %s: %w", name, err)
			}
		}
		p, err := ebpf.NewProgramWithOptions(ps, opts.Programs)
		if err != nil {
			return fmt.Errorf("program %s: %w", name, err)
		}
		mu.Lock()
		coll.Programs[name] = p
		mu.Unlock()
		return nil
	})
	if err != nil {
		coll.Close()
		return nil, err
	}
	return coll, nil
}

// parallel runs do(0) ... do(n-1) on up to GOMAXPROCS goroutines and
// returns the error of the lowest index that failed (the first one a
// sequential loop would have met), after all have finished.
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
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
