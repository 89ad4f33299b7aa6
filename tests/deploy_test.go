package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// makeInstall runs `make install` in the repository with the given
// variables.
func makeInstall(t *testing.T, vars ...string) {
	t.Helper()
	makePath := privtest.Tool(t, "make", "make")
	cmd := exec.Command(makePath, append([]string{"--no-print-directory", "install"}, vars...)...)
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install %s: %v\n%s", strings.Join(vars, " "), err, out)
	}
}

// TestInstall: make install DESTDIR=… lays out the binary, the man page,
// every example and the systemd unit under PREFIX, with the unit's paths
// filled in; systemd-analyze verify accepts the unit (which also checks
// that its commands exist and that its man page is found); make uninstall
// takes it all away but the policy directory.
func TestInstall(t *testing.T) {
	dest := t.TempDir()
	makeInstall(t, "DESTDIR="+dest)

	var files []string
	filepath.Walk(dest, func(path string, info os.FileInfo, err error) error {
		if err == nil && path != dest {
			rel, _ := filepath.Rel(dest, path)
			if info.IsDir() {
				rel += "/"
			}
			files = append(files, rel)
		}
		return nil
	})
	examples, _ := filepath.Glob(filepath.Join(repoRoot(), "examples", "*.bt"))
	if len(examples) == 0 {
		t.Fatal("no examples/*.bt in the repository")
	}
	want := []string{
		"etc/", "etc/bpfsh/",
		"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/bpfsh",
		"usr/local/lib/", "usr/local/lib/systemd/", "usr/local/lib/systemd/system/",
		"usr/local/lib/systemd/system/bpfsh-policy@.service",
		"usr/local/share/", "usr/local/share/bpfsh/", "usr/local/share/bpfsh/examples/",
		"usr/local/share/man/", "usr/local/share/man/man1/", "usr/local/share/man/man1/bpfsh.1",
	}
	for _, e := range examples {
		want = append(want, "usr/local/share/bpfsh/examples/"+filepath.Base(e))
		// An example that runs as ./NAME.bt in the repository does so installed too.
		src, _ := os.Stat(e)
		got, err := os.Stat(filepath.Join(dest, "usr/local/share/bpfsh/examples", filepath.Base(e)))
		if err == nil && got.Mode().Perm() != src.Mode().Perm()&0o755 {
			t.Errorf("installed %s has mode %v, the repository's %v", filepath.Base(e), got.Mode().Perm(), src.Mode().Perm())
		}
	}
	sort.Strings(want)
	sort.Strings(files)
	if strings.Join(files, "\n") != strings.Join(want, "\n") {
		t.Errorf("make install DESTDIR laid out\n  %s\nwant\n  %s", strings.Join(files, "\n  "), strings.Join(want, "\n  "))
	}

	bin := filepath.Join(dest, "usr/local/bin/bpfsh")
	if out, err := exec.Command(bin, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "bpfsh v") {
		t.Errorf("installed bpfsh --version: %q, %v", out, err)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil {
		t.Fatalf("installed bpfsh --help: %v", err)
	}
	man, err := os.ReadFile(filepath.Join(dest, "usr/local/share/man/man1/bpfsh.1"))
	if err != nil {
		t.Fatal(err)
	}
	// One source: every option --help lists is an item of the man page.
	for _, m := range regexp.MustCompile(`(?m)^    (-[-\w]+)`).FindAllStringSubmatch(string(help), -1) {
		opt := strings.ReplaceAll(m[1], "-", `\-`)
		if !strings.Contains(string(man), ".TP\n\\fB"+opt+`\fR`) {
			t.Errorf("option %s of --help is not in the installed man page", m[1])
		}
	}

	unit, err := os.ReadFile(filepath.Join(dest, "usr/local/lib/systemd/system/bpfsh-policy@.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Type=oneshot", "RemainAfterExit=yes",
		"ExecStart=/usr/local/bin/bpfsh -q --unsafe --pin %i /etc/bpfsh/%i.bt",
		"ExecStop=/usr/local/bin/bpfsh unpin %i",
		"Wants=network-pre.target", "Before=network-pre.target shutdown.target",
		"DefaultDependencies=no", "WantedBy=multi-user.target",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).Match(unit) {
			t.Errorf("installed unit lacks the line %q", line)
		}
	}
	if strings.Contains(string(unit), "@BINDIR@") || strings.Contains(string(unit), "@SYSCONFDIR@") {
		t.Errorf("installed unit still has a placeholder:\n%s", unit)
	}

	// systemd-analyze verify on an instance of the template, in the
	// installed tree (--root): it parses the unit and warns about anything
	// it does not understand, checks that every command is executable, and
	// runs man for Documentation=man:bpfsh(1), which finds the installed
	// page through MANPATH.
	analyze := privtest.Tool(t, "systemd-analyze", "systemd")
	cmd := exec.Command(analyze, "verify", "--root="+dest, "bpfsh-policy@web.service")
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dest, "usr/local/share/man"), "SYSTEMD_LOG_COLOR=0")
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify bpfsh-policy@web.service: %v\n%s", err, out)
	}

	uninstall := exec.Command(privtest.Tool(t, "make", "make"), "--no-print-directory", "uninstall", "DESTDIR="+dest)
	uninstall.Dir = repoRoot()
	if out, err := uninstall.CombinedOutput(); err != nil {
		t.Fatalf("make uninstall: %v\n%s", err, out)
	}
	var left []string
	filepath.Walk(dest, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, path)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("make uninstall left %v", left)
	}
	if _, err := os.Stat(filepath.Join(dest, "etc/bpfsh")); err != nil {
		t.Errorf("make uninstall removed the policy directory: %v", err)
	}
}

