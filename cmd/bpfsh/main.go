// Command bpfsh is a bpftrace-style tracing and policy shell: it compiles
// scripts to BPF in pure Go, loads and attaches them, and prints what they
// collect.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/bpfsh/bpfsh/cmd/bpfsh/help"
	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
	bpfrt "github.com/bpfsh/bpfsh/runtime"
)

var version = "0.1.0-dev"

// usage is the help text, which is also the man page (package help).
var usage = help.Text

type config struct {
	prog    string
	file    string
	hasProg bool
	params  []string
	named   []string // named parameters after --, without the "--" (getopt)
	// includes (--include FILE) and includeDirs (-I DIR): the headers
	// read before the script, and where #include looks first.
	includes, includeDirs []string
	dump                  string
	dryRun                bool
	verbose               bool
	quiet                 bool
	pin                   string
	metrics               string // --metrics ADDR
	pinning               bool   // --pin given, even with an empty name (refused)
	// --trust-script: pin a script others could have changed (trust.go)
	trustScript bool
	unsafe      bool
	noWarn      bool
	format      string
	output      string
	command     string
	pid         int
	list        bool
	listV       bool
	// probeFilter (--probe-filter RE) keeps the attach points it matches.
	probeFilter *regexp.Regexp
	usb         bpfrt.USBOptions // --usb-present, --usb-exit
}

