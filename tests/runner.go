// Package tests holds bpfsh's end-to-end tests: scripts run by the built binary
// on the real kernel, checked against expectations written from bpftrace's
// behaviour. This file is a runner for bpftrace's runtime-test format
// (tests/runtime/* in bpftrace's repository), so the same runner serves
// bpfsh's own corpus (tests/runtime/*.test) and, to measure compatibility,
// bpftrace's suite itself.
//
// The format: blank-line-separated blocks of directives, one per line, `#`
// starting a comment line. A directive line continues the previous PROG,
// EXPECT or EXPECT_REGEX when it starts with at least len(NAME)+1 blanks.
//
//	NAME       test name (required)
//	PROG       program text, run as `BIN -e 'PROG'`
//	RUN        shell line; {{BPFTRACE}} is the binary under test
//	EXPECT     a whole output line (surrounding blanks ignored)
//	EXPECT_NONE, EXPECT_REGEX, EXPECT_REGEX_NONE
//	EXPECT_FILE  whole output after attach equals the file (ends trimmed)
//	EXPECT_JSON  output after attach is JSON equal to the file (.ndjson: per line)
//	TIMEOUT    seconds allowed after attaching (default 5)
//	BEFORE     command started first (in background, killed at the end);
//	           {{BEFORE_PID}} in the command line becomes its pid
//	AFTER      shell line run once the program has attached
//	SETUP, CLEANUP  shell lines run before / after the case
//	REQUIRES   shell line; the case is skipped when it fails
//	REQUIRES_FEATURE  features (`!f` negates); skipped when not met
//	ENV        K=V ... added to the environment
//	ARCH       a|b|!c  machine names, or le/be
//	MIN_KERNEL, MAX_KERNEL, SKIP_IF_ENV_HAS K=V, WILL_FAIL, RETURN_CODE N,
//	NEW_PIDNS, LOCALIZE_TIMESTAMPS SECS
//
// The output checked is stdout and stderr merged, as bpftrace's runner does.
// "Attached" means a line matching Runner.AttachRE: bpftrace's
// __BPFTRACE_NOTIFY_PROBES_ATTACHED (the runner sets that variable) or the
// "Attached N probes" line.
package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// DefaultTimeout is TIMEOUT when a case sets none.
const DefaultTimeout = 5 * time.Second

// ExpectMode says how an Expect is checked against the output.
type ExpectMode int

const (
	ExpectText      ExpectMode = iota // EXPECT: a whole line, blanks around it ignored
	ExpectTextNone                    // EXPECT_NONE
	ExpectRegex                       // EXPECT_REGEX (multi-line mode)
	ExpectRegexNone                   // EXPECT_REGEX_NONE
	ExpectFile                        // EXPECT_FILE
	ExpectJSON                        // EXPECT_JSON
)

var modeNames = [...]string{"EXPECT", "EXPECT_NONE", "EXPECT_REGEX", "EXPECT_REGEX_NONE", "EXPECT_FILE", "EXPECT_JSON"}

func (m ExpectMode) String() string { return modeNames[m] }

// Expect is one expectation on a case's output.
type Expect struct {
	Mode  ExpectMode
	Value string // text, regular expression or file path
}

// Case is one test block.
type Case struct {
	File string // file the case came from
	Line int    // line of its first directive

	Name       string
	Run        string
	Prog       string
	Expects    []Expect
	HasExact   bool // EXPECT_FILE or EXPECT_JSON: output before attach is dropped
	Timeout    time.Duration
	Befores    []string
	After      string
	Setup      string
	Cleanup    string
	MinKernel  string
	MaxKernel  string
	Requires   []string
	Env        []string // "K=V"
	Arch       []string
	Features   []string // REQUIRES_FEATURE, without '!'
	NoFeatures []string // REQUIRES_FEATURE with '!'
	WillFail   bool
	NewPidNS   bool
	SkipIfEnv  string // "K=V"
	ReturnCode int
	LocalizeTS int64 // -1: not set
}

