package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/cmd/bpfsh/help"
)

// TestHelpListsEveryOption: every option parseArgs accepts is in the help
// text (and so in the man page, which is rendered from it).
func TestHelpListsEveryOption(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), "func parseArgs(")
	if i < 0 {
		t.Fatal("no parseArgs in main.go")
	}
	cases := regexp.MustCompile(`(?m)^\s*case ("-[^:]*):`).FindAllStringSubmatch(string(src[i:]), -1)
	opt := regexp.MustCompile(`"(-[^"]+)"`)
	n := 0
	for _, c := range cases {
		for _, o := range opt.FindAllStringSubmatch(c[1], -1) {
			n++
			if !regexp.MustCompile(`(^|[\s,(\[])` + regexp.QuoteMeta(o[1]) + `($|[\s,)\]])`).MatchString(help.Text) {
				t.Errorf("option %s is accepted but not in the help text (cmd/bpfsh/help/help.txt)", o[1])
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d options in parseArgs, want at least 20: has its switch changed shape?", n)
	}
}

func TestHelpOutput(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out, errb bytes.Buffer
		if code := mainErr([]string{arg}, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("bpfsh %s: exit %d, stderr %q", arg, code, errb.String())
		}
		if out.String() != help.Text {
			t.Errorf("bpfsh %s does not print help.Text:\n%s", arg, out.String())
		}
	}
}
