// Command vmcorpus runs bpfsh's runtime corpus (tests/runtime/*.test) with
// the same Runner as TestRuntime, inside the vmtest guest (tests/vm), where
// there is no Go toolchain to run `go test`. It is built static on the host
// and copied into the guest's initramfs with the corpus files, bpfsh and trig.
//
//	vmcorpus -bin /bin/bpfsh -trig /bin/trig -dir /tests [-proto FILE] FILE.test...
//
// For every case it writes the vmtest protocol's lines to -proto (the guest's
// fd 3, the host's protocol port): "@@CASE NAME" before and "@@RESULT
// PASS|FAIL|SKIP NAME SECS REASON" after, NAME being "FILE.test:LINE" (no
// blanks, unique) and REASON starting with the case's NAME. A failed case's
// report (command, output) goes to stdout, the guest console. The exit status
// is 1 when a case failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfsh/bpfsh/tests"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

// run is main with its arguments and console: it returns the exit status.
func run(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("vmcorpus", flag.ContinueOnError)
	bin := fs.String("bin", "/bin/bpfsh", "the bpfsh under test ({{BPFTRACE}})")
	trig := fs.String("trig", "/bin/trig", "the trigger program ({{TRIG}}); must be named trig")
	dir := fs.String("dir", "", "working directory of every command (the copy of tests/)")
	proto := fs.String("proto", "", "file to write @@CASE/@@RESULT lines to (default: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: vmcorpus [flags] FILE.test...")
		return 2
	}
	var pw io.Writer = io.Discard
	if *proto != "" {
		f, err := os.OpenFile(*proto, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmcorpus:", err)
			return 2
		}
		defer f.Close()
		pw = f
	}
	r := &tests.Runner{
		Binary: *bin,
		Dir:    *dir,
		Vars:   map[string]string{"TRIG": *trig},
		// The guest's own PATH, not the Runner's default (the binary's directory first): bpfsh
		// is in busybox's /bin, and the host's tools in /usr/bin (setpriv, getconf) must come
		// before busybox's applets of the same name, as the guest's PATH has them.
		Env: []string{"PATH=" + os.Getenv("PATH")},
		// Under TCG bpfsh reaches its attach line several times slower than on hardware
		// (BTF parsing, verification): a compile error must not be taken for a hang.
		AttachTimeout: 30 * time.Second,
	}
	var pass, fail, skip int
	for _, file := range fs.Args() {
		cases, err := tests.ParseFile(file)
		if err != nil {
			// A malformed file is a failure of the run, not of a kernel:
			// say so and go on with the cases that parsed.
			fmt.Fprintf(stdout, "vmcorpus: %v\n", err)
			fail++
		}
		base := filepath.Base(file)
		for _, c := range cases {
			name := fmt.Sprintf("%s:%d", base, c.Line)
			fmt.Fprintf(pw, "@@CASE %s\n", name)
			res := r.Run(context.Background(), c)
			verdict, reason := "PASS", ""
			switch res.Status {
			case tests.Pass:
				pass++
			case tests.Skip:
				skip++
				verdict, reason = "SKIP", c.Name+": "+res.Reason
			default:
				fail++
				verdict, reason = "FAIL", c.Name+": "+firstLine(res.Reason)
				fmt.Fprintf(stdout, "===== CORPUS FAIL %s %s\n%s", name, c.Name, res.Report(c))
			}
			fmt.Fprintf(pw, "@@RESULT %s %s %.1f %s\n", verdict, name, res.Elapsed.Seconds(), oneLine(reason))
		}
	}
	fmt.Fprintf(stdout, "===== corpus: %d passed, %d failed, %d skipped (%s)\n", pass, fail, skip, time.Now().Format(time.TimeOnly))
	if fail > 0 {
		return 1
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// oneLine keeps the protocol one line per message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
