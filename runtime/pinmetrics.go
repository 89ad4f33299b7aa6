package runtime

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfsh/bpfsh/compiler"
)

// ServePinnedMetrics serves the maps of the pinned policy name (bpfsh
// metrics NAME): a pinned policy keeps its maps through its links'
// programs, which are found by id; obj, the policy's source compiled again,
// says which map is which and what it holds. Close the server to release
// the maps.
func ServePinnedMetrics(name string, obj *compiler.Object, cfg *MetricsConfig, errw io.Writer) (*MetricsServer, error) {
	info, err := ReadPin(name)
	if err != nil {
		return nil, fmt.Errorf("no pinned policy named %q (see: bpfsh pins): %w", name, err)
	}
	loaded := map[string]*ebpf.Map{}
	for _, f := range info.Links {
		if err := pinnedMaps(filepath.Join(PinRoot, name, f), loaded); err != nil {
			closeMaps(loaded)
			return nil, err
		}
	}
	for _, m := range obj.MapSpecs() {
		bm := loaded[m.Name]
		if bm != nil && (bm.KeySize() != m.KeySize || bm.ValueSize() != m.ValueSize || bm.Type() != m.Type) {
			closeMaps(loaded)
			return nil, fmt.Errorf("map %s of policy %s is not what its source makes: pinned by another version of bpfsh?", m.Name, name)
		}
	}
	s, err := ListenMetrics(cfg, errw)
	if err != nil {
		closeMaps(loaded)
		return nil, err
	}
	s.closers = func() { closeMaps(loaded) }
	s.serve(viewOf(obj, loaded, len(info.Links), newDecoder(nil)))
	return s, nil
}

// pinnedMaps adds the maps of the program behind a pinned link, by name.
func pinnedMaps(path string, loaded map[string]*ebpf.Map) error {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer l.Close()
	li, err := l.Info()
	if err != nil {
		return err
	}
	prog, err := ebpf.NewProgramFromID(li.Program)
	if err != nil {
		return err
	}
	defer prog.Close()
	pi, err := prog.Info()
	if err != nil {
		return err
	}
	ids, _ := pi.MapIDs()
	for _, id := range ids {
		bm, err := ebpf.NewMapFromID(id)
		if err != nil {
			return err
		}
		mi, err := bm.Info()
		if err != nil || loaded[mi.Name] != nil {
			bm.Close()
			continue
		}
		loaded[mi.Name] = bm
	}
	return nil
}

func closeMaps(ms map[string]*ebpf.Map) {
	for _, m := range ms {
		m.Close()
	}
}
