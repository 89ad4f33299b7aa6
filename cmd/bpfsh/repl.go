package main

// The interactive shell: each probe typed at the prompt is compiled with
// the ones before it and starts running at once (package session); plain
// expressions print their value; :commands inspect and change the session.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/chzyer/readline"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
	bpfrt "github.com/bpfsh/bpfsh/runtime"
	"github.com/bpfsh/bpfsh/session"
)

const (
	prompt       = "bpfsh> "
	contPrompt   = "...> "
	historyFile  = ".bpfsh_history"
	historyLimit = 1000
)

const replHelp = `Type a probe and it starts at once; earlier probes keep running:
    i:s:1 { @ticks = count(); }
    t:syscalls:sys_enter_openat { @opens[comm] = count(); }
An expression prints its value (pid, @ticks, @opens["bash"]); statements
run once (@ticks = 0). Maps are shared by every probe, as in one script.

Commands:
    :probes            list probes: id, state, points (hits when
                       sysctl kernel.bpf_stats_enabled=1)
    :detach ID...|all  detach probes (an END probe will not run)
    :maps              list maps and their types
    :print [@map...]   print maps (all without arguments)
    :clear @map        delete a map's elements
    :wait [DURATION]   show probe output until DURATION (e.g. 5s) or Ctrl-C
    :load FILE         add the probes of a script
    :save FILE         write the session as a script
    :metrics ADDR      serve the maps to Prometheus at http://ADDR/metrics (e.g. :9435)
    :reset             detach and forget everything (no END, no maps printed)
    :help              this text
    :quit              end as a script ends: END probes run, maps print (Ctrl-D)

Keys: Tab completes, Ctrl-R searches history, Ctrl-C abandons the line or
stops :wait or a long print.
`

// noProgram reports whether args name no program (no -e, no file), so that
// bpfsh reads one from stdin: the REPL on a terminal, else a script.
func noProgram(args []string) bool {
	if _, err := parseArgs(args); err == nil {
		return false
	}
	cfg, err := parseArgs(append(args[:len(args):len(args)], "-"))
	return err == nil && cfg != nil && cfg.file == "-" && !cfg.hasProg
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	return readline.IsTerminal(int(f.Fd()))
}

type repl struct {
	rl   *readline.Instance
	sess *session.Session
	out  io.Writer // probe output and printed maps
	msg  io.Writer // the shell's own messages and errors
	comp *completer
	hist *history // nil when there is no history file

	pending strings.Builder // lines of an unfinished input

	intr   chan struct{} // Ctrl-C while a command runs (the terminal is not raw then)
	intrOn atomic.Bool   // set by Ctrl-C, cleared before each command
	ending atomic.Bool   // exit() or a signal: leave the loop
	atPrompt,
	endAtPrompt atomic.Bool // in Readline; and was when the end came
}