// ParseError is a malformed test file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ParseFile reads the cases of one test file.
// expectDirectives maps each EXPECT directive to its mode.
var expectDirectives = map[string]ExpectMode{
	"EXPECT": ExpectText, "EXPECT_NONE": ExpectTextNone, "EXPECT_REGEX": ExpectRegex,
	"EXPECT_REGEX_NONE": ExpectRegexNone, "EXPECT_FILE": ExpectFile, "EXPECT_JSON": ExpectJSON,
}

// textField is the field that a directive taking plain text sets, or nil.
func (c *Case) textField(directive string) *string {
	return map[string]*string{
		"NAME": &c.Name, "RUN": &c.Run, "PROG": &c.Prog, "AFTER": &c.After, "SETUP": &c.Setup,
		"CLEANUP": &c.Cleanup, "MIN_KERNEL": &c.MinKernel, "MAX_KERNEL": &c.MaxKernel,
	}[directive]
}

func ParseFile(path string) ([]*Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads the cases in data; file names them in errors and Case.File.
func Parse(file string, data []byte) ([]*Case, error) {
	var (
		cases []*Case
		block []string
		start int
		errs  []error
	)
	flush := func() {
		if len(block) == 0 {
			return
		}
		c, err := parseCase(file, start, block)
		if err != nil {
			errs = append(errs, err)
		} else {
			cases = append(cases, c)
		}
		block = nil
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(block) == 0 {
			start = i + 1
		}
		block = append(block, line)
	}
	flush()
	return cases, errors.Join(errs...)
}

func parseCase(file string, start int, lines []string) (*Case, error) {
	c := &Case{File: file, Line: start, Timeout: DefaultTimeout, LocalizeTS: -1}
	fail := func(i int, format string, args ...any) (*Case, error) {
		return nil, &ParseError{file, start + i, fmt.Sprintf(format, args...)}
	}
	returnCode := -1
	prev := ""
	for i, item := range lines {
		// A line indented by more than the previous directive's name continues
		// it (bpftrace: item[:len(prev)+1].isspace()).
		if n := len(prev) + 1; prev != "" && len(item) >= n && isBlank(item[:n]) {
			rest := item[n:]
			switch prev {
			case "PROG":
				c.Prog += "\n" + rest
				continue
			case "EXPECT", "EXPECT_REGEX":
				c.Expects[len(c.Expects)-1].Value += "\n" + rest
				continue
			}
		}
		s := strings.TrimSpace(item)
		name, arg := s, ""
		if j := strings.IndexFunc(s, unicode.IsSpace); j >= 0 {
			name, arg = s[:j], strings.TrimLeftFunc(s[j:], unicode.IsSpace)
		}
		prev = name
		if f := c.textField(name); f != nil {
			*f = arg
			continue
		}
		if m, ok := expectDirectives[name]; ok {
			c.Expects = append(c.Expects, Expect{m, arg})
			c.HasExact = c.HasExact || m == ExpectFile || m == ExpectJSON
			continue
		}
		switch name {
		case "TIMEOUT":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				return fail(i, "bad TIMEOUT %q", arg)
			}
			c.Timeout = time.Duration(n) * time.Second
		case "BEFORE":
			c.Befores = append(c.Befores, arg)
		case "REQUIRES":
			c.Requires = append(c.Requires, arg)
		case "ENV":
			for _, kv := range strings.Fields(arg) {
				if !strings.Contains(kv, "=") {
					return fail(i, "bad ENV entry %q (want K=V)", kv)
				}
				c.Env = append(c.Env, kv)
			}
		case "ARCH":
			for _, a := range strings.Split(arg, "|") {
				c.Arch = append(c.Arch, strings.TrimSpace(a))
			}
		case "REQUIRES_FEATURE":
			for _, f := range strings.Fields(arg) {
				if neg, ok := strings.CutPrefix(f, "!"); ok {
					c.NoFeatures = append(c.NoFeatures, neg)
				} else {
					c.Features = append(c.Features, f)
				}
			}
		case "WILL_FAIL":
			c.WillFail = true
		case "NEW_PIDNS":
			c.NewPidNS = true
		case "SKIP_IF_ENV_HAS":
			if !strings.Contains(arg, "=") {
				return fail(i, "bad SKIP_IF_ENV_HAS %q (want K=V)", arg)
			}
			c.SkipIfEnv = arg
		case "RETURN_CODE":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return fail(i, "bad RETURN_CODE %q", arg)
			}
			returnCode = n
		case "LOCALIZE_TIMESTAMPS":
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return fail(i, "bad LOCALIZE_TIMESTAMPS %q", arg)
			}
			c.LocalizeTS = n
		default:
			return fail(i, "unknown directive %q", name)
		}
	}
	switch {
	case c.Name == "":
		return fail(0, "test NAME is required")
	case c.Run == "" && c.Prog == "":
		return fail(0, "%s: RUN or PROG is required", c.Name)
	case c.Run != "" && c.Prog != "":
		return fail(0, "%s: RUN and PROG both given", c.Name)
	case len(c.Expects) == 0 && returnCode < 0:
		return fail(0, "%s: at least one EXPECT (or RETURN_CODE) is required", c.Name)
	case len(c.Expects) > 1 && c.HasExact:
		return fail(0, "%s: EXPECT_FILE or EXPECT_JSON cannot be combined with other EXPECTs", c.Name)
	case returnCode > 0 && c.WillFail:
		return fail(0, "%s: WILL_FAIL and RETURN_CODE cannot be used together", c.Name)
	}
	if returnCode > 0 {
		c.ReturnCode = returnCode
	}
	return c, nil
}

