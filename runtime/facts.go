package runtime

import (
	"fmt"
	"io/fs"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
	"golang.org/x/sys/unix"
)

// username is the name of user uid (from /etc/passwd), or the number when
// it has none.
func (d *decoder) username(uid uint64) string {
	if n, ok := d.usernames.Load(uid); ok {
		return n.(string)
	}
	id := strconv.FormatUint(uid, 10)
	name := id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	d.usernames.Store(uid, name)
	return name
}

// cgroupPath renders cgroup_path(id): the cgroup's path in every mounted
// cgroup hierarchy that has a cgroup with this id (its directory's inode
// number), as "name:/path" joined by ';', where name is "unified" for
// cgroup2 and the controllers for v1 hierarchies. filter (a glob) keeps
// the hierarchies whose name matches.
func (d *decoder) cgroupPath(id uint64, filter string) string {
	key := fmt.Sprintf("%d/%s", id, filter)
	if p, ok := d.cgroupPaths.Load(key); ok {
		return p.(string)
	}
	var parts []string
	var mounts []probes.CgroupMount
	if d.syms.env != nil {
		mounts, _ = d.syms.env.CgroupMounts()
	}
	for _, m := range mounts {
		if filter != "" {
			if ok, _ := filepath.Match(filter, m.Name); !ok {
				continue
			}
		}
		if p, ok := findInode(m.Dir, id); ok {
			parts = append(parts, m.Name+":"+p)
		}
	}
	s := strings.Join(parts, ";")
	d.cgroupPaths.Store(key, s)
	return s
}

// findInode finds the directory under root whose inode is ino and returns
// its path relative to root ("/" for root itself).
func findInode(root string, ino uint64) (string, bool) {
	found := ""
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || found != "" {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Ino == ino {
			rel, _ := filepath.Rel(root, p)
			found = "/" + strings.TrimPrefix(rel, ".")
			return filepath.SkipAll
		}
		return nil
	})
	return found, found != ""
}

// missingKsym recognises the verifier's refusal of a kernel variable that
// kallsyms does not list (percpu_kaddr on a kernel without
// CONFIG_KALLSYMS_ALL).
func missingKsym(ve *ebpf.VerifierError) (string, bool) {
	const marker = "failed to find the address for kernel symbol "
	for _, l := range ve.Log {
		if _, sym, ok := strings.Cut(l, marker); ok {
			return strings.TrimRight(sym, "."), true
		}
	}
	return "", false
}

// attachOrder is the order to attach programs in so that programs at one
// point run in the script's order: the kernel runs those of a NewestFirst
// provider (uprobes) last-attached first, so they are attached in reverse.
func attachOrder(ps []*compiler.Program) []*compiler.Program {
	out := append([]*compiler.Program(nil), ps...)
	var idx []int
	for i, p := range out {
		if p.Provider.NewestFirst {
			idx = append(idx, i)
		}
	}
	for a, b := 0, len(idx)-1; a < b; a, b = a+1, b-1 {
		out[idx[a]], out[idx[b]] = out[idx[b]], out[idx[a]]
	}
	return out
}

// runIters runs each iterator once, after BEGIN: its output (what its
// printf()s wrote) goes to the output as it is read.
func (r *run) runIters(iters []*compiler.Program) error {
	for _, p := range iters {
		l, err := p.Provider.Attach(r.opts.Env, r.progs[p], p.Point)
		if err != nil {
			return fmt.Errorf("attach %s: %w", p.Point, err)
		}
		r.mu.Lock()
		r.out.Flush()
		err = probes.RunIter(l, r.out)
		r.out.Flush()
		r.mu.Unlock()
		l.Close()
		if err != nil {
			return fmt.Errorf("run %s: %w", p.Point, err)
		}
	}
	return nil
}