func main() {
	// Ctrl-\ ends bpfsh without Go's goroutine dump (a run ends cleanly).
	bpfrt.QuitQuietly()
	// bpfsh is short-lived and allocation-heavy while compiling: trade a
	// little memory for fewer collections.
	debug.SetGCPercent(400)
	os.Exit(mainErr(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func mainErr(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		// The runtime's deferred cleanup has already released the kernel
		// objects by the time a panic gets here.
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "bpfsh: internal error: %v\n", p)
			code = 2
		}
	}()
	if len(args) > 0 && (args[0] == "pins" || args[0] == "unpin") {
		return pinCommand(args, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "metrics" {
		return pinnedMetrics(args[1:], stdout, stderr)
	}
	if err := checkEnv(); err != nil {
		return fail(stderr, err)
	}
	// No program given: the REPL on a terminal (repl.go), else the script on stdin, as `bpfsh -`.
	if noProgram(args) {
		if isTerminal(stdin) {
			return runREPL(args, stdin, stdout, stderr)
		}
		args = append(args, "-")
	}
	cfg, err := parseArgs(args)
	if err != nil {
		var fe fatalArgError
		if errors.As(err, &fe) {
			return fail(stderr, err)
		}
		fmt.Fprintf(stderr, "ERROR: %v\n\n%s", err, usage)
		return 1
	}
	switch {
	case cfg == nil:
		return 0
	case cfg.prog == "help" && !cfg.hasProg:
		fmt.Fprint(stdout, usage)
		return 0
	case cfg.prog == "version" && !cfg.hasProg:
		fmt.Fprintf(stdout, "bpfsh v%s\n", version)
		return 0
	case cfg.prog == "info" && !cfg.hasProg:
		return printInfo(stdout)
	case cfg.list:
		return listProbes(cfg, stdout, stderr)
	}
	s, code := compileScript(cfg, stdin, stdout, stderr)
	if s == nil {
		return code
	}
	return runScript(cfg, s, stdout, stderr)
}

// fail reports an error the way every command-line failure is reported and
// returns the exit code.
func fail(stderr io.Writer, err error) int {
	var d *lang.Diags
	if errors.As(err, &d) {
		// Positioned in the script (a verifier refusal), as compile errors are.
		fmt.Fprint(stderr, d.Format())
		return 1
	}
	fmt.Fprintf(stderr, "ERROR: %v\n", err)
	return 1
}

// pinCommand is "bpfsh pins" (list the pinned scripts) and "bpfsh unpin
// NAME".
func pinCommand(args []string, stdout, stderr io.Writer) int {
	if args[0] == "unpin" && len(args) != 2 {
		return fail(stderr, errors.New("usage: bpfsh unpin NAME"))
	}
	if err := mountBPFFS(false, stderr); err != nil {
		return fail(stderr, err)
	}
	if args[0] == "pins" {
		if err := bpfrt.PrintPins(stdout); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	if err := bpfrt.Unpin(args[1]); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "unpinned %s\n", args[1])
	return 0
}

// script is a compiled program and what loading it needs.
type script struct {
	name string
	src  []byte
	env  *probes.Env
	opts compiler.Options // what compiled obj, besides src
	obj  *compiler.Object
}

// compileScript reads, parses and compiles the program, printing its
// diagnostics and warnings. It returns nil and the exit code when there is
// nothing to load: an error, or -d ast.
func compileScript(cfg *config, stdin io.Reader, stdout, stderr io.Writer) (*script, int) {
	name, src, err := readSource(cfg, stdin)
	if err != nil {
		return nil, fail(stderr, err)
	}
	if cfg.dump == "" {
		// The script is going to be loaded: overlap what does not depend on
		// it with parsing and compiling it. Not before it is read: while
		// bpfsh waits for a script (a FIFO, a slow stdin, a terminal), a
		// SIGINT, SIGTERM or SIGHUP must end it as they end any process.
		bpfrt.Prepare()
	}
	prog, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		fmt.Fprint(stderr, diags.Format())
		return nil, 1
	}
	if cfg.dump == "ast" {
		fmt.Fprint(stdout, lang.Print(prog))
		return nil, 0
	}
	env := systemEnv(cfg, stderr)
	opts := cfg.compileOptions(env)
	obj, cdiags := compiler.Compile(prog, opts)
	if cdiags.HasErrors() {
		// Parse warnings and compile diagnostics together, in source order.
		cdiags.List = append(diags.List, cdiags.List...)
		fmt.Fprint(stderr, cdiags.Format())
		return nil, 1
	}
	if w := diags.Warnings() + obj.Warnings; w != "" && !cfg.noWarn {
		fmt.Fprint(stderr, w)
	}
	if err := obj.CheckNamedArgs(cfg.named); err != nil {
		var ne *compiler.NamedParamError
		if errors.As(err, &ne) {
			if ne.Msg != "" {
				fmt.Fprintf(stderr, "ERROR: %s\n", ne.Msg)
			}
			if ne.Hint != "" {
				fmt.Fprintf(stderr, "HINT: %s\n", ne.Hint)
			}
		}
		return nil, 1
	}
	return &script{name: name, src: src, env: env, opts: opts, obj: obj}, 0
}

// runScript does what the options ask of a compiled script: stop there
// (-d none), print its instructions (-d asm), pin it (--pin), or run it
// until it exits or is interrupted.
func runScript(cfg *config, s *script, stdout, stderr io.Writer) int {
	switch {
	case cfg.dump == "none":
		return 0 // compiled: parse, check and code generation succeeded
	case cfg.dump == "asm":
		w := bufio.NewWriterSize(stdout, 1<<16)
		for _, p := range s.obj.Programs {
			fmt.Fprintf(w, "%s: %s (%s)\n%v\n", p.Spec.Name, p.Point, p.Spec.Type, p.Spec.Instructions)
		}
		w.Flush()
		return 0
	case cfg.pinning:
		// A dry run mounts nothing: it leaves the machine as it was.
		if !cfg.dryRun {
			if err := mountBPFFS(cfg.quiet, stderr); err != nil {
				return fail(stderr, err)
			}
		}
		if err := bpfrt.Pin(s.obj, bpfrt.PinOptions{Env: s.env, Name: cfg.pin, File: s.name, Source: string(s.src),
			Compile: bpfrt.PinCompileOf(s.opts), DryRun: cfg.dryRun, Out: stdout, Err: stderr}); err != nil {
			return fail(stderr, explain(err))
		}
		return 0
	}
	out := stdout
	if cfg.output != "" {
		f, err := createOutput(cfg.output)
		if err != nil {
			return fail(stderr, err)
		}
		defer f.Close()
		out = f
	}
	if err := checkTargets(cfg, s.env); err != nil {
		return fail(stderr, err)
	}
	metrics, err := cfg.metricsConfig()
	if err != nil {
		return fail(stderr, err)
	}
	rc, err := bpfrt.Run(s.obj, bpfrt.Options{Env: s.env, Out: out, Err: stderr, DryRun: cfg.dryRun, Verbose: cfg.verbose,
		Quiet: cfg.quiet, JSON: cfg.format == "json", Command: cfg.command, WatchPID: cfg.pid, NoWarnings: cfg.noWarn,
		Metrics: metrics, USB: cfg.usb})
	if err != nil {
		return fail(stderr, explain(err))
	}
	return rc
}

// checkTargets fails before anything is loaded when the process to watch
// (-p) is gone or the command to start (-c) cannot be found.
func checkTargets(cfg *config, env *probes.Env) error {
	if cfg.pid > 0 {
		if _, err := os.Stat(env.ProcPath(strconv.Itoa(cfg.pid))); err != nil {
			return fmt.Errorf("-p %d: no such process", cfg.pid)
		}
	}
	if f := strings.Fields(cfg.command); len(f) > 0 {
		if _, err := exec.LookPath(f[0]); err != nil {
			return fmt.Errorf("-c: cannot run %s: %v", f[0], err)
		}
	}
	return nil
}

func (cfg *config) compileOptions(env *probes.Env) compiler.Options {
	return compiler.Options{Env: env, Params: cfg.params, NamedArgs: cfg.named, Unsafe: cfg.unsafe,
		MaxMapKeys: envInt("BPFTRACE_MAP_KEYS_MAX", "BPFSH_MAX_MAP_KEYS"), RingPages: envInt("BPFTRACE_PERF_RB_PAGES", "BPFSH_PERF_RB_PAGES"),
		StrLen: envInt("BPFTRACE_MAX_STRLEN", "BPFSH_MAX_STRLEN"), ProbeFilter: cfg.probeFilter, MaxProbes: envInt("BPFTRACE_MAX_PROBES", "BPFSH_MAX_PROBES"),
		DummyTSMap: os.Getenv("BPFTRACE_DUMMY_TS_MAP"), Includes: cfg.includes, IncludeDirs: cfg.includeDirs}
}

// metricsConfig is --metrics' server (nil without it), with the labels
// of BPFSH_METRICS_LABELS on every series.
func (cfg *config) metricsConfig() (*bpfrt.MetricsConfig, error) {
	if cfg.metrics == "" {
		return nil, nil
	}
	return metricsAt(cfg.metrics)
}

func metricsAt(addr string) (*bpfrt.MetricsConfig, error) {
	labels, err := bpfrt.ParseMetricsLabels(os.Getenv("BPFSH_METRICS_LABELS"))
	if err != nil {
		return nil, err
	}
	return &bpfrt.MetricsConfig{Addr: addr, Labels: labels, Version: version}, nil
}

// parseArgs reads bpftrace-style options: options come first; the first
// non-option is the script file (unless -e was given); the rest are $1...
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	i := 0
	dashdash := false
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			dashdash = true
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			break
		}
		inline, hasInline := "", false
		if strings.HasPrefix(a, "--usb-") {
			a, inline, hasInline = strings.Cut(a, "=") // --usb-present=keep
		}
		val := func() (string, error) {
			if hasInline {
				return inline, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		only, err := cfg.option(a, val)
		if only != nil || err != nil {
			return only, err
		}
	}
	if err := checkPinFlags(cfg); err != nil {
		return nil, fatalArgError{err}
	}
	if err := cfg.operands(args[i:], dashdash); err != nil {
		return nil, err
	}
	return cfg, nil
}