func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return s != ""
}

// Status is a case's outcome.
type Status int

const (
	Pass Status = iota
	Fail
	Timeout // the program had to be stopped and the expectations did not hold
	Skip
)

func (s Status) String() string { return [...]string{"PASS", "FAIL", "TIMEOUT", "SKIP"}[s] }

// Result is what running a case produced.
type Result struct {
	Status   Status
	Reason   string // why it failed or was skipped
	Command  string // the shell line run
	Output   string // merged stdout and stderr (after attach for exact expects)
	ExitCode int    // -1 when killed by a signal
	Attached bool
	TimedOut bool
	Elapsed  time.Duration
	Aux      string // output of BEFORE/AFTER/SETUP/CLEANUP, for diagnosis
}

// Report renders r for a failure message.
func (r Result) Report(c *Case) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s: %s\n", c.File, c.Line, r.Status, r.Reason)
	fmt.Fprintf(&b, "\tcommand: %s\n\texit code: %d, attached: %v, timed out: %v, %v\n", r.Command, r.ExitCode, r.Attached, r.TimedOut, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "\toutput:\n%s", indent(r.Output))
	if r.Aux != "" {
		fmt.Fprintf(&b, "\tother commands:\n%s", indent(r.Aux))
	}
	return b.String()
}

func indent(s string) string {
	if s == "" {
		return "\t\t(none)\n"
	}
	s = strings.TrimSuffix(s, "\n")
	return "\t\t" + strings.ReplaceAll(s, "\n", "\n\t\t") + "\n"
}

// DefaultAttachRE matches the lines that mean "probes are attached".
var DefaultAttachRE = regexp.MustCompile(`^(__BPFTRACE_NOTIFY_PROBES_ATTACHED|Attach(?:ing \d+ probes?\.\.\.|ed \d+ probes?)|\{"type": ?"attached_probes".*)$`)

