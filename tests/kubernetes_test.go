package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

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