// option applies the option a, whose value val reads (from "--opt=value"
// or the next argument). An option that is the whole run (-h, -V, --info)
// returns the config for it.
func (cfg *config) option(a string, val func() (string, error)) (only *config, err error) {
	switch a {
	case "-e":
		cfg.prog, err = val()
		cfg.hasProg = true
	case "-d":
		cfg.dump, err = val()
		if err == nil && cfg.dump != "ast" && cfg.dump != "asm" && cfg.dump != "none" {
			err = fmt.Errorf("-d takes ast, asm or none, not %q", cfg.dump)
		}
	case "-l", "--list", "-lv":
		cfg.list = true
		cfg.listV = a == "-lv"
	case "--dry-run":
		cfg.dryRun = true
	case "-v":
		cfg.verbose = true
	case "-q":
		cfg.quiet = true
	case "--unsafe":
		cfg.unsafe = true
	case "--no-warnings":
		cfg.noWarn = true
	case "--probe-filter":
		var re string
		if re, err = val(); err == nil {
			cfg.probeFilter, err = regexp.Compile(re)
			if err != nil {
				err = fmt.Errorf("Invalid --probe-filter regex %q: %v", re, err)
			}
		}
	case "--include":
		var f string
		f, err = val()
		cfg.includes = append(cfg.includes, f)
	case "-I":
		var d string
		d, err = val()
		cfg.includeDirs = append(cfg.includeDirs, d)
	case "-B":
		// Output is written per batch of events and flushed at once:
		// line and full buffering are the same here.
		var mode string
		mode, err = val()
		if err == nil && mode != "none" && mode != "line" && mode != "full" {
			err = fmt.Errorf("-B takes none, line or full, not %q", mode)
		}
	case "--usdt-file-activation":
		// usdt semaphores are the kernel's (uprobe ref_ctr_offset): every
		// process that maps the binary has them counted already.
	case "-k", "-kk":
		// Helper failures (failed map updates, lost events) are always reported.
	case "-f":
		cfg.format, err = val()
		if err == nil && cfg.format != "text" && cfg.format != "json" {
			err = fatalArgError{fmt.Errorf("Invalid output format %q\nValid formats: 'text', 'json'", cfg.format)}
		}
	case "-o", "--output":
		cfg.output, err = val()
	case "-c":
		cfg.command, err = val()
	case "-p":
		var s string
		s, err = val()
		if err == nil {
			cfg.pid, err = parsePID(s)
		}
	case "--pin":
		cfg.pin, err = val()
		cfg.pinning = true
	case "--trust-script":
		cfg.trustScript = true
	case "--metrics":
		cfg.metrics, err = val()
	case "--usb-present", "--usb-exit":
		err = cfg.usbOption(a, val)
	case "-h", "--help":
		return &config{prog: "help"}, nil
	case "-V", "--version":
		return &config{prog: "version"}, nil
	case "--info":
		return &config{prog: "info"}, nil
	default:
		return nil, fmt.Errorf("unknown option %s", a)
	}
	return nil, err
}

