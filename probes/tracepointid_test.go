package probes

import (
	"os"
	"path/filepath"
	"testing"
)

// A tracepoint's ID comes from the format the script was compiled with
// (its ID line), not from a second read of tracefs; one whose format was
// not read is looked up in its id file.
func TestTracepointIDFromFormat(t *testing.T) {
	root := t.TempDir()
	write := func(name, file, text string) {
		dir := filepath.Join(root, "events", "cat", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	format := "name: tp\nID: 1234\nformat:\n\tfield:int x;\toffset:8;\tsize:4;\tsigned:1;\n"
	write("read", "format", format)
	write("read", "id", "99\n") // not read: the format's ID wins
	write("unread", "id", "77\n")
	env := &Env{TracefsRoot: root}
	read := Point{Provider: "tracepoint", Target: []string{"cat", "read"}}
	if _, err := tracepointContext(env, read); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want uint64
	}{{"read", 1234}, {"unread", 77}} {
		id, err := tracepointID(env, Point{Provider: "tracepoint", Target: []string{"cat", tt.name}})
		if err != nil || id != tt.want {
			t.Errorf("tracepointID(cat:%s) = %d, %v; want %d", tt.name, id, err, tt.want)
		}
	}
}
