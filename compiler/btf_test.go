package compiler

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// The kernel types the compiler's tests see come from a captured BTF blob,
// not the running kernel, so that they compile the same on any kernel and
// on none: testdata/vmlinux.btf.gz holds the types the tests' sources name
// (and all those reach), cut from this machine's kernel BTF by
//
//	go test ./compiler -update-btf
//
// Rerun it after a test starts naming a kernel type it does not hold.

var updateBTF = flag.Bool("update-btf", false, "capture "+testBTF+" from the running kernel's BTF")

const testBTF = "testdata/vmlinux.btf.gz"

func TestMain(m *testing.M) {
	flag.Parse()
	if *updateBTF {
		if err := captureBTF(testBTF); err != nil {
			fmt.Fprintln(os.Stderr, "update-btf:", err)
			os.Exit(1)
		}
	}
	file, err := unpackBTF(testBTF)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv.BTFFile = file
	code := m.Run()
	os.Remove(file)
	os.Exit(code)
}

// unpackBTF writes the blob out uncompressed, where Env.BTFFile can load it.
func unpackBTF(gz string) (string, error) {
	f, err := os.Open(gz)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("%s: %v", gz, err)
	}
	out, err := os.CreateTemp("", "bpfsh-test-*.btf")
	if err != nil {
		return "", err
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("%s: %v", gz, err)
	}
	return out.Name(), nil
}

// captureBTF writes the kernel's types the tests may look up: each word of
// the test sources as a type name (and as the names providers derive from
// a probe's: btf_trace_X, __bpf_trace_X, bpf_lsm_X, bpf_iter__X), and the
// enums whose constants the words name.
func captureBTF(gz string) error {
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return err
	}
	words, err := testWords()
	if err != nil {
		return err
	}
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		return err
	}
	for _, w := range words {
		for _, name := range []string{w, "btf_trace_" + w, "__bpf_trace_" + w, "bpf_lsm_" + w, "bpf_iter__" + w} {
			types, _ := kernel.AnyTypesByName(name)
			for _, t := range types {
				if _, err := b.Add(t); err != nil {
					return err
				}
			}
		}
	}
	isWord := map[string]bool{}
	for _, w := range words {
		isWord[w] = true
	}
	for t, err := range kernel.All() {
		if err != nil {
			return err
		}
		if e, ok := t.(*btf.Enum); ok && enumNamesAny(e, isWord) {
			if _, err := b.Add(e); err != nil {
				return err
			}
		}
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(gz, buf.Bytes(), 0o644)
}

func enumNamesAny(e *btf.Enum, names map[string]bool) bool {
	for _, v := range e.Values {
		if names[v.Name] {
			return true
		}
	}
	return false
}

// testWords lists the identifiers in the package's test sources, sorted.
func testWords() ([]string, error) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		return nil, err
	}
	ident := regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	seen := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, w := range ident.FindAll(src, -1) {
			seen[string(w)] = true
		}
	}
	words := make([]string, 0, len(seen))
	for w := range seen {
		words = append(words, w)
	}
	sort.Strings(words)
	return words, nil
}
