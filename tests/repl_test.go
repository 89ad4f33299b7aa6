package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/internal/pty"
)

// The REPL is driven through a pseudo-terminal, as a person would: keys in,
// the screen's text (escape sequences removed) out.

// term is bpfsh running on the slave side of a pty.
type term struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // from Wait, once done is closed

	mu   sync.Mutex
	vt   vt
	mark int // expect looks at the screen from this line on
}

// startREPL starts bpfsh's REPL on a terminal, with HOME at home, and
// waits for its prompt.
func startREPL(t *testing.T, bin, home string) *term {
	t.Helper()
	tm := startTerm(t, bin, []string{"HOME=" + home})
	tm.expect(prompt)
	return tm
}

func startTerm(t *testing.T, bin string, env []string, args ...string) *term {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	// A session of its own with the pty as controlling terminal: Ctrl-C
	// typed into the pty becomes SIGINT for bpfsh, as in a real terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	tm := &term{t: t, master: m, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.vt.write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		tm.err = cmd.Wait()
		close(tm.done)
	}()
	t.Cleanup(func() {
		select {
		case <-tm.done:
		default:
			cmd.Process.Kill()
			<-tm.done
		}
		m.Close()
	})
	return tm
}

// vt is just enough of a terminal for readline's output: text, CR, LF,
// backspace, cursor moves and erasing. Lines never scroll away.
type vt struct {
	lines   [][]rune
	row     int
	col     int
	pending []byte // an incomplete escape sequence or UTF-8 character
}

var csi = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

func (v *vt) write(b []byte) {
	b = append(v.pending, b...)
	v.pending = nil
	for len(b) > 0 {
		switch c := b[0]; {
		case c == 0x1b:
			m := csi.FindSubmatch(b)
			if m == nil {
				if len(b) < 16 && !bytes.ContainsAny(b[1:], "\x1b") {
					v.pending = append([]byte(nil), b...)
					return
				}
				b = b[1:]
				continue
			}
			v.escape(string(m[1]), m[2][0])
			b = b[len(m[0]):]
		case c == '\r':
			v.col = 0
			b = b[1:]
		case c == '\n':
			v.row++
			b = b[1:]
		case c == '\b':
			if v.col > 0 {
				v.col--
			}
			b = b[1:]
		case c < 0x20:
			b = b[1:]
		default:
			r, n := utf8.DecodeRune(b)
			if r == utf8.RuneError && !utf8.FullRune(b) {
				v.pending = append([]byte(nil), b...)
				return
			}
			v.put(r)
			b = b[n:]
		}
	}
}

func (v *vt) line() []rune {
	for len(v.lines) <= v.row {
		v.lines = append(v.lines, nil)
	}
	return v.lines[v.row]
}

func (v *vt) put(r rune) {
	if v.col >= 200 {
		v.row++
		v.col = 0
	}
	l := v.line()
	for len(l) <= v.col {
		l = append(l, ' ')
	}
	l[v.col] = r
	v.lines[v.row] = l
	v.col++
}

func (v *vt) escape(arg string, cmd byte) {
	n, err := strconv.Atoi(arg)
	if err != nil || n == 0 {
		n = 1
	}
	switch cmd {
	case 'A':
		v.row = max(0, v.row-n)
	case 'B':
		v.row += n
	case 'C':
		v.col += n
	case 'D':
		v.col = max(0, v.col-n)
	case 'G':
		v.col = n - 1
	case 'K':
		l := v.line()
		switch arg {
		case "2":
			v.lines[v.row] = nil
		case "1":
			for i := 0; i <= v.col && i < len(l); i++ {
				l[i] = ' '
			}
		default:
			if v.col < len(l) {
				v.lines[v.row] = l[:v.col]
			}
		}
	case 'J':
		if l := v.line(); v.col < len(l) {
			v.lines[v.row] = l[:v.col]
		}
		if v.row+1 < len(v.lines) {
			v.lines = v.lines[:v.row+1]
		}
	}
}

