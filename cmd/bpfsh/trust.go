package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// scriptDoubts names who besides root could have changed the script root is
// about to run, as sshd's StrictModes judges a home directory: the file's
// owner, write access for its group or for everyone, and each directory
// above it (its path as given and as resolved) that someone else owns or
// that others can write without the sticky bit (in a sticky directory like
// /tmp they cannot replace root's file). Nil when only root could have.
func scriptDoubts(file string) []string {
	if os.Geteuid() != 0 {
		return nil // a user's bpfsh runs with that user's power only
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil
	}
	var doubts []string
	seen := map[string]bool{}
	check := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		if d := pathDoubt(p); d != "" {
			doubts = append(doubts, d)
		}
	}
	paths := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		paths = append(paths, real)
	}
	for _, p := range paths {
		check(p)
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			check(d)
			if d == "/" {
				break
			}
		}
	}
	return doubts
}

// pathDoubt says why someone other than root could change p ("" if no
// one). Lstat: a symlink on the way is judged by its owner (who may replace
// it), the path it leads to separately, as the resolved path.
func pathDoubt(p string) string {
	var st syscall.Stat_t
	if syscall.Lstat(p, &st) != nil {
		return ""
	}
	kind := map[uint32]string{syscall.S_IFDIR: "directory", syscall.S_IFLNK: "symlink"}[st.Mode&syscall.S_IFMT]
	if kind == "" {
		kind = "file"
	}
	sticky := kind == "directory" && st.Mode&syscall.S_ISVTX != 0
	switch {
	case st.Uid != 0:
		return fmt.Sprintf("%s %s is owned by %s", kind, p, userName(st.Uid))
	case kind == "symlink" || sticky:
		return "" // others may write a sticky directory, but not replace root's entries
	case st.Mode&0o002 != 0:
		return fmt.Sprintf("%s %s is writable by everyone", kind, p)
	case st.Mode&0o020 != 0 && st.Gid != 0:
		return fmt.Sprintf("%s %s is writable by group %s", kind, p, groupName(st.Gid))
	}
	return ""
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username + " (uid " + strconv.Itoa(int(uid)) + ")"
	}
	return "uid " + strconv.Itoa(int(uid))
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

// checkScriptTrust warns about a script others could have changed, and
// refuses it for --pin (a policy that outlives the run) unless
// --trust-script accepts it.
func checkScriptTrust(cfg *config, warn func(string)) error {
	doubts := scriptDoubts(cfg.file)
	if len(doubts) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s could have been changed by someone other than root: %s", cfg.file, strings.Join(doubts, "; "))
	if cfg.pinning && !cfg.trustScript {
		return fmt.Errorf("refusing to pin %s; check it, or pin it anyway with --trust-script", msg)
	}
	warn(msg)
	return nil
}

// createOutput creates -o's file. In a directory others can write (/tmp),
// a symlink there may have been planted to make root overwrite a file of
// the planter's choosing, so it is refused rather than followed.
func createOutput(path string) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(path), &st); err == nil && st.Mode&0o022 != 0 {
		flags |= syscall.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("-o %s: refusing to follow a symlink in %s, a directory others can write", path, filepath.Dir(path))
	}
	return f, err
}