// usbOption reads --usb-present judge|keep and --usb-exit restore|keep.
func (cfg *config) usbOption(opt string, val func() (string, error)) error {
	v, err := val()
	if err != nil {
		return err
	}
	keep, other := v == "keep", map[string]string{"--usb-present": "judge", "--usb-exit": "restore"}[opt]
	if !keep && v != other {
		return fmt.Errorf("%s takes %s or keep, not %q", opt, other, v)
	}
	if opt == "--usb-present" {
		cfg.usb.KeepPresent = keep
	} else {
		cfg.usb.KeepDefaults = keep
	}
	return nil
}

// operands reads what follows the options: with -l the patterns (and -p
// PID, which may follow them); otherwise the script file unless -e gave the
// program, then positional parameters ($1...) and, after a "--", named
// parameters written --name[=value] (getopt).
func (cfg *config) operands(rest []string, dashdash bool) error {
	if cfg.list {
		for j := 0; j < len(rest); j++ {
			if rest[j] == "-p" && j+1 < len(rest) {
				pid, err := parsePID(rest[j+1])
				if err != nil {
					return err
				}
				cfg.pid = pid
				j++
				continue
			}
			cfg.params = append(cfg.params, rest[j])
		}
		return nil
	}
	if !cfg.hasProg {
		if len(rest) == 0 {
			return errors.New("no program given: use -e 'PROGRAM', a file, or - for stdin")
		}
		cfg.file, rest = rest[0], rest[1:]
	}
	cfg.params = []string{}
	for _, a := range rest {
		switch {
		case a == "--" && !dashdash:
			dashdash = true
		case dashdash && strings.HasPrefix(a, "--") && len(a) > 2:
			cfg.named = append(cfg.named, a[2:])
		default:
			cfg.params = append(cfg.params, a)
		}
	}
	return nil
}

// checkPinFlags refuses --pin with what a pinned policy cannot honour.
func checkPinFlags(cfg *config) error {
	if !cfg.pinning {
		return nil
	}
	if cfg.command != "" {
		return fmt.Errorf("--pin cannot be used with -c: a pinned policy outlives bpfsh, and -c traces one command while it runs")
	}
	return bpfrt.CheckPinName(cfg.pin)
}

// fatalArgError is a command-line error reported without the usage text.
type fatalArgError struct{ error }

// parsePID reads -p's value as bpftrace does.
func parsePID(s string) (int, error) {
	n, err := compiler.ParseUint(s)
	if err != nil {
		return 0, fatalArgError{fmt.Errorf("Failed to parse pid: %v", err)}
	}
	if n > 0x400000 {
		return 0, fatalArgError{fmt.Errorf("Pid out of range: %d", n)}
	}
	if n == 0 {
		return 0, fatalArgError{fmt.Errorf("-p takes a process id, not %q", s)}
	}
	return int(n), nil
}