// text renders the lines from row on, trailing blanks removed.
func (v *vt) text(from int) string {
	var out []string
	for i := from; i < len(v.lines); i++ {
		out = append(out, strings.TrimRight(string(v.lines[i]), " "))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// screen is everything on the terminal so far.
func (tm *term) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.vt.text(0)
}

// since is the text from the line the cursor was on at the last send.
func (tm *term) since() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.vt.text(tm.mark)
}

func (tm *term) send(keys string) {
	tm.t.Helper()
	tm.mu.Lock()
	tm.mark = tm.vt.row
	tm.mu.Unlock()
	if _, err := tm.master.Write([]byte(keys)); err != nil {
		tm.t.Fatalf("write to pty: %v", err)
	}
}

// expect waits until the text since the last send matches re, and returns
// the submatches.
func (tm *term) expect(re string) []string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		since := tm.since()
		if m := rx.FindStringSubmatch(since); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("no %q on the screen after 10 s; since the last keys:\n%s", re, since)
		}
		select {
		case <-tm.done:
			time.Sleep(50 * time.Millisecond) // the last output
			if m := rx.FindStringSubmatch(tm.since()); m != nil {
				return m
			}
			tm.t.Fatalf("bpfsh exited (%v) before %q appeared; since the last keys:\n%s", tm.err, re, tm.since())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// prompt matches the prompt waiting for input, alone on the last line.
const prompt = `(?:^|\n)bpfsh>$`

// exited waits for bpfsh to end, as what was sent (after) should make it,
// and with status 0.
func (tm *term) exited(after string) {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(10 * time.Second):
		tm.t.Fatalf("bpfsh did not exit after %s:\n%s", after, tm.screen())
	}
	if tm.err != nil {
		tm.t.Errorf("bpfsh exited with %v after %s", tm.err, after)
	}
}

// line types a line and waits for the next prompt.
func (tm *term) line(text string) string {
	tm.t.Helper()
	tm.send(text + "\r")
	return tm.expect(`(?s)^.*\n(?:bpfsh|\.\.\.)>$`)[0]
}

// value evaluates a map at the prompt and returns its integer value.
func (tm *term) value(name string) int {
	tm.t.Helper()
	tm.send(name + "\r")
	m := tm.expect(regexp.QuoteMeta(name) + `: (\d+)\n`)
	tm.expect(prompt)
	n, _ := strconv.Atoi(m[1])
	return n
}

// heldObjects lists the BPF programs, maps and links process pid holds
// ("prog 12", "map 7", "link 3"), from its file descriptors' fdinfo: exactly
// the objects it owns, whatever else runs on the machine.
func heldObjects(t *testing.T, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fdinfo: %v", err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			if !ok {
				continue
			}
			switch k {
			case "prog_id", "map_id", "link_id":
				out = append(out, strings.TrimSuffix(k, "_id")+" "+v)
			}
		}
	}
	return out
}

// alive reports whether a kernel object ("prog 12") still exists.
func alive(obj string) bool {
	kind, id, _ := strings.Cut(obj, " ")
	return exec.Command("bpftool", kind, "show", "id", id).Run() == nil
}

