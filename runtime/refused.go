package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// refusedHelpers names the functions behind helpers that a kernel may
// refuse by configuration rather than because bpfsh used them wrongly.
var refusedHelpers = map[string]string{
	"bpf_probe_write_user": "write_user()",
}

// refusedHelper explains a verifier rejection that comes from the kernel
// refusing a helper (lockdown, a missing config option); "" otherwise.
func refusedHelper(ve *ebpf.VerifierError) string {
	for _, line := range ve.Log {
		for helper, fn := range refusedHelpers {
			if strings.Contains(line, "cannot use helper "+helper+"#") || strings.Contains(line, "unknown func "+helper+"#") {
				return fmt.Sprintf("%s: this kernel refuses the %s helper (kernel lockdown, or a configuration without it)", fn, helper)
			}
		}
	}
	return ""
}

// missingHelper explains a verifier rejection that comes from a kernel too
// old for a helper the program calls: which construct needs it and the
// first Linux version that has it, never the verifier's log. "" when the
// log is about something else.
func missingHelper(ve *ebpf.VerifierError, env *probes.Env) string {
	for _, line := range ve.Log {
		if fn, ok := unknownFunc(line); ok {
			return helperMessage(fn, env, "")
		}
	}
	return ""
}

// lackingHelper asks the kernel about each helper of probes.Helpers that the
// program calls, and explains the first it lacks ("" when it has them all).
func lackingHelper(spec *ebpf.ProgramSpec, env *probes.Env) string {
	if spec == nil {
		return ""
	}
	for _, ins := range spec.Instructions {
		if !ins.IsBuiltinCall() {
			continue
		}
		fn := asm.BuiltinFunc(ins.Constant)
		for _, h := range probes.Helpers {
			if h.Fn == fn && errors.Is(features.HaveProgramHelper(spec.Type, fn), ebpf.ErrNotSupported) {
				return helperMessage(fn, env, "")
			}
		}
	}
	return ""
}

// checkHelpers fails when a program calls a helper of probes.Helpers
// that this kernel lacks for its type: one line naming the construct, the
// helper and the first Linux version that has it, instead of a load that
// fails half-way.
func checkHelpers(progs []*compiler.Program, env *probes.Env) error {
	for _, p := range progs {
		if why := lackingHelper(p.Spec, env); why != "" {
			return errors.New(why)
		}
	}
	return nil
}

// lackingOr is checkHelpers' error for progs when there is one, else err:
// the error of a load that failed. A run asks only then: the kernel
// answers each helper with a program load of its own (a tenth of a
// millisecond or more at every start), and a load that succeeds had all
// it needed. What the failed load created is closed by its caller, so a
// run that lacks a helper still leaves nothing behind.
func lackingOr(progs []*compiler.Program, env *probes.Env, err error) error {
	if lack := checkHelpers(progs, env); lack != nil {
		return lack
	}
	return err
}

// helperMessage says which construct needs fn and since when: "for
// ($kv : @map) needs bpf_for_each_map_elem, Linux 5.13; this kernel is
// 5.10.0-46-amd64". construct, when not "", names the construct instead
// of probes.Helpers.
func helperMessage(fn asm.BuiltinFunc, env *probes.Env, construct string) string {
	name := "bpf_" + probes.HelperName(fn)
	if strings.HasPrefix(fn.String(), "BuiltinFunc(") {
		name = "helper #" + strconv.Itoa(int(fn))
	}
	kernel := "this kernel does not have it"
	if env != nil {
		kernel = "this kernel is " + env.KernelRelease()
	}
	for _, h := range probes.Helpers {
		if h.Fn == fn {
			needed := h.Needed
			if construct != "" {
				needed = construct
			}
			return fmt.Sprintf("%s needs %s, Linux %s; %s", needed, name, h.Since, kernel)
		}
	}
	return fmt.Sprintf("the program calls %s, which this kernel does not have", name)
}

// tooLong reports whether the verifier gave up walking the program (a
// loop it walks once per iteration) rather than finding it wrong.
func tooLong(ve *ebpf.VerifierError) bool {
	for _, line := range ve.Log {
		for _, s := range []string{"BPF program is too large", "infinite loop detected", "is too complex", "back-edge from insn"} {
			if strings.Contains(line, s) {
				return true
			}
		}
	}
	return false
}

// unknownFunc reads the helper of a verifier line about a call the kernel
// does not know: "invalid func unknown#164" (a number the kernel has never
// heard of) or "unknown func bpf_loop#181" (known, not for this program).
func unknownFunc(line string) (asm.BuiltinFunc, bool) {
	for _, prefix := range []string{"invalid func ", "unknown func "} {
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		_, num, ok := strings.Cut(line[i+len(prefix):], "#")
		if !ok {
			continue
		}
		digits := strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' })
		if digits < 0 {
			digits = len(num)
		}
		n, err := strconv.Atoi(num[:digits])
		if err != nil {
			continue
		}
		return asm.BuiltinFunc(n), true
	}
	return 0, false
}
