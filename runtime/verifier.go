package runtime

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/lang"
)

// A verifier refusal that comes from what the script asks (a loop that
// never ends, too many maps in one probe, more work than the verifier
// follows) is the user's to fix, not a bpfsh bug: userRefusal says so at
// the place in the script the refused instruction came from, with what to
// change.

// refusal is one kind of refusal the verifier's log shows.
type refusal struct {
	re string // a regexp, compiled only when a program is refused (not at every start)
	// at picks the refused instruction (a raw offset) from the log's
	// match and the program; -1 for none.
	at   func(m []string, ve *ebpf.VerifierError, spec *ebpf.ProgramSpec) int
	msg  func(m []string) string
	hint string
}

var refusals = []refusal{
	{
		re: `infinite loop detected at insn (\d+)`,
		at: func(m []string, _ *ebpf.VerifierError, _ *ebpf.ProgramSpec) int { return atoi(m[1]) },
		msg: func([]string) string {
			return "this loop never ends: the kernel's verifier found it back at its start with nothing changed"
		},
		hint: "change what the loop's condition tests in its body ($i++), or leave it with break",
	},
	{
		re: `back-edge from insn (\d+) to`,
		at: func(m []string, _ *ebpf.VerifierError, _ *ebpf.ProgramSpec) int { return atoi(m[1]) },
		msg: func([]string) string {
			return "this kernel's verifier refuses loops (Linux 5.3 and later accept bounded ones)"
		},
		hint: "repeat the body a fixed number of times with unroll (N) { ... }",
	},
	{
		re: `BPF program is too large\. Processed (\d+) insn`,
		at: lastInsn,
		msg: func(m []string) string {
			return "the program is too complex for the kernel's verifier: it gave up after following " + m[1] + " instructions"
		},
		hint: "the verifier follows every iteration of a loop and every path through nested conditions: " +
			"bound loops to fewer iterations, or split the work across probes",
	},
	{
		re: `The sequence of (\d+) jumps is too complex`,
		at: lastInsn,
		msg: func([]string) string {
			return "the program is too complex for the kernel's verifier: too many branches to follow"
		},
		hint: "use fewer nested conditions or loop iterations in this probe",
	},
	{
		re: `total number of maps per program has reached the limit of (\d+)`,
		at: func(m []string, _ *ebpf.VerifierError, spec *ebpf.ProgramSpec) int { return nthMap(spec, atoi(m[1])+1) },
		msg: func(m []string) string {
			return "this probe uses more than " + m[1] + " maps, the most the kernel allows one program"
		},
		hint: "use fewer maps in one probe: one map keyed by a name or a tuple can hold what several hold",
	},
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// insnLine is an instruction of the verifier's log: "12: (bf) r1 = r6".
var insnLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+): \(`) })

// lastInsn is the last instruction the verifier's log shows: where it was
// when it gave up.
func lastInsn(_ []string, ve *ebpf.VerifierError, _ *ebpf.ProgramSpec) int {
	for i := len(ve.Log) - 1; i >= 0; i-- {
		if m := insnLine().FindStringSubmatch(ve.Log[i]); m != nil {
			return atoi(m[1])
		}
	}
	return -1
}

// nthMap is the raw offset of the instruction that refers to the n-th
// distinct map of spec; -1 if there are fewer.
func nthMap(spec *ebpf.ProgramSpec, n int) int {
	seen := map[string]bool{}
	iter := spec.Instructions.Iterate()
	for iter.Next() {
		if !iter.Ins.IsLoadFromMap() {
			continue
		}
		// By name, or once the loader bound it, by the map itself.
		ref := iter.Ins.Reference()
		if m := iter.Ins.Map(); ref == "" && m != nil {
			ref = fmt.Sprintf("%p", m)
		}
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		if len(seen) == n {
			return int(iter.Offset)
		}
	}
	return -1
}

// placed is an instruction's source that can say where in the script it
// is (the compiler's source lines).
type placed interface {
	Place() (file string, src []byte, off int)
}

// sourceAt is the source of the statement the instruction at raw offset
// off comes from: the nearest instruction at or before it that has one.
func sourceAt(spec *ebpf.ProgramSpec, off int) placed {
	if off < 0 {
		return nil
	}
	var last placed
	iter := spec.Instructions.Iterate()
	for iter.Next() && int(iter.Offset) <= off {
		if p, ok := iter.Ins.Source().(placed); ok {
			last = p
		}
	}
	return last
}

// userRefusal explains ve when it is one of refusals, positioned at the
// script's statement when the program has sources; nil otherwise.
func userRefusal(ve *ebpf.VerifierError, spec *ebpf.ProgramSpec) error {
	for _, r := range refusals {
		re := regexp.MustCompile(r.re)
		for _, line := range ve.Log {
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			var src placed
			if spec != nil {
				src = sourceAt(spec, r.at(m, ve, spec))
			}
			if src == nil {
				return fmt.Errorf("%s\nHINT: %s", r.msg(m), r.hint)
			}
			file, text, off := src.Place()
			d := &lang.Diags{File: file, Src: text}
			pos := lang.PosAt(text, off)
			d.Errorf(lang.Span{Start: pos, End: pos}, "%s", r.msg(m)).Hint("%s", r.hint)
			return d
		}
	}
	return nil
}

// fdExhausted adds to err, when it is running out of file descriptors,
// what a user can do about it: every map, program and attached probe
// holds one. Other errors pass unchanged.
func fdExhausted(err error) error {
	if !errors.Is(err, unix.EMFILE) && !errors.Is(err, unix.ENFILE) {
		return err
	}
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	return fmt.Errorf("%w\nout of file descriptors: each map, program and attached probe holds one, and bpfsh may have %d open (ulimit -n)\n"+
		"HINT: raise the limit (ulimit -n %d), or use fewer maps and probes", err, lim.Cur, max(4*lim.Cur, 65536))
}
