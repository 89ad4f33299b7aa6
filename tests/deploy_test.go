package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
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

// TestKubernetesManifests checks deploy/kubernetes offline, with kubectl and
// no cluster (client dry runs need one, for discovery and the schema):
//   - `kubectl kustomize` builds the kustomization into its three objects;
//   - kubectl decodes the DaemonSet into the Kubernetes API types (`kubectl
//     set env --local`), and every field of the manifest survives that, so
//     no field is misspelt, misplaced or of the wrong type;
//   - the DaemonSet is the one the README describes: hostPID, `--metrics
//     :9435` on a script of the ConfigMap, CAP_BPF, CAP_PERFMON and
//     CAP_NET_ADMIN without CAP_SYS_ADMIN or privileged mode, the host's
//     bpffs, tracefs, BTF and cgroup file system, the node name from the
//     downward API, Prometheus's scrape annotations on the metrics port;
//   - the ConfigMap's scripts compile (as root, against this kernel).
//
// TestContainerImage runs the image with the DaemonSet's capabilities.
func TestKubernetesManifests(t *testing.T) {
	kubectl := privtest.Tool(t, "kubectl", "kubernetes-client")
	dir := filepath.Join(repoRoot(), "deploy", "kubernetes")
	// An empty configuration: no cluster, and nothing of the user's read
	// or written (HOME holds kubectl's cache).
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "config")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(kubectl, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+home)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}

	all := filepath.Join(home, "all.yaml")
	if err := os.WriteFile(all, run("kustomize", dir), 0o644); err != nil {
		t.Fatal(err)
	}
	// label --local reads each object as it is written (unstructured).
	objs := map[string]map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(run("label", "--local", "-f", all, "-o", "json", "bpfsh-check=1")))
	for {
		var o map[string]any
		if err := dec.Decode(&o); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("kubectl label -o json: %v", err)
		}
		delete(o["metadata"].(map[string]any)["labels"].(map[string]any), "bpfsh-check")
		objs[fmt.Sprintf("%s/%s", o["kind"], get(o, "metadata", "name"))] = o
	}
	var kinds []string
	for k := range objs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if want := []string{"ConfigMap/bpfsh-scripts", "DaemonSet/bpfsh", "Namespace/bpfsh"}; !slices.Equal(kinds, want) {
		t.Fatalf("kustomize built %v, want %v", kinds, want)
	}
	ds, cm := objs["DaemonSet/bpfsh"], objs["ConfigMap/bpfsh-scripts"]

	// Typed: fields the API types lack are dropped, wrong types refused.
	var typed map[string]any
	if err := json.Unmarshal(run("set", "env", "--local", "-f", filepath.Join(dir, "daemonset.yaml"), "-o", "json", "BPFSH_CHECK=1"), &typed); err != nil {
		t.Fatal(err)
	}
	for _, p := range missing(ds, typed, "") {
		t.Errorf("daemonset.yaml: %s is not a field of a DaemonSet (or has the wrong type)", p)
	}

	spec := get(ds, "spec", "template", "spec").(map[string]any)
	if spec["hostPID"] != true {
		t.Error("the DaemonSet's pods do not share the host's pid namespace (hostPID)")
	}
	ctrs := spec["containers"].([]any)
	if len(ctrs) != 1 {
		t.Fatalf("want one container, have %d", len(ctrs))
	}
	c := ctrs[0].(map[string]any)
	env := map[string]map[string]any{}
	for _, e := range c["env"].([]any) {
		e := e.(map[string]any)
		env[e["name"].(string)] = e
	}
	args := strings.Join(strs(c["args"]), " ")
	if !strings.Contains(args, "--metrics :9435 /scripts/$(SCRIPT)") {
		t.Errorf("container args %q do not run bpfsh --metrics :9435 /scripts/$(SCRIPT)", args)
	}
	script, _ := env["SCRIPT"]["value"].(string)
	if _, ok := get(cm, "data", script).(string); !ok {
		t.Errorf("SCRIPT=%q is not a script of the ConfigMap", script)
	}
	if get(env["NODE_NAME"], "valueFrom", "fieldRef", "fieldPath") != "spec.nodeName" {
		t.Error("NODE_NAME does not come from the downward API's spec.nodeName")
	}
	if v, _ := env["BPFSH_METRICS_LABELS"]["value"].(string); !strings.Contains(v, "node=$(NODE_NAME)") {
		t.Errorf("BPFSH_METRICS_LABELS=%q does not label series with the node", v)
	}
	sc := c["securityContext"].(map[string]any)
	caps := strs(get(sc, "capabilities", "add"))
	sort.Strings(caps)
	if !slices.Equal(caps, []string{"BPF", "NET_ADMIN", "PERFMON"}) || !slices.Equal(strs(get(sc, "capabilities", "drop")), []string{"ALL"}) {
		t.Errorf("capabilities: add %v, drop %v; want add BPF, PERFMON, NET_ADMIN, drop ALL", caps, get(sc, "capabilities", "drop"))
	}
	if sc["privileged"] == true {
		t.Error("the container is privileged")
	}
	mounts := map[string]string{}
	for _, m := range c["volumeMounts"].([]any) {
		m := m.(map[string]any)
		mounts[m["name"].(string)] = m["mountPath"].(string)
	}
	hostPaths := map[string]bool{}
	for _, v := range spec["volumes"].([]any) {
		v := v.(map[string]any)
		if p, ok := get(v, "hostPath", "path").(string); ok {
			if mounts[v["name"].(string)] != p {
				t.Errorf("host path %s is mounted at %q, not at the same path", p, mounts[v["name"].(string)])
			}
			hostPaths[p] = true
		}
		if get(v, "configMap", "name") == "bpfsh-scripts" && mounts[v["name"].(string)] != "/scripts" {
			t.Errorf("the scripts are mounted at %q, not /scripts", mounts[v["name"].(string)])
		}
	}
	for _, p := range []string{"/sys/fs/bpf", "/sys/kernel/tracing", "/sys/kernel/btf", "/sys/fs/cgroup"} {
		if !hostPaths[p] {
			t.Errorf("the host's %s is not mounted", p)
		}
	}
	ann := get(ds, "spec", "template", "metadata", "annotations").(map[string]any)
	port := fmt.Sprint(get(c["ports"].([]any)[0].(map[string]any), "containerPort"))
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || port != "9435" {
		t.Errorf("scrape annotations %v, container port %s; want scrape \"true\" on port 9435", ann, port)
	}

	t.Run("scripts compile", func(t *testing.T) {
		privtest.Require(t)
		bpfsh, _ := binaries(t)
		for name, src := range get(cm, "data").(map[string]any) {
			out, err := exec.Command(bpfsh, "-d", "none", "-e", src.(string)).CombinedOutput()
			if err != nil {
				t.Errorf("ConfigMap script %s does not compile: %v\n%s", name, err, out)
			}
		}
	})
}

// get follows keys through nested JSON objects; nil when one is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func strs(v any) []string {
	var s []string
	l, _ := v.([]any)
	for _, x := range l {
		s = append(s, fmt.Sprint(x))
	}
	return s
}

// missing lists the paths of want's leaves that got lacks or holds with
// another value. Lists are compared element by element; got may have more
// (the typed DaemonSet has the added variable).
func missing(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		var out []string
		for k, v := range w {
			out = append(out, missing(v, g[k], path+"."+k)...)
		}
		return out
	case []any:
		g, _ := got.([]any)
		var out []string
		for i, v := range w {
			var gi any
			if i < len(g) {
				gi = g[i]
			}
			out = append(out, missing(v, gi, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{path}
		}
		return nil
	}
}
