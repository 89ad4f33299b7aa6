package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// Pinned policies live in bpffs: one directory per name holding a pinned
// link per attach point and a one-element array map with the policy's
// description (source, attach points). Links keep their programs and maps
// alive after bpfsh exits; unpinning the links detaches the policy.

// PinRoot is where policies are pinned.
var PinRoot = "/sys/fs/bpf/bpfsh"

// PinInfo describes a pinned policy.
type PinInfo struct {
	Name          string    `json:"name"`
	Points        []string  `json:"points"`
	Links         []string  `json:"links"` // pin file of each point's link
	File          string    `json:"file"`
	Source        string    `json:"source"`
	OutputDropped bool      `json:"output_dropped"`
	Created       time.Time `json:"created"`
}

const metaPin = "meta"

// Compiled on first use: nothing at start-up.
var pinName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+$`) })

func checkBPFFS() error {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(PinRoot), &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		return fmt.Errorf("%s is not a BPF file system: mount -t bpf bpf %s", filepath.Dir(PinRoot), filepath.Dir(PinRoot))
	}
	return nil
}

// Pin loads obj, attaches it and pins it as name, replacing a policy of the
// same name atomically: links to the same attach points are updated in place
// (BPF_LINK_UPDATE), so there is no moment without a policy.
func Pin(env *probes.Env, obj *compiler.Object, name, file, source string, w io.Writer) error {
	if !pinName().MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("invalid pin name %q: use letters, digits, '_', '-' and '.'", name)
	}
	if err := checkBPFFS(); err != nil {
		return err
	}
	var progs []*compiler.Program
	for _, p := range obj.Programs {
		if p.Provider.Runs.Driven() {
			return fmt.Errorf("%s probes cannot be pinned: a pinned policy has no start or end", p.Provider.Name)
		}
		progs = append(progs, p)
	}
	r := &run{obj: obj, opts: Options{Env: env, Err: io.Discard}}
	defer r.close()
	if err := r.load(); err != nil {
		return err
	}
	dir := filepath.Join(PinRoot, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	old, _ := ReadPin(name)
	oldLinks := map[string]string{} // point → pin file
	if old != nil {
		for i, pt := range old.Points {
			if i < len(old.Links) {
				oldLinks[pt] = old.Links[i]
			}
		}
	}
	info := &PinInfo{Name: name, File: file, Source: source, Created: time.Now().UTC(),
		OutputDropped: obj.Ring != nil || len(obj.Maps) > 0}
	kept := map[string]bool{}
	used := map[string]bool{}
	for _, f := range oldLinks {
		used[f] = true
	}
	for i, p := range progs {
		pt := p.Point.String()
		prog := r.progs[p]
		if f, ok := oldLinks[pt]; ok && !kept[f] {
			l, err := link.LoadPinnedLink(filepath.Join(dir, f), nil)
			if err == nil {
				err = l.Update(prog)
				l.Close()
			}
			if err == nil {
				kept[f] = true
				info.Points = append(info.Points, pt)
				info.Links = append(info.Links, f)
				continue
			}
		}
		c, err := p.Provider.Attach(env, prog, p.Point)
		if err != nil {
			return fmt.Errorf("attach %s: %w", pt, err)
		}
		l, ok := c.(link.Link)
		if !ok {
			c.Close()
			return fmt.Errorf("%s probes cannot be pinned", p.Provider.Name)
		}
		f := freshName(used, i)
		if err := l.Pin(filepath.Join(dir, f)); err != nil {
			l.Close()
			return fmt.Errorf("pin %s: %w", pt, err)
		}
		l.Close()
		info.Points = append(info.Points, pt)
		info.Links = append(info.Links, f)
	}
	// The old policy's links that the new one does not reuse go now, after
	// the new ones are in force.
	for _, f := range oldLinks {
		if !kept[f] {
			unpinLink(filepath.Join(dir, f))
		}
	}
	if err := writeMeta(dir, info); err != nil {
		return err
	}
	verb := "pinned"
	if old != nil {
		verb = "replaced"
	}
	fmt.Fprintf(w, "%s %s: %s\n", verb, name, strings.Join(info.Points, ", "))
	if info.OutputDropped {
		fmt.Fprintf(w, "note: pinned policies have no output; printf and maps of %s are dropped\n", name)
	}
	return nil
}

func freshName(used map[string]bool, i int) string {
	for n := i; ; n++ {
		f := fmt.Sprintf("link%d", n)
		if !used[f] {
			used[f] = true
			return f
		}
	}
}

func unpinLink(path string) {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		os.Remove(path)
		return
	}
	l.Unpin()
	l.Close()
}

func writeMeta(dir string, info *PinInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "bpfsh_meta", Type: ebpf.Array, KeySize: 4,
		ValueSize: uint32(len(data)), MaxEntries: 1})
	if err != nil {
		return fmt.Errorf("create policy description: %w", err)
	}
	defer m.Close()
	if err := m.Put(uint32(0), data); err != nil {
		return fmt.Errorf("write policy description: %w", err)
	}
	path := filepath.Join(dir, metaPin)
	os.Remove(path)
	if err := m.Pin(path); err != nil {
		return fmt.Errorf("pin policy description: %w", err)
	}
	return os.Chmod(path, 0o600)
}

// ReadPin reads a pinned policy's description.
func ReadPin(name string) (*PinInfo, error) {
	m, err := ebpf.LoadPinnedMap(filepath.Join(PinRoot, name, metaPin), nil)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	data := make([]byte, m.ValueSize())
	if err := m.Lookup(uint32(0), &data); err != nil {
		return nil, err
	}
	var info PinInfo
	if err := json.Unmarshal(bytes.TrimRight(data, "\x00"), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Pins lists pinned policies by name.
func Pins() ([]*PinInfo, error) {
	ents, err := os.ReadDir(PinRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*PinInfo
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		info, err := ReadPin(e.Name())
		if err != nil {
			info = &PinInfo{Name: e.Name(), Source: fmt.Sprintf("(unreadable description: %v)", err)}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PrintPins writes the list of pinned policies.
func PrintPins(w io.Writer) error {
	pins, err := Pins()
	if err != nil {
		return err
	}
	if len(pins) == 0 {
		fmt.Fprintln(w, "no pinned policies")
		return nil
	}
	for _, p := range pins {
		fmt.Fprintf(w, "%s\t%s", p.Name, strings.Join(p.Points, ", "))
		if p.OutputDropped {
			fmt.Fprint(w, "\t(output dropped)")
		}
		fmt.Fprintln(w)
		if p.File != "" && p.File != "stdin" {
			fmt.Fprintf(w, "    # %s\n", p.File)
		}
		for _, line := range strings.Split(strings.TrimRight(p.Source, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	return nil
}

// Unpin removes a pinned policy: its links are unpinned (detaching the
// programs) and its directory removed.
func Unpin(name string) error {
	if !pinName().MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("invalid pin name %q", name)
	}
	dir := filepath.Join(PinRoot, name)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no pinned policy named %q (see: bpfsh pins)", name)
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.Name() == metaPin {
			os.Remove(p)
			continue
		}
		unpinLink(p)
	}
	return os.Remove(dir)
}