func readSource(cfg *config, stdin io.Reader) (string, []byte, error) {
	switch {
	case cfg.hasProg:
		return "stdin", []byte(cfg.prog), nil
	case cfg.file == "-":
		b, err := readScript("stdin", stdin)
		return "stdin", b, err
	}
	if err := checkScriptTrust(cfg, func(m string) { fmt.Fprintf(os.Stderr, "WARNING: %s\n", m) }); err != nil {
		return "", nil, err
	}
	b, err := readScriptFile(cfg.file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("failed to open file '%s': %v", cfg.file, describeErrno(pe.Err))
		}
		return "", nil, err
	}
	return cfg.file, b, nil
}

func describeErrno(err error) string {
	s := err.Error()
	if len(s) > 0 {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// explain turns low-level errors into messages a user can act on.
func explain(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%v (bpfsh needs root, or CAP_BPF and CAP_PERFMON)", err)
	}
	return err
}

// listProbes is -l: the probes matching a pattern (or several, comma
// separated), the probes of a program (-e or a script file), or struct
// definitions ("struct task_struct").
func listProbes(cfg *config, stdout, stderr io.Writer) int {
	// The pattern is the last parameter that is not -v ("-l -v PATTERN").
	verbose := cfg.listV || cfg.verbose
	pattern := ""
	for _, a := range cfg.params {
		if a == "-v" {
			verbose = true
		} else {
			pattern = a
		}
	}
	env := systemEnv(cfg, stderr)
	patterns := strings.Split(pattern, ",")
	var src []byte
	name := "stdin"
	if cfg.hasProg {
		src = []byte(cfg.prog)
	} else if pattern != "" && !strings.Contains(pattern, ":") && !strings.HasPrefix(pattern, "struct ") && !strings.HasPrefix(pattern, "union ") {
		if data, err := os.ReadFile(pattern); err == nil {
			src, name = data, pattern
		} else if strings.HasSuffix(pattern, ".bt") {
			fmt.Fprintf(stderr, "WARNING: It appears that '%s' is a filename but the file does not exist. Treating '%s' as a search pattern.\n", pattern, pattern)
		}
	}
	if src != nil {
		prog, diags := lang.Parse(name, src)
		if diags.HasErrors() {
			fmt.Fprint(stderr, diags.Format())
			return 1
		}
		patterns = patterns[:0]
		for _, p := range prog.Probes {
			for _, s := range p.Specs {
				patterns = append(patterns, s.Raw)
			}
		}
	}
	for _, pat := range patterns {
		pat = strings.TrimSpace(pat)
		var err error
		if strings.HasPrefix(pat, "struct ") || strings.HasPrefix(pat, "union ") {
			err = probes.ListType(env, pat, stdout)
		} else {
			err = probes.List(env, pat, verbose, stdout)
		}
		if err != nil {
			return fail(stderr, err)
		}
	}
	return 0
}

// systemEnv is the running machine, with one line on stderr (none with -q)
// for a kernel file system bpfsh mounts because the script needs it. -p
// limits uprobes and usdt probes to the process (usdt probes without a
// binary, and -l -p, are the process's).
func systemEnv(cfg *config, stderr io.Writer) *probes.Env {
	env := probes.SystemEnv()
	env.Mounted = mountNotice(cfg.quiet, stderr)
	env.TargetPID = cfg.pid
	return env
}

// mountBPFFS makes the pin directory's parent a BPF file system (--pin,
// pins, unpin), mounting it as root when it is not.
func mountBPFFS(quiet bool, stderr io.Writer) error {
	return probes.EnsureBPFFS(filepath.Dir(bpfrt.PinRoot), mountNotice(quiet, stderr))
}

func mountNotice(quiet bool, stderr io.Writer) probes.MountNotice {
	if quiet {
		return nil
	}
	return func(fstype, dir string) { fmt.Fprintf(stderr, "bpfsh: mounted %s at %s\n", fstype, dir) }
}

// printInfo is --info: what works on this kernel, asked of the kernel. It
// mounts nothing: a missing tracefs is part of the answer.
func printInfo(stdout io.Writer) int {
	env := probes.SystemEnv()
	env.AutoMount = false
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	fmt.Fprintf(w, "bpfsh v%s\n", version)
	sections := env.Info()
	width := 0
	for _, s := range sections {
		for _, it := range s.Items {
			width = max(width, len(it.Name)+1)
		}
	}
	for _, s := range sections {
		fmt.Fprintf(w, "\n%s\n", s.Title)
		for _, it := range s.Items {
			verdict := "yes"
			if !it.OK {
				verdict = "no "
			}
			fmt.Fprintf(w, "  %-*s %s  %s\n", width, it.Name+":", verdict, it.Detail)
		}
	}
	return 0
}
