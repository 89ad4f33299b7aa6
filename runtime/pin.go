package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// Pinned policies live in bpffs: one directory per name holding a pinned
// link per attach point and a one-element array map with the policy's
// description (source, attach points). Links keep their programs and maps
// alive after bpfsh exits; unpinning the links detaches the policy.
// pinfs.go says who is trusted there and how a pin cut short is recognised.

// PinRoot is where policies are pinned.
const PinRoot = "/sys/fs/bpf/bpfsh"

// PinInfo describes a pinned policy.
type PinInfo struct {
	Name          string    `json:"name"`
	Points        []string  `json:"points"`
	Links         []string  `json:"links"` // pin file of each point's link
	File          string    `json:"file"`
	Source        string    `json:"source"`
	OutputDropped bool      `json:"output_dropped"`
	Created       time.Time `json:"created"`
	// Compile is what compiled the source besides the source itself:
	// bpfsh metrics NAME compiles it again, the same way, to know its maps.
	Compile PinCompile `json:"compile"`
	// Incomplete says why the policy is not wholly the one described
	// (a pin cut short, a file missing or untrusted); "" when it is.
	Incomplete string `json:"-"`
}

// PinCompile is the compiler.Options of a pinned policy that can be
// written down: its parameters, and the limits that size its maps.
type PinCompile struct {
	Params      []string `json:"params,omitempty"`     // $1...
	NamedArgs   []string `json:"named_args,omitempty"` // after --
	Unsafe      bool     `json:"unsafe,omitempty"`
	ProbeFilter string   `json:"probe_filter,omitempty"`
	StrLen      int      `json:"str_len,omitempty"`
	MaxMapKeys  int      `json:"max_map_keys,omitempty"`
	RingPages   int      `json:"ring_pages,omitempty"`
	MaxProbes   int      `json:"max_probes,omitempty"`
	DummyTSMap  string   `json:"dummy_ts_map,omitempty"`
}

// PinCompileOf is what o says of a policy to pin.
func PinCompileOf(o compiler.Options) PinCompile {
	c := PinCompile{Params: o.Params, NamedArgs: o.NamedArgs, Unsafe: o.Unsafe, StrLen: o.StrLen,
		MaxMapKeys: o.MaxMapKeys, RingPages: o.RingPages, MaxProbes: o.MaxProbes, DummyTSMap: o.DummyTSMap}
	if o.ProbeFilter != nil {
		c.ProbeFilter = o.ProbeFilter.String()
	}
	return c
}

// Options are the options that compiled the policy, for env.
func (c PinCompile) Options(env *probes.Env) (compiler.Options, error) {
	o := compiler.Options{Env: env, Params: c.Params, NamedArgs: c.NamedArgs, Unsafe: c.Unsafe, StrLen: c.StrLen,
		MaxMapKeys: c.MaxMapKeys, RingPages: c.RingPages, MaxProbes: c.MaxProbes, DummyTSMap: c.DummyTSMap}
	if c.ProbeFilter != "" {
		re, err := regexp.Compile(c.ProbeFilter)
		if err != nil {
			return o, fmt.Errorf("pinned --probe-filter %q: %w", c.ProbeFilter, err)
		}
		o.ProbeFilter = re
	}
	return o, nil
}