func runREPL(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(append(args[:len(args):len(args)], "-"))
	if err != nil || cfg == nil {
		return fail(stderr, err)
	}
	switch {
	case cfg.dump != "":
		err = errors.New("-d needs a program")
	case cfg.pin != "":
		err = errors.New("--pin needs a program")
	case cfg.command != "":
		err = errors.New("-c needs a program")
	case cfg.dryRun:
		err = errors.New("--dry-run needs a program")
	}
	if err != nil {
		return fail(stderr, err)
	}
	env := systemEnv(cfg, stderr)
	copts := cfg.compileOptions(env)

	r := &repl{intr: make(chan struct{}, 1)}
	r.comp = &completer{r: r, env: env}
	rcfg := &readline.Config{
		Prompt:            prompt,
		HistoryLimit:      historyLimit,
		HistorySearchFold: true,
		AutoComplete:      r.comp,
		Stdout:            stdout,
		Stderr:            stderr,
	}
	var histLines []string
	if home, err := os.UserHomeDir(); err == nil {
		if r.hist, histLines, err = openHistory(filepath.Join(home, historyFile), historyLimit); err != nil {
			fmt.Fprintf(stderr, "WARNING: %v\n", err)
		}
		defer r.hist.close()
	}
	if f, ok := stdin.(*os.File); ok && f != os.Stdin {
		rcfg.Stdin = f
	}
	rl, err := readline.NewEx(rcfg)
	if err != nil {
		return fail(stderr, err)
	}
	r.rl = rl
	for _, l := range histLines {
		rl.SaveHistory(l) // in memory only: readline has no history file
	}
	// Through readline while it runs, so output lands above the line being
	// edited; straight to the terminal once it has closed.
	out, msg := bpfrt.NewSyncWriter(rl.Stdout()), bpfrt.NewSyncWriter(rl.Stderr())
	r.out, r.msg = out, msg
	if cfg.output != "" {
		f, err := createOutput(cfg.output)
		if err != nil {
			rl.Close()
			return fail(stderr, err)
		}
		defer f.Close()
		r.out = f
	}
	r.sess = session.New(copts, bpfrt.Options{Env: env, Out: r.out, Err: r.msg, Verbose: cfg.verbose, JSON: cfg.format == "json"})
	if cfg.metrics != "" {
		r.serveMetrics(cfg.metrics) // bpfsh --metrics ADDR on a terminal: from the start
	}

	// Ctrl-C reaches us as SIGINT only while a command runs (readline's raw
	// mode turns it into a key at the prompt). exit() and SIGTERM/SIGHUP end
	// the session as Ctrl-D does.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGINT {
					r.intrOn.Store(true)
					select {
					case r.intr <- struct{}{}:
					default:
					}
					continue
				}
				r.end()
			case <-r.sess.Exited():
				r.end()
				return
			case <-stop:
				return
			}
		}
	}()

	if !cfg.quiet {
		fmt.Fprintf(r.msg, "bpfsh v%s: type a probe to start it, :help for commands, Ctrl-D to quit\n", version)
	}
	r.loop()
	rl.Close()
	out.Set(stdout)
	msg.Set(stderr)
	if r.endAtPrompt.Load() {
		fmt.Fprintln(msg) // leave the prompt's line
	}
	return r.sess.Close()
}

// end leaves the loop from another goroutine: readline returns io.EOF.
func (r *repl) end() {
	if r.ending.CompareAndSwap(false, true) {
		r.endAtPrompt.Store(r.atPrompt.Load())
		r.rl.Close()
	}
}

func (r *repl) loop() {
	for !r.ending.Load() {
		if r.pending.Len() == 0 {
			r.rl.SetPrompt(prompt)
		} else {
			r.rl.SetPrompt(contPrompt)
		}
		r.atPrompt.Store(true)
		line, err := r.rl.Readline()
		r.atPrompt.Store(false)
		if r.ending.Load() {
			return
		}
		if errors.Is(err, readline.ErrInterrupt) {
			r.pending.Reset()
			continue
		}
		if err != nil { // io.EOF: Ctrl-D
			return
		}
		if err := r.hist.add(line); err != nil {
			fmt.Fprintf(r.msg, "WARNING: %v\n", err)
		}
		r.intrOn.Store(false)
		select {
		case <-r.intr:
		default:
		}
		if r.pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ":") {
			if r.command(strings.TrimSpace(line)) {
				return
			}
			continue
		}
		r.pending.WriteString(line)
		r.pending.WriteByte('\n')
		if r.input(r.pending.String()) {
			continue // more lines to come
		}
		r.pending.Reset()
	}
}

// What an input is, as far as parsing tells.
type inputKind int

const (
	inputEmpty  inputKind = iota
	inputProbes           // probes (or config): added to the session
	inputMore             // unfinished: an open brace, bracket or comment
	inputEval             // an expression or statements: run once
	inputBad              // broken probes: adding them shows the errors
)

// classify decides what src is: probes parse as a program; an expression
// or statements parse inside BEGIN { }.
func classify(src string) inputKind {
	if strings.TrimSpace(src) == "" {
		return inputEmpty
	}
	_, d := lang.Parse("stdin", []byte(src))
	switch {
	case !d.HasErrors():
		return inputProbes
	case d.Incomplete:
		return inputMore
	}
	const pre = "BEGIN { "
	_, sd := lang.Parse("stdin", []byte(pre+src+"\n}"))
	if !sd.HasErrors() {
		return inputEval
	}
	if unterminated(src) || endsEarly(sd, len(pre)+len(strings.TrimRight(src, " \t\n"))) {
		return inputMore
	}
	if looksLikeProbe(src) {
		return inputBad
	}
	return inputEval // shows the errors of the statement reading
}

