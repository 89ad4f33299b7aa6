package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

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
