package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// pinSwitch puts a new policy in place of the old one in two steps.
// prepare changes nothing pinned: it attaches the links the new policy
// needs (they run beside the old ones, held only by this process, so a
// failure or a kill ends them) and opens the old links it will update in
// place. commit then makes the change and undoes it when a step fails.
type pinSwitch struct {
	dir string
	old *PinInfo

	fresh   []pinLink // new links, with the file each is pinned as
	updates []pinLink // old links to run the new programs
	drop    []string  // old link files the new policy does not reuse
	opened  []link.Link

	created, pending bool
	pinned, updated  []pinLink // done so far, undone on failure
}

type pinLink struct {
	l             link.Link
	point, file   string
	prog, oldProg *ebpf.Program // for an update: the new program and the one to restore
}

// oldLink is a link of the policy being replaced.
type oldLink struct {
	l          link.Link
	point      string
	file       string
	prog       ebpf.ProgramID
	updateable bool
}

// updatable link types can swap their program in place (BPF_LINK_UPDATE);
// the kernel refuses it for the others (perf events, tracing, kprobe_multi).
var updatable = map[link.Type]bool{link.CgroupType: true, link.XDPType: true, link.TCXType: true,
	link.NetkitType: true, link.NetNsType: true}

func (s *pinSwitch) openOld() ([]*oldLink, error) {
	if s.old == nil {
		return nil, nil
	}
	var out []*oldLink
	for i, pt := range s.old.Points {
		if i >= len(s.old.Links) {
			break
		}
		path := filepath.Join(s.dir, s.old.Links[i])
		l, err := link.LoadPinnedLink(path, nil)
		if err != nil {
			return nil, fmt.Errorf("open the pinned link of %s: %w", pt, err)
		}
		s.opened = append(s.opened, l)
		info, err := l.Info()
		if err != nil {
			return nil, fmt.Errorf("read the pinned link of %s: %w", pt, err)
		}
		out = append(out, &oldLink{l: l, point: pt, file: s.old.Links[i], prog: info.Program,
			updateable: updatable[info.Type]})
	}
	return out, nil
}

// prepare attaches what is new and plans the updates, filling info's points
// and links in the program order.
func (s *pinSwitch) prepare(r *run, info *PinInfo) error {
	olds, err := s.openOld()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, o := range olds {
		used[o.file] = true
	}
	reused := map[*oldLink]bool{}
	for i, p := range r.obj.Programs {
		pt := p.Point.String()
		prog := r.progs[p]
		if o := matchOld(olds, reused, pt); o != nil {
			oldProg, err := ebpf.NewProgramFromID(o.prog)
			if err != nil {
				return fmt.Errorf("open the pinned program of %s: %w", pt, err)
			}
			s.updates = append(s.updates, pinLink{l: o.l, point: pt, file: o.file, prog: prog, oldProg: oldProg})
			info.Points, info.Links = append(info.Points, pt), append(info.Links, o.file)
			continue
		}
		c, err := p.Provider.Attach(r.opts.Env, prog, p.Point)
		if err != nil {
			return fmt.Errorf("attach %s: %w", pt, err)
		}
		l, ok := c.(link.Link)
		if !ok {
			c.Close()
			return fmt.Errorf("%s probes cannot be pinned", p.Provider.Name)
		}
		f := freshName(used, i)
		s.fresh = append(s.fresh, pinLink{l: l, point: pt, file: f})
		info.Points, info.Links = append(info.Points, pt), append(info.Links, f)
	}
	for _, o := range olds {
		if !reused[o] {
			s.drop = append(s.drop, o.file)
		}
	}
	return nil
}

// matchOld finds an old link at point whose program can be swapped.
func matchOld(olds []*oldLink, reused map[*oldLink]bool, point string) *oldLink {
	for _, o := range olds {
		if o.point == point && o.updateable && !reused[o] {
			reused[o] = true
			return o
		}
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

// commit switches to the new policy: the pending description first, then
// the new links pinned and the old ones updated, then the description
// renamed over the old one. Until the rename a kill leaves "pending" (an
// incomplete policy that pins shows); a failure undoes every step.
func (s *pinSwitch) commit(info *PinInfo) (err error) {
	defer func() {
		if err != nil {
			err = errors.Join(err, s.undo())
		}
	}()
	if s.old == nil {
		if err := os.Mkdir(s.dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", s.dir, err)
		}
		s.created = true
	}
	pending := filepath.Join(s.dir, pendingPin)
	if err := writeMeta(pending, info); err != nil {
		return err
	}
	s.pending = true
	for _, f := range s.fresh {
		if err := f.l.Pin(filepath.Join(s.dir, f.file)); err != nil {
			return fmt.Errorf("pin %s: %w", f.point, err)
		}
		s.pinned = append(s.pinned, f)
	}
	for _, u := range s.updates {
		if err := u.l.Update(u.prog); err != nil {
			return fmt.Errorf("replace the program of %s: %w", u.point, err)
		}
		s.updated = append(s.updated, u)
	}
	if err := os.Rename(pending, filepath.Join(s.dir, metaPin)); err != nil {
		return fmt.Errorf("describe the policy: %w", err)
	}
	s.pending = false
	return nil
}

// undo restores the previous policy after a failed commit: updated links
// get their programs back, new pins go (their links end with this process).
func (s *pinSwitch) undo() error {
	var errs []error
	for i := len(s.updated) - 1; i >= 0; i-- {
		u := s.updated[i]
		if err := u.l.Update(u.oldProg); err != nil {
			errs = append(errs, fmt.Errorf("could not restore the previous program of %s: %w", u.point, err))
		}
	}
	for _, f := range s.pinned {
		if err := f.l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("could not remove the new link of %s: %w", f.point, err))
		}
	}
	if s.pending {
		os.Remove(filepath.Join(s.dir, pendingPin))
	}
	if s.created {
		os.Remove(s.dir)
	}
	s.updated, s.pinned = nil, nil
	return errors.Join(errs...)
}

// dropOld removes the old links the new policy does not reuse, now that the
// new ones are in force.
func (s *pinSwitch) dropOld() error {
	var paths []string
	for _, f := range s.drop {
		paths = append(paths, filepath.Join(s.dir, f))
	}
	if err := unpinLinks(paths); err != nil {
		return fmt.Errorf("the new policy is in force, but an old link remains (bpfsh pins shows it; bpfsh unpin removes the whole policy): %w", err)
	}
	return nil
}

// close releases this process's references; what is pinned stays.
func (s *pinSwitch) close() {
	for _, f := range s.fresh {
		f.l.Close()
	}
	for _, u := range s.updates {
		u.oldProg.Close()
	}
	for _, l := range s.opened {
		l.Close()
	}
}
