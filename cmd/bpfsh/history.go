package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// history keeps the REPL's lines in ~/.bpfsh_history. bpfsh writes it
// itself rather than through readline, which opens the path following
// symlinks, creates it 0644 and rewrites it through a second path: a
// symlink planted in a home directory another user can write (sudo keeps
// HOME) would get root's lines, and anyone could read them.
type history struct {
	f   *os.File
	err error // the first write error, reported once
}

// openHistory opens path (created 0600, never through a symlink) and
// returns its last limit lines. A file that is not a regular file owned by
// this user is refused; one others can read is made 0600.
func openHistory(path string, limit int) (*history, []string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, fmt.Errorf("%s is a symbolic link: history not kept", path)
	}
	if err != nil {
		return nil, nil, err
	}
	h := &history{f: f}
	lines, err := h.check(path, limit)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return h, lines, nil
}

func (h *history) check(path string, limit int) ([]string, error) {
	fi, err := h.f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file: history not kept", path)
	case !ok || int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("%s belongs to uid %d, not to this user: history not kept", path, st.Uid)
	case fi.Mode().Perm()&0o077 != 0:
		if err := h.f.Chmod(0o600); err != nil {
			return nil, err
		}
	}
	var lines []string
	sc := bufio.NewScanner(h.f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) <= limit {
		return lines, sc.Err()
	}
	// Rewritten in place (no second path to plant a link at).
	lines = lines[len(lines)-limit:]
	if err := h.f.Truncate(0); err != nil {
		return nil, err
	}
	_, err = io.WriteString(h.f, strings.Join(lines, "\n")+"\n")
	return lines, err
}

// add appends a line; the first failure is returned, later ones are not.
func (h *history) add(line string) error {
	line = strings.TrimSpace(line)
	if h == nil || line == "" || h.err != nil {
		return nil
	}
	if _, err := io.WriteString(h.f, line+"\n"); err != nil {
		h.err = err
		return fmt.Errorf("history not saved: %w", err)
	}
	return nil
}

func (h *history) close() {
	if h != nil {
		h.f.Close()
	}
}
