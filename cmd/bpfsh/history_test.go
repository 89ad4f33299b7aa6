package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHistoryFile: the history is created 0600, never written through a
// symlink, made private when it was not, and trimmed to the limit in place.
func TestHistoryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".bpfsh_history")
	h, lines, err := openHistory(path, 3)
	if err != nil || len(lines) != 0 {
		t.Fatalf("new history: %v %q", err, lines)
	}
	for i := range 5 {
		h.add(fmt.Sprintf("line %d", i))
	}
	h.close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("history created %v, want 0600", fi.Mode().Perm())
	}
	os.Chmod(path, 0o644)
	h, lines, err = openHistory(path, 3)
	if err != nil || strings.Join(lines, ",") != "line 2,line 3,line 4" {
		t.Fatalf("reopened: %v %q, want the last 3 lines", err, lines)
	}
	h.close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("a 0644 history was left %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "line 2\nline 3\nline 4\n" {
		t.Errorf("trimmed file: %q", b)
	}

	target := filepath.Join(dir, "elsewhere")
	os.WriteFile(target, []byte("keep\n"), 0o644)
	link := filepath.Join(dir, "linked")
	os.Symlink(target, link)
	if _, _, err := openHistory(link, 3); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("history through a symlink: %v, want a refusal", err)
	}
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "created-by-follow"), dangling)
	if _, _, err := openHistory(dangling, 3); err == nil {
		t.Errorf("history through a dangling symlink was opened")
	}
	if _, err := os.Stat(filepath.Join(dir, "created-by-follow")); err == nil {
		t.Errorf("a dangling symlink's target was created")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("the symlink's target changed: %q", b)
	}
	if _, _, err := openHistory(dir, 3); err == nil {
		t.Errorf("a directory was taken as the history")
	}
}
