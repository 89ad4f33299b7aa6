package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The pin directory is trusted as sshd trusts a home directory under
// StrictModes: bpfsh acts on a directory or pin file only when root owns it
// and no group or other user can write it, because whoever can write there
// can detach (rm), hide (mv) or swap a root policy. bpffs is mounted 1777,
// so anyone could have made /sys/fs/bpf/bpfsh before root first pinned.

// untrustedError is a refusal to use a path another user could change.
type untrustedError struct {
	path, why string
}

func (e *untrustedError) Error() string {
	return fmt.Sprintf("refusing to use %s: it %s, so another user could detach or replace the policies in it; check it and remove it (rm -r %s)",
		e.path, e.why, e.path)
}

// checkTrusted refuses path unless it is a directory (dir) or a pinned
// object, not a symlink, owned by root and writable by root alone.
func checkTrusted(path string, dir bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	kind := st.Mode & unix.S_IFMT
	switch {
	case dir && kind != unix.S_IFDIR:
		return &untrustedError{path, "is not a directory"}
	case !dir && kind != unix.S_IFREG:
		return &untrustedError{path, "is not a pinned object"}
	case st.Uid != 0:
		return &untrustedError{path, fmt.Sprintf("is owned by uid %d, not root", st.Uid)}
	case st.Mode&0o022 != 0:
		return &untrustedError{path, fmt.Sprintf("is writable by group or others (mode %04o)", st.Mode&0o7777)}
	}
	return nil
}

// checkParent refuses a bpffs root that others could use to replace
// PinRoot: writable by others only with the sticky bit (bpffs's own 1777).
func checkParent(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Uid != 0 {
		return &untrustedError{path, fmt.Sprintf("is owned by uid %d, not root", st.Uid)}
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return &untrustedError{path, fmt.Sprintf("is writable by others without the sticky bit (mode %04o)", st.Mode&0o7777)}
	}
	return nil
}

// trustedRoot checks PinRoot and its parent; with create it makes PinRoot
// (0700) when missing. It reports whether PinRoot exists.
func trustedRoot(create bool) (bool, error) {
	if err := checkParent(filepath.Dir(PinRoot)); err != nil {
		return false, err
	}
	if create {
		if err := os.Mkdir(PinRoot, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return false, fmt.Errorf("create %s: %w", PinRoot, err)
		}
	}
	err := checkTrusted(PinRoot, true)
	if !create && errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// pinLockWait is how long a pin, unpin or listing waits for another
// bpfsh's before giving up.
const pinLockWait = 30 * time.Second

// lockPins takes the lock every pin, unpin and listing holds: flock on
// PinRoot itself (bpffs has no regular files to lock, and PinRoot, unlike a
// policy's directory, is never removed while someone waits on it). The lock
// goes with the process, so a killed bpfsh never leaves it held. notice is
// told once when another bpfsh holds it.
func lockPins(how int, notice io.Writer) (unlock func(), err error) {
	fd, err := unix.Open(PinRoot, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: PinRoot, Err: err}
	}
	deadline := time.Now().Add(pinLockWait)
	for told := false; ; told = true {
		err = unix.Flock(fd, how|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			break
		}
		if time.Now().After(deadline) {
			unix.Close(fd)
			return nil, fmt.Errorf("another bpfsh has been pinning or unpinning for %v (the lock on %s); try again later", pinLockWait, PinRoot)
		}
		if !told {
			fmt.Fprintf(notice, "waiting for another bpfsh to finish pinning\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "lock", Path: PinRoot, Err: err}
	}
	return func() { unix.Close(fd) }, nil
}

// A policy's directory holds its links, "meta" (the description of the
// policy in force) and, while a pin is under way, "pending" (the
// description of the policy being put in force). pending is written before
// anything changes and renamed over meta once everything has, so a pin cut
// short (SIGKILL, power loss) leaves pending behind, and ReadPin calls the
// policy incomplete. (bpffs refuses names with a dot: no "meta.new".)
const (
	metaPin    = "meta"
	pendingPin = "pending"
)

func writeMeta(path string, info *PinInfo) error {
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
	os.Remove(path)
	if err := m.Pin(path); err != nil {
		return fmt.Errorf("pin policy description: %w", err)
	}
	return nil
}

func readMeta(path string) (*PinInfo, error) {
	if err := checkTrusted(path, false); err != nil {
		return nil, err
	}
	m, err := ebpf.LoadPinnedMap(path, nil)
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