// input handles a complete or partial input; it reports whether the input
// is unfinished.
func (r *repl) input(src string) (more bool) {
	switch classify(src) {
	case inputMore:
		return true
	case inputProbes, inputBad:
		r.add("stdin", src)
	case inputEval:
		r.report(r.sess.Eval("stdin", strings.TrimRight(src, "\n")))
	}
	return false
}

// unterminated reports whether src ends inside a block comment. (A string
// cannot span lines: an unterminated one is an error, not more to come.)
func unterminated(src string) bool {
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '"':
			for i++; i < len(src) && src[i] != '"' && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return true
			}
			i += end + 3
		}
	}
	return false
}

// endsEarly reports whether every error is at the end of the input (at
// offset end or after): an expression or statement that goes on on the
// next line, such as `(1 +` or `if (x) {`.
func endsEarly(d *lang.Diags, end int) bool {
	for _, g := range d.List {
		if g.Severity == lang.Error && g.Span.Start.Offset < end {
			return false
		}
	}
	return true
}

// looksLikeProbe guesses whether text that parses neither as probes nor as
// statements was meant as a probe, to show the errors of that reading.
func looksLikeProbe(src string) bool {
	s := strings.TrimSpace(src)
	if strings.HasPrefix(s, "BEGIN") || strings.HasPrefix(s, "END") || strings.Contains(s, "{") {
		return true
	}
	i := strings.IndexFunc(s, func(c rune) bool { return !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_') })
	return i > 0 && s[i] == ':'
}

func (r *repl) add(file, src string) {
	blocks, warnings, err := r.sess.Add(file, src)
	if warnings != "" {
		fmt.Fprint(r.msg, warnings)
	}
	if err != nil {
		r.report(err)
		return
	}
	for _, b := range blocks {
		fmt.Fprintf(r.msg, "[%d] %s\n", b.ID, describe(b))
	}
}

func describe(b *session.Block) string {
	switch b.Kind {
	case bpfrt.KindBegin:
		return b.Spec + ": ran"
	case bpfrt.KindEnd:
		return b.Spec + ": runs at exit"
	}
	s := "attached " + b.Spec
	if b.Points != 1 {
		s += fmt.Sprintf(" (%d points)", b.Points)
	}
	return s
}

func (r *repl) report(err error) {
	if err == nil {
		return
	}
	var d *session.Diagnostics
	if errors.As(err, &d) {
		fmt.Fprint(r.msg, d.Text)
		return
	}
	fmt.Fprintf(r.msg, "ERROR: %v\n", explain(err))
}

// command runs a :command; it reports whether the session should end.
func (r *repl) command(line string) (quit bool) {
	fields := strings.Fields(line)
	name, args := fields[0], fields[1:]
	rest := strings.TrimSpace(strings.TrimPrefix(line, name))
	switch name {
	case ":help", ":h", ":?":
		fmt.Fprint(r.msg, replHelp)
	case ":quit", ":q", ":exit":
		return true
	case ":probes", ":p":
		r.listProbes()
	case ":detach", ":d":
		if len(args) == 0 {
			fmt.Fprintln(r.msg, "ERROR: usage: :detach ID...|all")
			break
		}
		if len(args) == 1 && args[0] == "all" {
			r.sess.DetachAll()
			fmt.Fprintln(r.msg, "detached all probes")
			break
		}
		for _, a := range args {
			id, err := strconv.Atoi(strings.TrimPrefix(a, "#"))
			if err != nil {
				fmt.Fprintf(r.msg, "ERROR: :detach takes probe ids (see :probes) or all, not %q\n", a)
				continue
			}
			if err := r.sess.Detach(id); err != nil {
				r.report(err)
				continue
			}
			fmt.Fprintf(r.msg, "[%d] detached\n", id)
		}
	case ":maps":
		ms := r.sess.Maps()
		if len(ms) == 0 {
			fmt.Fprintln(r.msg, "no maps")
		}
		for _, m := range ms {
			if m.Key != "" {
				fmt.Fprintf(r.msg, "%s[%s]: %s\n", m.Name, m.Key, m.Value)
			} else {
				fmt.Fprintf(r.msg, "%s: %s\n", m.Name, m.Value)
			}
		}
	case ":print":
		names := args
		if len(names) == 0 {
			for _, m := range r.sess.Maps() {
				names = append(names, m.Name)
			}
		}
		w := &intrWriter{w: r.out, on: &r.intrOn}
		for _, n := range names {
			if err := r.sess.PrintMap(w, n); err != nil {
				if errors.Is(err, errInterrupted) || w.stopped {
					fmt.Fprintln(r.msg, "\ninterrupted")
					break
				}
				r.report(err)
			}
		}
	case ":clear":
		if len(args) == 0 {
			fmt.Fprintln(r.msg, "ERROR: usage: :clear @map...")
		}
		for _, n := range args {
			r.report(r.sess.ClearMap(n))
		}
	case ":wait", ":w":
		r.wait(rest)
	case ":load", ":l":
		if rest == "" {
			fmt.Fprintln(r.msg, "ERROR: usage: :load FILE")
			break
		}
		b, err := readScriptFile(expandHome(rest))
		if err != nil {
			r.report(err)
			break
		}
		src := string(b)
		if strings.HasPrefix(src, "#!") {
			src = "//" + src[2:] // keep line numbers; a shebang may only start a script
		}
		r.add(rest, src)
	case ":save", ":s":
		if rest == "" {
			fmt.Fprintln(r.msg, "ERROR: usage: :save FILE")
			break
		}
		text := "#!/usr/bin/env bpfsh\n// saved from a bpfsh session\n" + r.sess.Source()
		if err := os.WriteFile(expandHome(rest), []byte(text), 0o644); err != nil {
			r.report(err)
			break
		}
		fmt.Fprintf(r.msg, "saved to %s\n", rest)
	case ":metrics":
		if len(args) != 1 {
			fmt.Fprintln(r.msg, "ERROR: usage: :metrics ADDR (e.g. :metrics :9435)")
			break
		}
		r.serveMetrics(args[0])
	case ":reset":
		r.sess.Reset()
		fmt.Fprintln(r.msg, "session reset: no probes, no maps")
	default:
		fmt.Fprintf(r.msg, "ERROR: unknown command %s (:help lists them)\n", name)
	}
	return false
}

// serveMetrics serves the session's maps at addr, as --metrics serves a
// script's.
func (r *repl) serveMetrics(addr string) {
	mc, err := metricsAt(addr)
	if err == nil {
		addr, err = r.sess.ServeMetrics(mc)
	}
	if err != nil {
		r.report(err)
		return
	}
	fmt.Fprintf(r.msg, "serving metrics at http://%s/metrics\n", addr)
}

func (r *repl) listProbes() {
	blocks := r.sess.Blocks()
	if len(blocks) == 0 {
		fmt.Fprintln(r.msg, "no probes")
		return
	}
	hits := bpfrt.StatsEnabled()
	if hits {
		fmt.Fprintf(r.msg, "%-4s %-9s %6s %10s  %s\n", "ID", "STATE", "POINTS", "HITS", "PROBE")
	} else {
		fmt.Fprintf(r.msg, "%-4s %-9s %6s  %s\n", "ID", "STATE", "POINTS", "PROBE")
	}
	for _, b := range blocks {
		state := "attached"
		switch {
		case b.Kind == bpfrt.KindBegin:
			state = "ran"
		case b.Detached:
			state = "detached"
		case b.Kind == bpfrt.KindEnd:
			state = "at exit"
		}
		if hits {
			h := "-"
			if n, ok := b.Hits(); ok {
				h = strconv.FormatUint(n, 10)
			}
			fmt.Fprintf(r.msg, "%-4d %-9s %6d %10s  %s\n", b.ID, state, b.Points, h, b.Spec)
		} else {
			fmt.Fprintf(r.msg, "%-4d %-9s %6d  %s\n", b.ID, state, b.Points, b.Spec)
		}
	}
}

// wait lets probe output scroll without a prompt until the duration ends,
// Ctrl-C, or exit().
func (r *repl) wait(arg string) {
	var timeout <-chan time.Time
	if arg != "" {
		d, err := time.ParseDuration(arg)
		if err != nil {
			n, err2 := strconv.Atoi(arg)
			if err2 != nil {
				fmt.Fprintf(r.msg, "ERROR: :wait takes a duration such as 5s or 500ms, not %q\n", arg)
				return
			}
			d = time.Duration(n) * time.Second
		}
		timeout = time.After(d)
	}
	fmt.Fprintln(r.msg, "waiting; Ctrl-C returns to the prompt")
	select {
	case <-r.intr:
		fmt.Fprintln(r.msg)
	case <-timeout:
	case <-r.sess.Exited():
	}
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

var errInterrupted = errors.New("interrupted")

// intrWriter writes in pieces and stops at Ctrl-C, so a huge map's print
// can be cut short.
type intrWriter struct {
	w       io.Writer
	on      *atomic.Bool
	stopped bool
}

func (w *intrWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.stopped || w.on.Load() {
			w.stopped = true
			return n, errInterrupted
		}
		k := min(len(p), 4096)
		m, err := w.w.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// completer completes commands, probe specs (providers, tracepoints,
// kernel functions...), struct fields after -> and ., map names, builtins
// and functions.
type completer struct {
	r   *repl
	env *probes.Env

	cur string // the input so far, pending lines and the line being edited

	mu       sync.Mutex
	lists    map[string][]string // pattern → the names of the probes -l lists for it
	kfuncs   []string
	kfuncsOK bool
}

var commands = []string{":clear", ":detach", ":help", ":load", ":maps", ":metrics", ":print", ":probes", ":quit", ":reset", ":save", ":wait"}

var keywords = []string{"if", "else", "while", "for", "unroll", "return", "break", "continue", "config"}

// kernelFuncProviders take a kernel function name.
var kernelFuncProviders = map[string]bool{"k": true, "kprobe": true, "kr": true, "kretprobe": true,
	"f": true, "fentry": true, "fr": true, "fexit": true, "kfunc": true, "kretfunc": true}

func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	text := string(line[:pos])
	prefix := ""
	if c.r != nil {
		prefix = c.r.pending.String()
	}
	c.cur = prefix + string(line)
	if prefix == "" && strings.HasPrefix(strings.TrimLeft(text, " "), ":") {
		return c.command(strings.TrimLeft(text, " "))
	}
	// Fields: EXPR->na or EXPR.na
	word := trailing(text, isIdent)
	before := text[:len(text)-len(word)]
	if strings.HasSuffix(before, "->") || (strings.HasSuffix(before, ".") && !strings.HasSuffix(before, "..")) {
		return suffixes(c.fields(prefix+before), word, "")
	}
	var cands [][]rune
	if topLevel(prefix + before) {
		spec := trailing(text, func(r rune) bool { return !unicode.IsSpace(r) && r != ',' && r != '}' && r != ';' })
		if strings.Contains(spec, ":") {
			return c.spec(spec)
		}
		if spec == word {
			// A provider, or an expression to print.
			cands, _ = c.spec(spec)
		}
	}
	switch {
	case strings.HasSuffix(before, "@"):
		return suffixes(c.mapNames(prefix+text), "@"+word, "")
	case strings.HasSuffix(before, "$"):
		return nil, 0
	}
	if word == "" {
		return nil, 0
	}
	b, f := compiler.Names()
	var out []string
	out = append(out, b...)
	out = append(out, keywords...)
	bc, n := suffixes(out, word, "")
	fc, _ := suffixes(f, word, "(")
	return append(append(cands, bc...), fc...), n
}

func (c *completer) command(text string) ([][]rune, int) {
	name, arg, hasArg := strings.Cut(text, " ")
	if !hasArg {
		return suffixes(commands, name, " ")
	}
	arg = strings.TrimLeft(arg, " ")
	switch name {
	case ":print", ":clear":
		w := arg[strings.LastIndex(arg, " ")+1:]
		return suffixes(c.sessionMaps(), w, " ")
	case ":detach", ":d":
		w := arg[strings.LastIndex(arg, " ")+1:]
		names := []string{"all"}
		if c.r != nil && c.r.sess != nil {
			for _, b := range c.r.sess.Blocks() {
				if !b.Detached {
					names = append(names, strconv.Itoa(b.ID))
				}
			}
		}
		return suffixes(names, w, " ")
	case ":load", ":l", ":save", ":s":
		return suffixes(paths(arg), arg, "")
	}
	return nil, 0
}

// spec completes a probe spec: the provider, then each ':'-separated part.
func (c *completer) spec(word string) ([][]rune, int) {
	prov, rest, hasColon := strings.Cut(word, ":")
	if !hasColon {
		var names []string
		for _, n := range probes.Names() {
			if p, _ := probes.Lookup(n); p.Runs.Once() {
				// BEGIN and END take no parts.
				names = append(names, n)
			} else {
				names = append(names, n+":")
			}
		}
		for n := range kernelFuncProviders {
			if _, ok := probes.Lookup(n); !ok {
				names = append(names, n+":")
			}
		}
		sort.Strings(names)
		return suffixes(dedupe(names), word, "")
	}
	seg := rest[strings.LastIndex(rest, ":")+1:]
	var full []string
	switch {
	case kernelFuncProviders[prov]:
		for _, f := range c.kernelFuncs(seg) {
			full = append(full, prov+":"+f)
		}
	default:
		p, ok := probes.Lookup(prov)
		if !ok {
			return nil, 0
		}
		switch p.Name {
		case "interval", "profile":
			for _, u := range []string{"s:", "ms:", "us:", "hz:"} {
				full = append(full, prov+":"+u)
			}
		case "uprobe", "uretprobe":
			bin, sym, hasSym := strings.Cut(rest, ":")
			if !hasSym {
				for _, f := range paths(bin) {
					full = append(full, prov+":"+f)
				}
				break
			}
			for _, l := range c.list(p.Name + ":" + bin + ":" + sym + "*") {
				// List prints the resolved path; keep what the user typed.
				if i := strings.LastIndex(l, ":"); i >= 0 {
					full = append(full, prov+":"+bin+":"+l[i+1:])
				}
			}
		case "usdt":
			bin, _, hasSpec := strings.Cut(rest, ":")
			if !hasSpec {
				for _, f := range paths(bin) {
					full = append(full, prov+":"+f)
				}
				break
			}
			for _, l := range c.list("usdt:" + bin + ":*") {
				// usdt:FILE:PROVIDER:NAME; keep the binary as typed.
				if parts := strings.Split(l, ":"); len(parts) >= 4 {
					full = append(full, prov+":"+bin+":"+strings.Join(parts[len(parts)-2:], ":"))
				}
			}
		default:
			for _, l := range c.list(p.Name + ":*") {
				full = append(full, prov+strings.TrimPrefix(l, p.Name))
			}
		}
	}
	// Complete up to the next ':' only, one part at a time.
	seen := map[string]bool{}
	var cands [][]rune
	for _, f := range full {
		if !strings.HasPrefix(f, word) {
			continue
		}
		s := f[len(word):]
		if i := strings.Index(s, ":"); i >= 0 {
			s = s[:i+1]
		}
		if !seen[s] {
			seen[s] = true
			cands = append(cands, []rune(s))
		}
	}
	return cands, len([]rune(seg))
}

// list caches the names of the probes -l lists for a pattern.
func (c *completer) list(pattern string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.lists[pattern]; ok {
		return l
	}
	entries, _ := probes.Entries(c.env, pattern, false)
	l := make([]string, len(entries))
	for i, e := range entries {
		l[i] = e.Name
	}
	if c.lists == nil {
		c.lists = map[string][]string{}
	}
	c.lists[pattern] = l
	return l
}

func (c *completer) kernelFuncs(prefix string) []string {
	c.mu.Lock()
	if !c.kfuncsOK {
		c.kfuncsOK = true
		fs, _ := c.env.KernelFunctions()
		for _, f := range fs {
			c.kfuncs = append(c.kfuncs, f.Name)
		}
		sort.Strings(c.kfuncs)
		c.kfuncs = dedupe(c.kfuncs)
	}
	all := c.kfuncs
	c.mu.Unlock()
	i := sort.SearchStrings(all, prefix)
	j := i
	for j < len(all) && strings.HasPrefix(all[j], prefix) {
		j++
	}
	return all[i:j]
}

// fields lists the members of what text ends with: curtask->a->b-> or
// args. (the typed probe's tracepoint fields).
func (c *completer) fields(text string) []string {
	text = strings.TrimSuffix(strings.TrimSuffix(text, "->"), ".")
	var chain []string
	for {
		id := trailing(text, isIdent)
		if id == "" {
			return nil
		}
		chain = append([]string{id}, chain...)
		text = text[:len(text)-len(id)]
		switch {
		case strings.HasSuffix(text, "->"):
			text = text[:len(text)-2]
		case strings.HasSuffix(text, "."):
			text = text[:len(text)-1]
		default:
			return c.memberNames(chain)
		}
	}
}

func (c *completer) memberNames(chain []string) []string {
	switch chain[0] {
	case "args":
		if len(chain) != 1 {
			return nil
		}
		return c.args()
	case "curtask":
		names, _ := c.env.Members("task_struct", chain[1:])
		return names
	}
	return nil
}

// args lists the fields of the tracepoint the pending probe attaches to.
func (c *completer) args() []string {
	src := strings.TrimSpace(c.cur)
	spec := strings.FieldsFunc(src, func(r rune) bool { return unicode.IsSpace(r) || r == '{' || r == '/' || r == ',' })
	if len(spec) == 0 {
		return nil
	}
	prov, rest, _ := strings.Cut(spec[0], ":")
	p, ok := probes.Lookup(prov)
	if !ok || p.Context == nil {
		return nil
	}
	pts, err := p.Expand(c.env, strings.Split(rest, ":"))
	if err != nil || len(pts) == 0 {
		return nil
	}
	ctx, err := p.Context(c.env, pts[0])
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range ctx.Args {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// sessionMaps lists the session's map names.
func (c *completer) sessionMaps() []string {
	var names []string
	if c.r != nil && c.r.sess != nil {
		for _, m := range c.r.sess.Maps() {
			names = append(names, m.Name)
		}
	}
	return names
}

// mapNames lists the session's maps and those the input names so far.
func (c *completer) mapNames(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range c.sessionMaps() {
		seen[m] = true
		out = append(out, m)
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		name := "@" + leading(text[i+1:], isIdent)
		if len(name) > 1 && !seen[name] && i+len(name) < len(text) {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// paths completes a file name.
func paths(prefix string) []string {
	dir, base := filepath.Split(prefix)
	d := dir
	if d == "" {
		d = "."
	}
	ents, err := os.ReadDir(expandHome(d))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), base) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		name := dir + e.Name()
		if e.IsDir() {
			name += "/"
		}
		out = append(out, name)
	}
	return out
}

// topLevel reports whether text ends outside every brace (where a probe spec goes).
func topLevel(text string) bool {
	depth := 0
	inStr := false
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch {
		case inStr:
			if ch == '\\' {
				i++
			} else if ch == '"' {
				inStr = false
			}
		case ch == '"':
			inStr = true
		case ch == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case ch == '{':
			depth++
		case ch == '}':
			depth--
		}
	}
	return depth <= 0 && !inStr
}

func isIdent(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// trailing returns the longest suffix of s whose runes satisfy ok.
func trailing(s string, ok func(rune) bool) string {
	i := len(s)
	for i > 0 {
		r, size := lastRune(s[:i])
		if !ok(r) {
			break
		}
		i -= size
	}
	return s[i:]
}

func leading(s string, ok func(rune) bool) string {
	for i, r := range s {
		if !ok(r) {
			return s[:i]
		}
	}
	return s
}

func lastRune(s string) (rune, int) {
	rs := []rune(s)
	r := rs[len(rs)-1]
	return r, len(string(r))
}

// suffixes turns the names that start with word into readline candidates:
// what follows word, then add.
func suffixes(names []string, word, add string) ([][]rune, int) {
	var out [][]rune
	for _, n := range names {
		if strings.HasPrefix(n, word) && (n != word || add != "") {
			out = append(out, []rune(n[len(word):]+add))
		}
	}
	return out, len([]rune(word))
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