// Compiled on first use: nothing at start-up.
var pinName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`) })

// CheckPinName refuses a name bpffs would refuse or that would be read as
// something else: bpffs reserves names with a dot (EPERM), a leading '-'
// reads as an option, and a directory name has at most 255 bytes.
func CheckPinName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("--pin needs a policy name")
	case strings.Contains(name, "."):
		return fmt.Errorf("invalid pin name %q: bpffs reserves names with a '.'; use letters, digits, '_' and '-'", name)
	case len(name) > 255:
		return fmt.Errorf("invalid pin name: longer than 255 bytes")
	case !pinName().MatchString(name):
		return fmt.Errorf("invalid pin name %q: use letters, digits, '_' and '-' (not first)", name)
	}
	return nil
}

func checkBPFFS() error {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(PinRoot), &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		return fmt.Errorf("%s is not a BPF file system: mount -t bpf bpf %s", filepath.Dir(PinRoot), filepath.Dir(PinRoot))
	}
	return nil
}

// PinOptions say what to pin and how.
type PinOptions struct {
	Env          *probes.Env
	Name         string
	File, Source string     // the script, kept in the description
	Compile      PinCompile // and what else compiled it (PinCompileOf)
	DryRun       bool       // load and attach, check the pin directory, change nothing
	Out          io.Writer  // the one-line report
	Err          io.Writer  // notices (waiting for another bpfsh)
}

// Pin loads obj, attaches it and pins it as opts.Name, all or nothing: every
// new link is attached before anything pinned changes, then the switch
// (pin the new links, update links in place, describe) either completes or
// is undone, leaving the previous policy exactly as it was. A policy of the
// same name is replaced without a moment with no policy: links to the same
// attach points are updated in place (BPF_LINK_UPDATE) where the kernel can.
func Pin(obj *compiler.Object, opts PinOptions) error {
	if err := CheckPinName(opts.Name); err != nil {
		return err
	}
	for _, p := range obj.Programs {
		if p.Provider.Runs.Driven() {
			return fmt.Errorf("%s probes cannot be pinned: a pinned policy has no start or end", p.Provider.Name)
		}
	}
	if err := checkBPFFS(); err != nil && !opts.DryRun {
		return err
	}
	exists, err := trustedRoot(!opts.DryRun)
	if err != nil {
		return err
	}
	var old *PinInfo
	if exists {
		unlock, err := lockPins(unix.LOCK_EX, opts.Err)
		if err != nil {
			return err
		}
		defer unlock()
		if old, err = ReadPin(opts.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if old != nil && old.Incomplete != "" {
			return fmt.Errorf("pinned policy %s is incomplete (%s): remove it first with bpfsh unpin %s", opts.Name, old.Incomplete, opts.Name)
		}
	}
	r := &run{obj: obj, opts: Options{Env: opts.Env, Err: io.Discard}, dec: newDecoder(opts.Env)}
	defer r.close()
	if err := r.load(); err != nil {
		return err
	}
	sw := &pinSwitch{dir: filepath.Join(PinRoot, opts.Name), old: old}
	defer sw.close()
	info := &PinInfo{Name: opts.Name, File: opts.File, Source: opts.Source, Created: time.Now().UTC(),
		OutputDropped: obj.Ring != nil || len(obj.Maps) > 0, Compile: opts.Compile}
	if err := sw.prepare(r, info); err != nil {
		return err
	}
	verb := "pinned"
	if old != nil {
		verb = "replaced"
	}
	if opts.DryRun {
		fmt.Fprintf(opts.Out, "dry run: %s would be %s: %s\n", opts.Name, verb, strings.Join(info.Points, ", "))
		return nil
	}
	if err := sw.commit(info); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "%s %s: %s\n", verb, opts.Name, strings.Join(info.Points, ", "))
	if info.OutputDropped {
		fmt.Fprintf(opts.Out, "note: pinned policies have no output; printf and maps of %s are dropped\n", opts.Name)
	}
	return sw.dropOld()
}

// ReadPin reads a pinned policy's description and checks it against the
// directory: a description still pending, link files it does not list (a
// replacement cut short) or links it lists that are gone make the policy
// incomplete. A missing policy is an os.ErrNotExist error.
func ReadPin(name string) (*PinInfo, error) {
	dir := filepath.Join(PinRoot, name)
	if err := checkTrusted(dir, true); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]bool{}
	for _, e := range ents {
		files[e.Name()] = true
	}
	info, err := readMeta(filepath.Join(dir, metaPin))
	switch {
	case files[pendingPin]:
		if info == nil {
			info, _ = readMeta(filepath.Join(dir, pendingPin))
		}
		if info == nil {
			info = &PinInfo{}
		}
		info.Incomplete = "a pin was interrupted"
	case err != nil && files[metaPin]:
		info = &PinInfo{Incomplete: fmt.Sprintf("unreadable description: %v", err)}
	case err != nil:
		info = &PinInfo{Incomplete: "no description: a pin was interrupted"}
	default:
		info.Incomplete = checkLinks(dir, info, files)
	}
	info.Name = name
	return info, nil
}

// checkLinks compares the links a description lists with the files there.
func checkLinks(dir string, info *PinInfo, files map[string]bool) string {
	for _, f := range info.Links {
		if !files[f] {
			return "link " + f + " is missing"
		}
		if err := checkTrusted(filepath.Join(dir, f), false); err != nil {
			return err.Error()
		}
		delete(files, f)
	}
	delete(files, metaPin)
	if len(files) > 0 {
		stray := slices.Sorted(func(yield func(string) bool) {
			for f := range files {
				yield(f)
			}
		})
		return "links not in the description: " + strings.Join(stray, ", ") + " (a replacement was interrupted)"
	}
	return ""
}

// Pins lists pinned policies by name.
func Pins() ([]*PinInfo, error) {
	exists, err := trustedRoot(false)
	if err != nil || !exists {
		return nil, err
	}
	unlock, err := lockPins(unix.LOCK_SH, io.Discard)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ents, err := os.ReadDir(PinRoot)
	if err != nil {
		return nil, err
	}
	var out []*PinInfo
	for _, e := range ents {
		info, err := ReadPin(e.Name())
		if err != nil {
			info = &PinInfo{Name: e.Name(), Incomplete: err.Error()}
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
		if p.Incomplete != "" {
			fmt.Fprintf(w, "    INCOMPLETE: %s; bpfsh unpin %s removes it\n", p.Incomplete, p.Name)
		}
		if p.File != "" && p.File != "stdin" {
			fmt.Fprintf(w, "    # %s\n", p.File)
		}
		if p.Source == "" {
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(p.Source, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	return nil
}

// Unpin removes a pinned policy, complete or not: its links are unpinned
// (detaching the programs) and its directory removed.
func Unpin(name string) error {
	if err := CheckPinName(name); err != nil {
		return err
	}
	exists, err := trustedRoot(false)
	if err != nil {
		return err
	}
	noSuch := fmt.Errorf("no pinned policy named %q (see: bpfsh pins)", name)
	if !exists {
		return noSuch
	}
	unlock, err := lockPins(unix.LOCK_EX, io.Discard)
	if err != nil {
		return err
	}
	defer unlock()
	dir := filepath.Join(PinRoot, name)
	if err := checkTrusted(dir, true); errors.Is(err, os.ErrNotExist) {
		return noSuch
	} else if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var links []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if err := checkTrusted(p, false); err != nil {
			return err
		}
		if e.Name() != metaPin && e.Name() != pendingPin {
			links = append(links, p)
		}
	}
	// The description goes last: a failure here leaves the policy described.
	if err := unpinLinks(links); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, pendingPin))
	os.Remove(filepath.Join(dir, metaPin))
	return os.Remove(dir)
}

// unpinLinks unpins links side by side: the last reference to a
// tracepoint's link waits for an RCU grace period as it goes, so one at a
// time a 360-link policy took most of a minute on a busy machine.
func unpinLinks(paths []string) error {
	errs := make([]error, len(paths))
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			errs[i] = unpinLink(p)
			<-sem
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func unpinLink(path string) error {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		// Not a link (a stray map): removing the file is all there is.
		return os.Remove(path)
	}
	defer l.Close()
	if err := l.Unpin(); err != nil {
		return fmt.Errorf("unpin %s: %w", path, err)
	}
	return nil
}