func TestREPL(t *testing.T) {
	bin, shared := privBinaries(t)
	// trig under a name of its own: other runs on this machine may call
	// getppid from a "trig" at the same time.
	trig := filepath.Join(t.TempDir(), "trigrepl")
	exe, err := os.ReadFile(shared)
	if err == nil {
		err = os.WriteFile(trig, exe, 0o755)
	}
	if err != nil {
		t.Fatalf("copy trig: %v", err)
	}
	privtest.Tool(t, "bpftool", "bpftool") // inspects kernel objects
	home := t.TempDir()
	tm := startREPL(t, bin, home)

	// Two probes, one after the other; both run.
	tm.send("i:ms:100 { @a = count(); }\r")
	tm.expect(`\[1\] attached i:ms:100\n`)
	tm.send(`t:syscalls:sys_enter_getppid /comm == "trigrepl"/ {` + "\r")
	tm.expect(`\.\.\.>$`)
	tm.send("@b = count(); }\r")
	tm.expect(`\[2\] attached t:syscalls:sys_enter_getppid\n`)
	if out, err := exec.Command(trig, "getppid", "50").CombinedOutput(); err != nil {
		t.Fatalf("trig: %v\n%s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	if n := tm.value("@b"); n != 50 {
		t.Errorf("@b = %d after 50 getppid calls, want 50", n)
	}
	if n := tm.value("@a"); n == 0 {
		t.Errorf("@a = 0: the interval probe did not fire")
	}
	progs := 0
	for _, o := range heldObjects(t, tm.cmd.Process.Pid) {
		if strings.HasPrefix(o, "prog ") {
			progs++
		}
	}
	if progs < 2 {
		t.Errorf("bpfsh holds %d programs while two probes run, want at least 2", progs)
	}

	// :detach 1 stops the interval only.
	tm.send(":detach 1\r")
	tm.expect(`\[1\] detached\n`)
	a1 := tm.value("@a")
	time.Sleep(400 * time.Millisecond)
	if a2 := tm.value("@a"); a2 != a1 {
		t.Errorf("@a went from %d to %d after :detach 1", a1, a2)
	}
	exec.Command(trig, "getppid", "7").Run()
	time.Sleep(200 * time.Millisecond)
	if n := tm.value("@b"); n != 57 {
		t.Errorf("@b = %d after 57 getppid calls, want 57 (probe 2 must keep running)", n)
	}
	tm.send(":probes\r")
	tm.expect(`(?s)1 +detached +1 .*i:ms:100\n.*2 +attached +1 .*t:syscalls:sys_enter_getppid`)

	// A typo: a positioned error, and the session goes on.
	tm.send("i:ms:100 { @c = cont(); }\r")
	m := tm.expect(`stdin:1:(\d+): error: ([^\n]*)\n(i:ms:100 \{ @c = cont\(\); \}\n *\^~*)\n`)
	if m[1] != "17" {
		t.Errorf("the error is at column %s, want 17 (cont):\n%s", m[1], m[0])
	}
	tm.expect(prompt)
	tm.send("pid\r")
	tm.expect(`\n\d+\n`)
	tm.send(`printf("sum %d\n", 40 + 2)` + "\r")
	tm.expect(`sum 42\n`)

	// Completion.
	tm.send("t:sysc\t")
	tm.expect(`t:syscalls:`)
	tm.send("\x03") // Ctrl-C abandons the line
	tm.expect(prompt)
	tm.send(`BEGIN { printf("%s\n", curtask->com` + "\t")
	// Two fields start so: readline lists them under the line.
	tm.expect(`curtask->com\n(?:.*\s)?comm\s`)
	tm.send("m); }\r")
	tm.expect(`\n(bpfsh|bpfsh_[^\n]*)\n`) // bpfsh's own comm: BEGIN runs in it
	tm.expect(prompt)

	// Ctrl-C stops a wait and returns to the prompt.
	tm.send(":wait\r")
	tm.expect(`waiting`)
	time.Sleep(200 * time.Millisecond)
	tm.send("\x03")
	tm.expect(prompt)
	if n := tm.value("@b"); n != 57 {
		t.Errorf("@b = %d after Ctrl-C, want 57", n)
	}

	// :save writes a script bpfsh can run.
	saved := filepath.Join(home, "session.bt")
	tm.send(":save " + saved + "\r")
	tm.expect(`saved to`)
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"// i:ms:100 { @a = count(); }", `t:syscalls:sys_enter_getppid /comm == "trigrepl"/ {` + "\n@b = count(); }"} {
		if !strings.Contains(string(b), want) {
			t.Errorf(":save wrote\n%s\nwithout %q", b, want)
		}
	}
	if out, err := exec.Command(bin, "--dry-run", saved).CombinedOutput(); err != nil {
		t.Errorf("bpfsh --dry-run on the saved session: %v\n%s", err, out)
	}

	// Ctrl-D: maps printed as a script prints them, exit 0, nothing left behind.
	held := heldObjects(t, tm.cmd.Process.Pid)
	tm.send("\x04")
	tm.exited("Ctrl-D")
	tm.expect(`\n\n@a: \d+\n@b: 57$`)
	if len(held) == 0 {
		t.Error("bpfsh held no BPF objects before Ctrl-D")
	}
	// The kernel frees maps a moment after their last user goes.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var left []string
		for _, o := range held {
			if alive(o) {
				left = append(left, o)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("still alive 5 s after the REPL exited: %v", left)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(home, ".bpfsh_history")); err != nil {
		t.Errorf("no history file: %v", err)
	}
}

// TestREPLSession checks what a session keeps across blocks: map types,
// END at exit, exit() ending the session, statements and :reset.
func TestREPLSession(t *testing.T) {
	bin, _ := privBinaries(t)
	tm := startREPL(t, bin, t.TempDir())

	tm.line("@x = 5")
	tm.send(":probes\r")
	tm.expect(`1 +ran +1 +@x = 5\n`)
	if n := tm.value("@x"); n != 5 {
		t.Errorf("@x = %d, want 5", n)
	}
	tm.send(`BEGIN { @x = "text"; }` + "\r")
	tm.expect(`error`)
	tm.expect(prompt)
	tm.send("END { printf(\"bye %d\\n\", @x); }\r")
	tm.expect(`\[2\] END: runs at exit\n`)
	tm.send(":maps\r")
	tm.expect(`@x: int64\n`)

	// Output from probes lands above the line being edited, which stays whole.
	tm.send(`i:ms:100 { printf("tick\n"); }` + "\r")
	tm.expect(`\[3\] attached i:ms:100\n`)
	tm.send("1 + ")
	time.Sleep(350 * time.Millisecond)
	tm.expect(`tick\ntick\n(?:tick\n)*bpfsh> 1 \+$`)
	tm.send("41\r")
	tm.expect(`\n42\n`)
	tm.send(":detach 3\r")
	tm.expect(`\[3\] detached\n`)

	tm.send("i:ms:50 { @n = count(); if (@n == 3) { exit(); } }\r")
	tm.exited("exit()")
	tm.expect(`bye 5\n\n\n@n: 3\n@x: 5$`)
}

// TestStdinScript: with a pipe on stdin and no program, bpfsh runs stdin as
// a script, as `bpfsh -` does.
func TestStdinScript(t *testing.T) {
	bin, _ := privBinaries(t)
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(`BEGIN { printf("hi\n"); exit(); }`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bpfsh < script: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "hi\n") {
		t.Errorf("bpfsh < script printed\n%s\nwant hi", out)
	}
}

// TestREPLHistoryFile: the history is created 0600 and never written
// through a symlink planted in HOME (root's lines would land in a file of
// the planter's choosing); the REPL says why it keeps no history.
func TestREPLHistoryFile(t *testing.T) {
	bin, _ := privBinaries(t)
	home := t.TempDir()
	tm := startREPL(t, bin, home)
	tm.line("1 + 1")
	tm.send("\x04")
	tm.exited("Ctrl-D")
	fi, err := os.Stat(filepath.Join(home, ".bpfsh_history"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file: %v, mode %v; want 0600", err, fi)
	}

	home = t.TempDir()
	target := filepath.Join(t.TempDir(), "planted")
	os.WriteFile(target, nil, 0o666)
	os.Symlink(target, filepath.Join(home, ".bpfsh_history"))
	tm = startTerm(t, bin, []string{"HOME=" + home})
	tm.expect(`is a symbolic link: history not kept`)
	tm.expect(prompt)
	tm.line("2 + 2")
	tm.send("\x04")
	tm.exited("Ctrl-D")
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Errorf("the REPL wrote through a planted symlink: %q", b)
	}
}