// Runner runs cases against one binary.
type Runner struct {
	Binary string            // replaces {{BPFTRACE}}
	Dir    string            // working directory of every command
	Vars   map[string]string // more {{NAME}} placeholders, e.g. TRIG
	// ExtraArgs go right after the binary for PROG cases (bpftrace's runner
	// adds --verify-llvm-ir; keep empty for bpfsh).
	ExtraArgs string
	// Env is the base environment. nil means bpftrace's runner's choice: only
	// PATH (with the binary's directory first), test=NAME and the notify
	// variable.
	Env []string
	// AttachRE recognises the attach line; nil means DefaultAttachRE.
	AttachRE *regexp.Regexp
	// Features known present (true) or absent (false) for REQUIRES_FEATURE;
	// one it does not name is decided by FeatureSince, else absent.
	Features map[string]bool
	// AttachTimeout bounds the wait for the attach line (bpftrace: 10 s).
	AttachTimeout time.Duration
	// StopSignal is sent to the program's process group on TIMEOUT; SIGINT
	// (Ctrl-C) by default. KillGrace later it is killed.
	StopSignal syscall.Signal
	KillGrace  time.Duration
}

// Run runs one case.
func (r *Runner) Run(ctx context.Context, c *Case) (res Result) {
	start := time.Now()
	res.ExitCode = -1
	defer func() { res.Elapsed = time.Since(start) }()

	if why := r.skipReason(ctx, c); why != "" {
		res.Status, res.Reason = Skip, why
		return res
	}
	env := r.env(c)
	var aux strings.Builder
	defer func() { res.Aux = aux.String() }()

	if c.Setup != "" {
		out, err := r.shell(ctx, r.subst(c.Setup), env)
		fmt.Fprintf(&aux, "SETUP %s:\n%s", c.Setup, out)
		if err != nil {
			res.Status, res.Reason = Fail, fmt.Sprintf("SETUP failed: %v", err)
			return res
		}
	}
	if c.Cleanup != "" {
		defer func() {
			out, err := r.shell(context.WithoutCancel(ctx), r.subst(c.Cleanup), env)
			fmt.Fprintf(&aux, "CLEANUP %s:\n%s", c.Cleanup, out)
			if err != nil && res.Status == Pass {
				res.Status, res.Reason = Fail, fmt.Sprintf("CLEANUP failed: %v", err)
			}
		}()
	}

	beforePID, stopBefores, err := r.startBefores(ctx, c, env, &aux)
	defer stopBefores()
	if err != nil {
		res.Status, res.Reason = Fail, err.Error()
		return res
	}

	line := r.callLine(c)
	if beforePID != 0 {
		line = strings.ReplaceAll(line, "{{BEFORE_PID}}", strconv.Itoa(beforePID))
	}
	res.Command = line
	p, err := r.start(line, env)
	if err != nil {
		res.Status, res.Reason = Fail, err.Error()
		return res
	}
	defer p.stop()
	exited, err := r.watch(ctx, c, p, env, &aux, &res)
	if err != nil {
		res.Status, res.Reason = Fail, err.Error()
		return res
	}
	res.Status, res.Reason = r.verdict(c, res, exited)
	return res
}

// startBefores starts each BEFORE command and waits until its program shows
// up; the first one's pid is {{BEFORE_PID}}. stop kills those started (also
// after an error) and records their output in aux.
func (r *Runner) startBefores(ctx context.Context, c *Case, env []string, aux *strings.Builder) (firstPID int, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for i, b := range c.Befores {
		cmd := r.command(r.subst(b), env)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return 0, stop, fmt.Errorf("BEFORE %q: %v", b, err)
		}
		done := reap(cmd)
		stops = append(stops, func() {
			stopGroup(cmd, syscall.SIGKILL, 0)
			waitDone(cmd, done, time.Second)
			fmt.Fprintf(aux, "BEFORE %s:\n%s", b, out.String())
		})
		pid, err := waitForComm(ctx, cmd.Process.Pid, commOf(r.subst(b)), c.Timeout)
		if err != nil {
			return 0, stop, fmt.Errorf("BEFORE %q: %v", b, err)
		}
		if i == 0 {
			firstPID = pid
		}
	}
	return firstPID, stop, nil
}

// program is the command under test, its stdout and stderr merged into one
// pipe and read line by line.
type program struct {
	cmd    *exec.Cmd
	lines  chan string // closed at EOF
	exited chan error  // cmd.Wait's result
}

