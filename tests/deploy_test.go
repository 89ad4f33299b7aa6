package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestContainerImage builds the image of the repository's Containerfile
// (the static binary alone) with podman, offline, and runs it twice in the
// host's pid namespace: privileged, as the README shows, and with only the
// capabilities, seccomp setting and host mounts that the Kubernetes
// DaemonSet (deploy/kubernetes/daemonset.yaml) gives it. Each time bpfsh in
// the container must see a getppid(2) that a process on the host makes, and
// report that process's host pid.
func TestContainerImage(t *testing.T) {
	privtest.Require(t)
	podman := privtest.Tool(t, "podman", "podman")
	privtest.Tool(t, "runc", "runc")
	bpfsh, trig := binaries(t)

	// The build context holds the binary and nothing else, as
	// .containerignore makes it for `make image`.
	buildDir := t.TempDir()
	copyFile(t, bpfsh, filepath.Join(buildDir, "bpfsh"), 0o755)
	tag := fmt.Sprintf("localhost/bpfsh-test:%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, podman, "--runtime", "runc", "build", "-q",
		"-f", filepath.Join(repoRoot(), "Containerfile"), "-t", tag, buildDir).CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })

	// Nothing but the binary: one layer, no bigger than the binary and
	// its tar header.
	out, err := exec.Command(podman, "image", "inspect", "--format", "{{len .RootFS.Layers}} {{.Size}}", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var layers, size int64
	fmt.Sscan(string(out), &layers, &size)
	st, _ := os.Stat(bpfsh)
	if layers != 1 || size > st.Size()+64<<10 {
		t.Errorf("image has %d layers of %d bytes; want 1 layer of about the binary's %d bytes", layers, size, st.Size())
	}

	// The trigger under a name of its own, for the script's comm filter.
	trigDir := t.TempDir()
	ctrig := filepath.Join(trigDir, "bpfsh-ctr-trig")
	copyFile(t, trig, ctrig, 0o755)

	t.Run("privileged", func(t *testing.T) {
		// tracefs is left to bpfsh to mount, as it does when it is missing.
		containerEvent(t, podman, tag, ctrig, "--privileged", "-v", "/sys/fs/bpf:/sys/fs/bpf")
	})
	t.Run("daemonset-capabilities", func(t *testing.T) {
		manifest, err := os.ReadFile(filepath.Join(repoRoot(), "deploy/kubernetes/daemonset.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s+add: \[([^\]]*)\]`).FindSubmatch(manifest)
		if m == nil {
			t.Fatal("daemonset.yaml has no capabilities.add: [...] list")
		}
		var caps []string
		for _, c := range strings.Split(string(m[1]), ",") {
			caps = append(caps, "CAP_"+strings.TrimSpace(c))
		}
		// The DaemonSet mounts the host's tracefs rather than give bpfsh
		// CAP_SYS_ADMIN to mount it: so must this run.
		ents, _ := os.ReadDir("/sys/kernel/tracing")
		privtest.Need(t, len(ents) > 0, "tracefs is not mounted at /sys/kernel/tracing (scripts/test-setup.sh mounts it)")
		containerEvent(t, podman, tag, ctrig,
			"--cap-drop=all", "--cap-add="+strings.Join(caps, ","),
			"--security-opt", "seccomp=unconfined", "--read-only", "--cgroupns=host",
			"-v", "/sys/fs/bpf:/sys/fs/bpf",
			"-v", "/sys/kernel/tracing:/sys/kernel/tracing",
			"-v", "/sys/kernel/btf:/sys/kernel/btf:ro",
			"-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro")
	})
}

// containerEvent runs the image with extra podman options and a script that
// prints the pid of the first getppid(2) by a process named as ctrig, then
// exits; it runs ctrig on the host until the container reports it.
func containerEvent(t *testing.T, podman, tag, ctrig string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := fmt.Sprintf("bpfsh-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	script := fmt.Sprintf(`t:syscalls:sys_enter_getppid /comm == "%s"/ { printf("seen %%d\n", pid); exit(); }`, filepath.Base(ctrig))
	args := []string{"--runtime", "runc", "run", "--rm", "--name", name, "--pid=host", "--network=host"}
	args = append(args, ulimits()...)
	args = append(args, extra...)
	args = append(args, tag, "-e", script)
	cmd := exec.CommandContext(ctx, podman, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", "-t", "0", name).Run() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	waitLine := func(prefix string, each func()) string {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					cmd.Wait()
					t.Fatalf("the container ended before printing %q: %v\nstderr:\n%s", prefix, cmd.ProcessState, stderr.String())
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-tick.C:
				if each != nil {
					each()
				}
			case <-ctx.Done():
				t.Fatalf("no %q from the container in time\nstderr:\n%s", prefix, stderr.String())
			}
		}
	}
	waitLine("Attached 1 probe", nil)
	// The host's pids of the triggers: the container must report one of them.
	pids := map[int]bool{}
	trigger := func() {
		c := exec.Command(ctrig, "getppid", "1")
		if err := c.Run(); err != nil {
			t.Fatalf("%s: %v", ctrig, err)
		}
		pids[c.Process.Pid] = true
	}
	trigger()
	seen := waitLine("seen ", trigger)
	pid, err := strconv.Atoi(strings.TrimPrefix(seen, "seen "))
	t.Logf("container printed %q (host triggers %v)", seen, pids)
	if err != nil || !pids[pid] {
		t.Errorf("container printed %q; the host's triggers were %v", seen, pids)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("container: %v\nstderr:\n%s", err, stderr.String())
	}
}

// ulimits are podman's --ulimit options for the open files and processes a
// container may have: without them podman asks runc for larger limits than
// a machine may allow (refused here, "error setting rlimits"); this keeps to
// the current limits, and to no more than a container of bpfsh needs.
func ulimits() []string {
	const rlimitNproc = 6 // RLIMIT_NPROC on Linux, which package syscall does not name
	var opts []string
	for _, l := range []struct {
		name     string
		resource int
		most     uint64
	}{{"nofile", syscall.RLIMIT_NOFILE, 10000}, {"nproc", rlimitNproc, 9000}} {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(l.resource, &r); err != nil {
			continue
		}
		n := min(r.Cur, l.most)
		opts = append(opts, "--ulimit", fmt.Sprintf("%s=%d:%d", l.name, n, n))
	}
	return opts
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
