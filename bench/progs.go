package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

// perfEntry is one row of `bpftool perf list -j`: a perf event (here: a
// tracepoint) with a BPF program attached, found through a process's fds.
type perfEntry struct {
	Pid        int    `json:"pid"`
	FD         int    `json:"fd"`
	ProgID     int    `json:"prog_id"`
	FDType     string `json:"fd_type"`
	Tracepoint string `json:"tracepoint"`
}

// waitTracepoint polls `bpftool perf list -j` until pid has a program
// attached to tracepoint tp. The "Attaching N probes..." line is printed
// just before attaching, so this is the moment events start to count.
func waitTracepoint(pid int, tp string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		out, err := exec.Command("bpftool", "perf", "list", "-j").Output()
		if err == nil {
			var es []perfEntry
			if json.Unmarshal(out, &es) == nil {
				for _, e := range es {
					if e.Pid == pid && e.Tracepoint == tp {
						return nil
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bpftool perf list: pid %d has no program on %s after %v", pid, tp, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// foreignSyscallTracers counts BPF programs other processes have attached to
// syscall tracepoints (sys_enter_*, sys_exit_*, raw_syscalls). Any of them
// puts every syscall on the kernel's slow tracing path, which makes
// getppid() slower for reasons that are neither tool's doing.
func foreignSyscallTracers(own int) int {
	out, err := exec.Command("bpftool", "perf", "list", "-j").Output()
	if err != nil {
		return 0
	}
	var es []perfEntry
	if json.Unmarshal(out, &es) != nil {
		return 0
	}
	n := 0
	for _, e := range es {
		if e.Pid == own {
			continue
		}
		if strings.HasPrefix(e.Tracepoint, "sys_enter") || strings.HasPrefix(e.Tracepoint, "sys_exit") {
			n++
		}
	}
	return n
}

// waitQuiet waits (up to d) until no other process traces syscalls.
func waitQuiet(d time.Duration) bool {
	for deadline := time.Now().Add(d); ; {
		if foreignSyscallTracers(-1) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// progIDsOf lists the BPF programs a process holds, from /proc/PID/fdinfo:
// a bpf-prog fd's fdinfo has a "prog_id:" line. This finds every program
// of a tool (attached or not) without relying on program names.
func progIDsOf(pid int) []int {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, _ := os.ReadDir(dir)
	seen := map[int]bool{}
	var ids []int
	for _, e := range ents {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if link != "anon_inode:bpf-prog" {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
				if id, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		f.Close()
	}
	sort.Ints(ids)
	return ids
}

// progInfo is what the bench reports about one loaded program.
type progInfo struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	BytesXlated int    `json:"bytes_xlated"`
	BytesJited  int    `json:"bytes_jited"`
	JitedInsns  int    `json:"-"` // x86 instructions, from objdump; 0 if unknown
	Verified    int    `json:"-"` // instructions the verifier processed
	// Code is the translated instructions as the kernel runs them (map
	// references are addresses, so programs with maps never match another
	// tool's), for telling identical programs apart from similar ones.
	Code string `json:"-"`
}

func (p progInfo) xlatedInsns() int { return p.BytesXlated / 8 }

// inspectProgs describes each program with `bpftool prog show id N -j`;
// the jited image is fetched with BPF_OBJ_GET_INFO_BY_FD (bpftool here has
// no disassembler) and its x86 instructions counted with objdump.
func inspectProgs(ids []int) ([]progInfo, error) {
	var out []progInfo
	for _, id := range ids {
		js, err := exec.Command("bpftool", "prog", "show", "id", strconv.Itoa(id), "-j").Output()
		if err != nil {
			return nil, fmt.Errorf("bpftool prog show id %d: %v", id, err)
		}
		var pi progInfo
		if err := json.Unmarshal(js, &pi); err != nil {
			return nil, fmt.Errorf("bpftool prog show id %d: %v", id, err)
		}
		if prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
			if info, err := prog.Info(); err == nil {
				if n, ok := info.VerifiedInstructions(); ok {
					pi.Verified = int(n)
				}
				if img, ok := info.JitedInsns(); ok && len(img) > 0 {
					pi.JitedInsns = countX86(img)
				}
				if insns, err := info.Instructions(); err == nil {
					var code bytes.Buffer
					if insns.Marshal(&code, binary.LittleEndian) == nil {
						pi.Code = code.String()
					}
				}
			}
			prog.Close()
		}
		out = append(out, pi)
	}
	return out, nil
}

// countX86 counts the instructions in a raw x86-64 image with objdump.
func countX86(img []byte) int {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		return 0
	}
	f, err := os.CreateTemp("", "bench-jited-*.bin")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	f.Write(img)
	f.Close()
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-mi386:x86-64", "--insn-width=16", f.Name()).Output()
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range bytes.Split(out, []byte{'\n'}) {
		// "   1f:\t48 89 e5             \tmov    %rsp,%rbp"
		if f := bytes.Split(l, []byte{'\t'}); len(f) >= 3 && bytes.HasSuffix(bytes.TrimSpace(f[0]), []byte{':'}) {
			n++
		}
	}
	return n
}