// TestPolicyUnit does what systemd does with bpfsh-policy@NAME (this
// machine's PID 1 need not be systemd): with the unit installed under a
// temporary PREFIX and SYSCONFDIR, it runs the unit's ExecStart, ExecReload
// and ExecStop with %i set to NAME, and checks that the policy is pinned,
// still pinned after a reload, and gone after the stop.
func TestPolicyUnit(t *testing.T) {
	privtest.Require(t)
	root := t.TempDir()
	makeInstall(t, "PREFIX="+root+"/usr", "SYSCONFDIR="+root+"/etc")
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/bpfsh-policy@.service"))
	if err != nil {
		t.Fatal(err)
	}
	// A TCP policy nothing else here uses: SYNs to port 9 (discard)
	// retransmit after 3 s.
	name := "bpfsh-unit-test"
	script := "sockops /op == TIMEOUT_INIT && rport == 9/ { reply = 3s; }\n"
	if err := os.WriteFile(filepath.Join(root, "etc/bpfsh", name+".bt"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "usr/bin/bpfsh")
	t.Cleanup(func() { exec.Command(bin, "unpin", name).Run() })

	exec1 := func(key string) {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindSubmatch(unit)
		if m == nil {
			t.Fatalf("unit has no %s", key)
		}
		argv := strings.Fields(strings.ReplaceAll(string(m[1]), "%i", name))
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", key, argv, err, out)
		}
	}
	pinned := func() string {
		t.Helper()
		out, err := exec.Command(bin, "pins").CombinedOutput()
		if err != nil {
			t.Fatalf("bpfsh pins: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == name {
				return line
			}
		}
		return ""
	}

	exec1("ExecStart")
	if line := pinned(); !strings.Contains(line, "sockops") {
		t.Fatalf("after ExecStart, bpfsh pins shows %q for %s, want its sockops attach point", line, name)
	}
	exec1("ExecReload")
	if pinned() == "" {
		t.Fatalf("after ExecReload, %s is not pinned", name)
	}
	exec1("ExecStop")
	if line := pinned(); line != "" {
		t.Fatalf("after ExecStop, bpfsh pins still shows %q", line)
	}
}
