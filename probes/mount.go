package probes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The kernel file systems bpfsh needs: tracefs (tracepoint formats and ids,
// the kprobe and ftrace function lists, debugf()'s output) and bpffs (pinned
// policies). Run as root, bpfsh mounts a missing one itself, as bpftool
// mounts bpffs before it pins; as another user the error names the command
// that would.

// MountNotice is told of each file system bpfsh mounted (the front end
// prints one line for it unless -q).
type MountNotice func(fstype, dir string)

var errNotRoot = errors.New("only root can mount it")

// mountFS mounts a file system of type fstype on dir, creating dir.
func mountFS(fstype, dir string) error {
	if os.Geteuid() != 0 {
		return errNotRoot
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return unix.Mount(fstype, dir, fstype, 0, "")
}

// isFS reports whether dir is the root of a mounted file system of the
// given magic number.
func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == magic
}

// tracefs returns the directory where tracefs is mounted; as root it mounts
// tracefs at sysfs's kernel/tracing when the Env's root has no events (once
// per Env; an Env made for a fake tree in tests never mounts).
func (e *Env) tracefs() string {
	if !e.AutoMount {
		return e.TracefsRoot
	}
	e.mountOnce.Do(func() {
		for _, root := range []string{e.TracefsRoot, e.findTracefs()} {
			if _, err := os.Stat(filepath.Join(root, "events")); err == nil {
				e.TracefsRoot = root // it may have been mounted since the Env was made
				return
			}
		}
		dir := e.sysPath("kernel", "tracing")
		if mountFS("tracefs", dir) == nil {
			e.TracefsRoot = dir
			if e.Mounted != nil {
				e.Mounted("tracefs", dir)
			}
		}
	})
	return e.TracefsRoot
}

// findTracefs finds the mounted tracefs: sysfs's kernel/tracing, or
// tracing in debugfs (older kernels); the first when neither is there.
func (e *Env) findTracefs() string {
	dirs := []string{e.sysPath("kernel", "tracing"), filepath.Join(e.debugfs(), "tracing")}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "events")); err == nil {
			return d
		}
	}
	return dirs[0]
}

// debugfs is where debugfs is mounted.
func (e *Env) debugfs() string { return under(e.DebugfsRoot, e.sysPath("kernel", "debug"), nil) }

// TracefsRoot finds the running machine's mounted tracefs.
func TracefsRoot() string { return new(Env).findTracefs() }

// NeedTracefs makes sure tracefs is there (debugf() writes to its trace
// buffer) and returns where it is.
func (e *Env) NeedTracefs() string { return e.tracefs() }

// EnsureBPFFS makes dir a BPF file system: it mounts bpffs there when it is
// not one, which needs root. notify, when not nil, is told of the mount.
func EnsureBPFFS(dir string, notify MountNotice) error {
	if isFS(dir, unix.BPF_FS_MAGIC) {
		return nil
	}
	if err := mountFS("bpf", dir); err != nil {
		return fmt.Errorf("%s is not a BPF file system and bpfsh could not mount one (%v): mount -t bpf bpf %s", dir, err, dir)
	}
	if notify != nil {
		notify("bpffs", dir)
	}
	return nil
}
