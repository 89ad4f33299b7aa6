package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRun runs a corpus file of shell-only cases (no bpfsh needed) and checks
// the protocol lines the VM host counts: one @@CASE and one @@RESULT per case,
// named FILE.test:LINE, a failure's report on the console, exit status 1.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "x.test")
	proto := filepath.Join(dir, "proto")
	if err := os.WriteFile(corpus, []byte(`NAME echoes
RUN echo hello
EXPECT hello

NAME wrong output
RUN echo goodbye
EXPECT hello

NAME other machine
ARCH !le|!be
RUN echo never
EXPECT never
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(proto, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	if got := run([]string{"-bin", "/bin/true", "-dir", dir, "-proto", proto, corpus}, &console); got != 1 {
		t.Errorf("exit status %d, want 1 (one case failed)", got)
	}
	b, err := os.ReadFile(proto)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`@@CASE x\.test:1`,
		`@@RESULT PASS x\.test:1 [0-9.]+ `,
		`@@CASE x\.test:5`,
		`@@RESULT FAIL x\.test:5 [0-9.]+ wrong output: EXPECT hello`,
		`@@CASE x\.test:9`,
		`@@RESULT SKIP x\.test:9 [0-9.]+ other machine: ARCH !le\|!be`,
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("protocol lines:\n%s\nwant %d lines", b, len(want))
	}
	for i, w := range want {
		if !regexp.MustCompile("^" + w + "$").MatchString(lines[i]) {
			t.Errorf("protocol line %d: %q, want /%s/", i+1, lines[i], w)
		}
	}
	for _, w := range []string{"===== CORPUS FAIL x.test:5 wrong output\n", "goodbye", "===== corpus: 1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(console.String(), w) {
			t.Errorf("console lacks %q:\n%s", w, console.String())
		}
	}
}