func (r *Runner) start(line string, env []string) (*program, error) {
	cmd := r.command(line, env)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	p := &program{cmd: cmd, lines: make(chan string, 64), exited: make(chan error, 1)}
	go func() {
		defer close(p.lines)
		defer pr.Close()
		br := bufio.NewReader(pr)
		for {
			s, err := br.ReadString('\n')
			if s != "" {
				p.lines <- s
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// stop kills what is left of the program's process group and keeps reading
// its output, whatever happened, so the reader never blocks.
func (p *program) stop() {
	go func() {
		for range p.lines {
		}
	}()
	stopGroup(p.cmd, syscall.SIGKILL, 0)
}

// watch reads the program's output until it has exited and closed it. Once
// the program has attached it starts AFTER; when the program does not attach
// in time or outlives TIMEOUT it stops it as Ctrl-C would. It fills res's
// Output, ExitCode, Attached and TimedOut, and says whether the program
// exited (rather than was given up on); ctx's error if ctx ends first.
func (r *Runner) watch(ctx context.Context, c *Case, p *program, env []string, aux *strings.Builder, res *Result) (exited bool, err error) {
	var (
		out       strings.Builder
		lines     = p.lines
		waitc     = p.exited
		after     *exec.Cmd
		afterOut  bytes.Buffer
		afterDone <-chan struct{}
		attachRE  = r.AttachRE
		deadline  = time.NewTimer(r.attachTimeout()) // attach, then TIMEOUT
		eof       bool
		hasExited bool
		waitErr   error
		kill      <-chan time.Time // after the stop signal: SIGKILL
		grace     <-chan time.Time // after exit: stop waiting for EOF
	)
	if attachRE == nil {
		attachRE = DefaultAttachRE
	}
	defer deadline.Stop()
	defer func() {
		if after != nil {
			// Let it finish (it may still be writing), then kill its group.
			waitDone(after, afterDone, time.Second)
			fmt.Fprintf(aux, "AFTER %s:\n%s", c.After, afterOut.String())
		}
	}()

loop:
	for !(eof && hasExited) {
		select {
		case s, ok := <-lines:
			if !ok {
				eof, lines = true, nil
				continue
			}
			out.WriteString(s)
			if res.Attached || res.TimedOut || !attachRE.MatchString(strings.TrimRight(s, "\r\n")) {
				continue
			}
			res.Attached = true
			if c.HasExact {
				out.Reset()
			}
			deadline.Reset(c.Timeout)
			if c.After != "" {
				after, afterDone = r.startAfter(c, env, &afterOut)
			}
		case waitErr = <-waitc:
			hasExited, waitc = true, nil
			// Background children may hold the pipe open: don't wait for ever.
			grace = time.After(r.killGrace())
		case <-grace:
			stopGroup(p.cmd, syscall.SIGKILL, 0)
			break loop
		case <-deadline.C:
			// Not attached in time, or TIMEOUT passed: stop it as Ctrl-C
			// would, and read what it prints on the way out.
			res.TimedOut = true
			sig := r.StopSignal
			if sig == 0 {
				sig = syscall.SIGINT
			}
			stopGroup(p.cmd, sig, 0)
			kill = time.After(r.killGrace())
		case <-kill:
			stopGroup(p.cmd, syscall.SIGKILL, 0)
			kill = nil
			if grace == nil {
				grace = time.After(time.Second)
			}
		case <-ctx.Done():
			stopGroup(p.cmd, syscall.SIGKILL, 0)
			res.Output = out.String()
			return false, ctx.Err()
		}
	}
	// Lines already read but not yet taken.
	for done := lines == nil; !done; {
		select {
		case s, ok := <-lines:
			if !ok {
				done = true
			}
			out.WriteString(s)
		default:
			done = true
		}
	}
	res.Output = out.String()
	if hasExited {
		res.ExitCode = exitCode(p.cmd, waitErr)
	}
	return hasExited, nil
}

// startAfter starts the AFTER command; nil when it cannot (why is in out).
func (r *Runner) startAfter(c *Case, env []string, out *bytes.Buffer) (*exec.Cmd, <-chan struct{}) {
	cmd := r.command(r.subst(c.After), env)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "cannot start: %v\n", err)
		return nil, nil
	}
	return cmd, reap(cmd)
}

// verdict judges a finished run: the exit code when the program exited on
// its own, then the expectations.
func (r *Runner) verdict(c *Case, res Result, exited bool) (Status, string) {
	failed := r.check(c, res.Output)
	if !res.TimedOut && exited {
		switch {
		case c.WillFail && res.ExitCode == 0:
			return Fail, "clean exit but WILL_FAIL expects failure"
		case !c.WillFail && res.ExitCode != c.ReturnCode:
			reason := fmt.Sprintf("exit code %d, want %d", res.ExitCode, c.ReturnCode)
			if len(failed) > 0 {
				reason += "; " + strings.Join(failed, "; ")
			}
			return Fail, reason
		}
	}
	if len(failed) > 0 {
		reason := strings.Join(failed, "; ")
		if res.TimedOut {
			return Timeout, fmt.Sprintf("stopped after TIMEOUT %v; %s", c.Timeout, reason)
		}
		return Fail, reason
	}
	return Pass, ""
}

func (r *Runner) attachTimeout() time.Duration {
	if r.AttachTimeout > 0 {
		return r.AttachTimeout
	}
	return 10 * time.Second
}

func (r *Runner) killGrace() time.Duration {
	if r.KillGrace > 0 {
		return r.KillGrace
	}
	return 5 * time.Second
}

// callLine is the shell line that runs the case's program.
func (r *Runner) callLine(c *Case) string {
	bin := shellQuote(r.Binary)
	if c.Run != "" {
		return r.subst(strings.ReplaceAll(c.Run, "{{BPFTRACE}}", bin))
	}
	args := ""
	if len(c.Expects) > 0 && c.Expects[0].Mode == ExpectJSON {
		args = " -q -f json"
	}
	if r.ExtraArgs != "" {
		args += " " + r.ExtraArgs
	}
	// exec: signals and the exit status are the program's own, not a shell's.
	return "exec " + bin + args + " -e " + shellQuote(r.subst(c.Prog))
}

// subst replaces {{NAME}} placeholders from Vars and {{BPFTRACE}}.
func (r *Runner) subst(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	s = strings.ReplaceAll(s, "{{BPFTRACE}}", shellQuote(r.Binary))
	for k, v := range r.Vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

func (r *Runner) env(c *Case) []string {
	env := r.Env
	if env == nil {
		path := os.Getenv("PATH")
		if r.Binary != "" {
			path = filepath.Dir(r.Binary) + string(os.PathListSeparator) + path
		}
		env = []string{"PATH=" + path}
	}
	env = append(env[:len(env):len(env)],
		"test="+c.Name,
		"__BPFTRACE_NOTIFY_PROBES_ATTACHED=1",
	)
	return append(env, c.Env...)
}

func (r *Runner) command(line string, env []string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Dir = r.Dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// shell runs line to completion and returns its merged output.
func (r *Runner) shell(ctx context.Context, line string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := r.command(line, env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-ctx.Done():
		stopGroup(cmd, syscall.SIGKILL, 0)
		<-done
		return out.String(), ctx.Err()
	}
}

// skipReason says why c cannot run here ("" if it can).
func (r *Runner) skipReason(ctx context.Context, c *Case) string {
	if len(c.Arch) > 0 && !archMatches(c.Arch) {
		return "ARCH " + strings.Join(c.Arch, "|")
	}
	rel := kernelRelease()
	if c.MinKernel != "" && compareVersions(rel, c.MinKernel) < 0 {
		return "MIN_KERNEL " + c.MinKernel
	}
	if c.MaxKernel != "" && compareVersions(rel, c.MaxKernel) > 0 {
		return "MAX_KERNEL " + c.MaxKernel
	}
	if c.SkipIfEnv != "" {
		k, v, _ := strings.Cut(c.SkipIfEnv, "=")
		if os.Getenv(k) == v {
			return "SKIP_IF_ENV_HAS " + c.SkipIfEnv
		}
	}
	if c.NewPidNS {
		return "NEW_PIDNS is not supported by this runner"
	}
	for _, f := range c.Features {
		if ok, since := r.hasFeature(f); !ok {
			if since != "" {
				return fmt.Sprintf("missing feature %s (Linux %s; this kernel is %s)", f, since, kernelRelease())
			}
			return "missing feature " + f
		}
	}
	for _, f := range c.NoFeatures {
		if ok, _ := r.hasFeature(f); ok {
			return "has feature " + f
		}
	}
	for _, req := range c.Requires {
		if _, err := r.shell(ctx, r.subst(req), r.env(c)); err != nil {
			return "REQUIRES " + req
		}
	}
	return ""
}

// check returns the expectations output does not meet.
func (r *Runner) check(c *Case, output string) []string {
	var failed []string
	for _, e := range c.Expects {
		if err := r.checkOne(c, e, output); err != nil {
			failed = append(failed, err.Error())
		}
	}
	return failed
}

func (r *Runner) checkOne(c *Case, e Expect, output string) error {
	switch e.Mode {
	case ExpectText, ExpectTextNone:
		re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(e.Value) + `\s*$`)
		if re.MatchString(output) != (e.Mode == ExpectText) {
			return fmt.Errorf("%s %s", e.Mode, e.Value)
		}
	case ExpectRegex, ExpectRegexNone:
		re, err := regexp.Compile("(?m)" + e.Value)
		if err != nil {
			return fmt.Errorf("%s %s: not an RE2 expression: %v", e.Mode, e.Value, err)
		}
		if re.MatchString(output) != (e.Mode == ExpectRegex) {
			return fmt.Errorf("%s %s", e.Mode, e.Value)
		}
	case ExpectFile:
		want, err := os.ReadFile(r.path(e.Value))
		if err != nil {
			return fmt.Errorf("%s: %v", e.Mode, err)
		}
		w := strings.TrimSpace(localizeTimestamps(string(want), c.LocalizeTS))
		if got := strings.TrimSpace(output); got != w {
			return fmt.Errorf("%s %s: output differs; want:\n%s", e.Mode, e.Value, w)
		}
	case ExpectJSON:
		want, err := os.ReadFile(r.path(e.Value))
		if err != nil {
			return fmt.Errorf("%s: %v", e.Mode, err)
		}
		if err := jsonEqual(strings.TrimSpace(output), strings.TrimSpace(string(want)), strings.HasSuffix(e.Value, ".ndjson")); err != nil {
			return fmt.Errorf("%s %s: %v", e.Mode, e.Value, err)
		}
	}
	return nil
}

func (r *Runner) path(p string) string {
	if filepath.IsAbs(p) || r.Dir == "" {
		return p
	}
	return filepath.Join(r.Dir, p)
}

func jsonEqual(got, want string, perLine bool) error {
	var gotDocs, wantDocs []string
	if perLine {
		gotDocs, wantDocs = strings.Split(got, "\n"), strings.Split(want, "\n")
		if len(gotDocs) != len(wantDocs) {
			return fmt.Errorf("%d lines of JSON, want %d", len(gotDocs), len(wantDocs))
		}
	} else {
		if strings.Contains(got, "\n") {
			return fmt.Errorf("want a single line of JSON output")
		}
		gotDocs, wantDocs = []string{got}, []string{want}
	}
	for i := range gotDocs {
		var g, w any
		if err := json.Unmarshal([]byte(gotDocs[i]), &g); err != nil {
			return fmt.Errorf("output line %d: %v", i+1, err)
		}
		if err := json.Unmarshal([]byte(wantDocs[i]), &w); err != nil {
			return fmt.Errorf("expected line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Errorf("line %d: got %s, want %s", i+1, gotDocs[i], wantDocs[i])
		}
	}
	return nil
}

// localizeTimestamps expands strftime directives in an EXPECT_FILE as
// time.localtime(ts) would (bpftrace's LOCALIZE_TIMESTAMPS).
func localizeTimestamps(s string, ts int64) string {
	if ts < 0 || !strings.Contains(s, "%") {
		return s
	}
	t := time.Unix(ts, 0).Local()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// commOf guesses the comm of the program a BEFORE line starts: the base name
// of its first word that is not a VAR=value assignment, cut to 15 bytes.
func commOf(line string) string {
	for _, w := range strings.Fields(line) {
		if strings.Contains(w, "=") && !strings.Contains(w, "/") {
			continue
		}
		w = strings.Trim(w, `'"`)
		base := filepath.Base(w)
		if len(base) > 15 {
			base = base[:15]
		}
		return base
	}
	return ""
}

// waitForComm waits until a process in process group pgid runs a program
// whose comm is comm, and returns its pid.
func waitForComm(ctx context.Context, pgid int, comm string, limit time.Duration) (int, error) {
	if limit <= 0 {
		limit = DefaultTimeout
	}
	end := time.Now().Add(limit)
	for {
		if pid := findInGroup(pgid, comm); pid != 0 {
			return pid, nil
		}
		if time.Now().After(end) {
			return 0, fmt.Errorf("no process %q appeared within %v", comm, limit)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// findInGroup returns the lowest pid in process group pgid whose comm is comm.
func findInGroup(pgid int, comm string) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(string(stat[close+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		if string(stat[open+1:close]) == comm {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return 0
	}
	sort.Ints(pids)
	return pids[0]
}

// stopGroup signals cmd's process group; with wait > 0 it then waits that
// long for cmd to exit before killing the group.
func stopGroup(cmd *exec.Cmd, sig syscall.Signal, wait time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	if wait > 0 {
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			if syscall.Kill(-pid, 0) != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_ = syscall.Kill(-pid, sig)
}

// reap waits for cmd in the background; the channel closes when it has exited.
func reap(cmd *exec.Cmd) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	return done
}

// waitDone gives cmd up to d to exit, then kills its process group; either
// way it returns once cmd's own process is reaped (or after another second).
func waitDone(cmd *exec.Cmd, done <-chan struct{}, d time.Duration) {
	select {
	case <-done:
		// The leader exited; children it left in the group go too.
		stopGroup(cmd, syscall.SIGKILL, 0)
		return
	case <-time.After(d):
	}
	stopGroup(cmd, syscall.SIGKILL, 0)
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState != nil {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '+' || r == ':' || r == '=' || r == ',' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// archMatches applies an ARCH list: names of machines (uname -m) or byte
// orders (le, be); a leading '!' excludes.
func archMatches(list []string) bool {
	host := map[string]bool{unameMachine(): true, "le": true}
	if isBigEndian() {
		host = map[string]bool{unameMachine(): true, "be": true}
	}
	var pos, neg []string
	for _, a := range list {
		if n, ok := strings.CutPrefix(a, "!"); ok {
			neg = append(neg, n)
		} else {
			pos = append(pos, a)
		}
	}
	ok := true
	if len(pos) > 0 {
		ok = false
		for _, a := range pos {
			ok = ok || host[a]
		}
	}
	for _, a := range neg {
		if host[a] {
			ok = false
		}
	}
	return ok
}

func isBigEndian() bool {
	switch runtime.GOARCH {
	case "s390x", "ppc64", "mips", "mips64", "sparc64":
		return true
	}
	return false
}

func unameMachine() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return cstr(u.Machine[:])
}

func kernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "0"
	}
	return cstr(u.Release[:])
}

func cstr[T int8 | uint8](b []T) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// compareVersions compares dotted version strings numerically, like Python's
// LooseVersion for kernel releases ("6.18.0-rc1" > "6.12").
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionParts(v string) []int {
	var parts []int
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(f)
		parts = append(parts, n)
		if len(parts) == 3 {
			break
		}
	}
	return parts
}
