// Package session is the REPL's front end: probes arrive one chunk of
// source at a time and start running at once, while earlier ones keep
// running. Each chunk is parsed and compiled together with every chunk
// before it, so a map or a printf sees the same types as in one script;
// a runtime.Live loads and attaches only the new chunk's probes, bound to
// the maps the session already has.
package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	bpfrt "github.com/bpfsh/bpfsh/runtime"
)

// A Session is an incremental run: its source so far and the probes it
// made, running in a runtime.Live.
type Session struct {
	live  *bpfrt.Live
	copts compiler.Options
	out   io.Writer // where a map typed as an expression prints

	chunks  []*chunk // committed source, in order
	blocks  []*Block
	nprobes int // probes in the committed source
	nextID  int
}

// chunk is one piece of the session's source: what the user typed or
// loaded, parsed once. A statement typed at the prompt is a BEGIN probe
// made around the parsed statements (an expression: BEGIN { print(x); }).
type chunk struct {
	prog   *lang.Program   // as parsed: every compilation works on copies
	origin *lang.Expansion // its file and text, carried by the spans of those copies
	save   string          // its text in a saved session (:save)
	run    bool            // made to run once: its block is named after what was typed
}

func newChunk(prog *lang.Program, save string) *chunk {
	return &chunk{prog: prog, origin: &lang.Expansion{File: prog.File, Src: prog.Src}, save: save}
}

// Block is one probe of the session: its source and, embedded, its
// kernel side (kind, points, whether it is detached, hits).
type Block struct {
	ID   int
	Spec string // attach points as written: "i:ms:100", "BEGIN"
	Text string // the probe's source
	*bpfrt.Probe

	chunk *chunk
}

// Diagnostics are compile errors (and warnings), rendered against what the
// user wrote: line 1 is the first line of the chunk, not of the session.
type Diagnostics struct{ Text string }

func (d *Diagnostics) Error() string { return d.Text }

// New starts an empty session. opts.Out receives probe output and printed
// maps; copts configures every compilation.
func New(copts compiler.Options, opts bpfrt.Options) *Session {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	s := &Session{live: bpfrt.NewLive(opts), copts: copts, out: opts.Out}
	s.reset()
	return s
}

func (s *Session) reset() {
	s.chunks, s.blocks, s.nprobes, s.nextID = nil, nil, 0, 1
}

// Exited is closed when a probe called exit(): the session should end.
func (s *Session) Exited() <-chan struct{} { return s.live.Exited() }

// Add compiles src (one or more probes, or config) with the session and
// starts its probes: BEGIN blocks run at once, END blocks wait for the end.
// On any error nothing changes. Warnings about src are returned as text.
func (s *Session) Add(file, src string) ([]*Block, string, error) {
	prog, d := lang.Parse(file, []byte(src))
	if d.HasErrors() {
		return nil, "", &Diagnostics{Text: d.Format()}
	}
	return s.add(newChunk(prog, src), true)
}

// Eval runs src once, as BEGIN would: an expression prints its value (a
// map without keys prints as print(@m) does); statements run, and are kept
// in the session (as a BEGIN block) when they change a map, so :save
// reproduces them.
func (s *Session) Eval(file, src string) error {
	body, d := lang.ParseStmts(file, []byte(src))
	if d.HasErrors() {
		return &Diagnostics{Text: d.Format()}
	}
	if len(body.Stmts) == 1 {
		if es, ok := body.Stmts[0].(*lang.ExprStmt); ok {
			if m, ok := es.X.(*lang.MapRef); ok && m.Keys == nil && s.live.HasMap("@"+m.Name) {
				return s.PrintMap(s.out, "@"+m.Name)
			}
			print := &lang.Call{Span: es.X.Sp(), Name: "print", Args: []lang.Expr{es.X}}
			expr := &lang.Block{Span: body.Span, Stmts: []lang.Stmt{&lang.ExprStmt{Span: es.Span, X: print}}}
			_, _, err := s.add(s.begin(file, src, expr), false)
			var diags *Diagnostics
			if _, isCall := es.X.(*lang.Call); !isCall || !errors.As(err, &diags) {
				return err
			}
			// A call that is not an expression (printf, clear...): a statement.
		}
	}
	_, _, err := s.add(s.begin(file, src, body), writesMaps(body))
	return err
}

// begin is a chunk that runs body, typed as src, once as a BEGIN probe.
func (s *Session) begin(file, src string, body *lang.Block) *chunk {
	begin := &lang.ProbeSpec{Span: body.Span, Raw: "BEGIN", Provider: "BEGIN"}
	prog := &lang.Program{Span: body.Span, File: file, Src: []byte(src),
		Probes: []*lang.Probe{{Span: body.Span, Specs: []*lang.ProbeSpec{begin}, Body: body}}}
	c := newChunk(prog, "BEGIN { "+src+"\n}")
	c.run = true
	return c
}

// writesMaps reports whether n assigns, increments or deletes map elements.
func writesMaps(n lang.Node) bool {
	found := false
	lang.Walk(n, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Assign:
			if _, ok := n.LHS.(*lang.MapRef); ok {
				found = true
			}
		case *lang.Unary:
			if _, ok := n.X.(*lang.MapRef); ok && (n.Op == "++" || n.Op == "--") {
				found = true
			}
		case *lang.Call:
			switch n.Name {
			case "delete", "clear", "zero":
				found = true
			}
		}
		return !found
	})
	return found
}

// add compiles the committed source plus c and starts c's probes. When
// keep is false the chunk is run (its BEGIN) and forgotten, with whatever
// it created.
func (s *Session) add(c *chunk, keep bool) (blocks []*Block, warnings string, err error) {
	// One program: copies of the chunks so far, which say where they come
	// from, then the new chunk's, which is the program's own text.
	prog := &lang.Program{Span: c.prog.Span, File: c.prog.File, Src: c.prog.Src}
	for _, ch := range s.chunks {
		prog.Add(ch.prog.Copy(ch.origin))
	}
	prog.Add(c.prog.Copy(nil))
	obj, cd := compiler.Compile(prog, s.copts)
	if cd.HasErrors() {
		return nil, "", s.diagnostics(cd.List, c)
	}
	// Only the new chunk's warnings: the others were shown when they came.
	var warns []lang.Diag
	for _, g := range cd.List {
		if g.Severity == lang.Warning && s.owner(g, c) == c {
			warns = append(warns, g)
		}
	}
	if len(warns) > 0 {
		warnings = s.diagnostics(warns, c).Text
	}

	// The new probes are the last ones; programs name their probe by index.
	batch, err := s.live.Load(obj, s.nprobes, len(prog.Probes))
	if err != nil {
		return nil, warnings, err
	}
	for i, p := range prog.Probes[s.nprobes:] {
		b := &Block{Spec: probeSpec(p), Text: string(c.prog.Src[p.Span.Start.Offset:p.Span.End.Offset]), Probe: batch.Probes[i], chunk: c}
		if c.run {
			b.Spec = strings.Join(strings.Fields(string(c.prog.Src)), " ") // a statement, run as BEGIN
			b.Text = c.save
		}
		blocks = append(blocks, b)
	}
	if keep {
		batch.Commit()
		s.commit(c, blocks, len(prog.Probes))
	}
	batch.RunBegin()
	if !keep {
		batch.Discard()
	}
	return blocks, warnings, nil
}

// commit makes the chunk and its blocks part of the session.
func (s *Session) commit(c *chunk, blocks []*Block, nprobes int) {
	s.chunks = append(s.chunks, c)
	s.nprobes = nprobes
	for _, b := range blocks {
		b.ID = s.nextID
		s.nextID++
		s.blocks = append(s.blocks, b)
	}
}

// Blocks lists the session's blocks, detached ones included.
func (s *Session) Blocks() []*Block { return append([]*Block(nil), s.blocks...) }

// Detach stops block id: its probes are detached (an END block will not run).
func (s *Session) Detach(id int) error {
	for _, b := range s.blocks {
		if b.ID != id {
			continue
		}
		if b.Detached {
			if b.Kind == bpfrt.KindBegin {
				return fmt.Errorf("probe %d (BEGIN) has already run", id)
			}
			return fmt.Errorf("probe %d is already detached", id)
		}
		s.live.Release(b.Probe)
		return nil
	}
	return fmt.Errorf("no probe %d (:probes lists them)", id)
}

// DetachAll detaches every block.
func (s *Session) DetachAll() {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		s.live.Release(s.blocks[i].Probe)
	}
}

// Maps lists the session's maps by name.
func (s *Session) Maps() []bpfrt.MapInfo { return s.live.Maps() }

// PrintMap prints one map as print(@m) would.
func (s *Session) PrintMap(w io.Writer, name string) error { return s.live.PrintMap(w, name) }

// ClearMap deletes every element of a map.
func (s *Session) ClearMap(name string) error { return s.live.ClearMap(name) }

// Source renders the session as a script: every chunk in order, as typed
// (macros and config included), detached probes commented out.
func (s *Session) Source() string {
	var b strings.Builder
	for _, c := range s.chunks {
		text := c.save
		for _, bl := range s.blocks {
			if bl.chunk == c && bl.Detached && bl.Kind != bpfrt.KindBegin {
				text = strings.Replace(text, bl.Text, "// detached:\n// "+strings.ReplaceAll(bl.Text, "\n", "\n// "), 1)
			}
		}
		b.WriteString(strings.TrimRight(text, "\n") + "\n")
	}
	return b.String()
}

// Reset detaches and frees everything, without END or printing maps: the
// session starts over.
func (s *Session) Reset() {
	s.live.Reset()
	s.reset()
}

// ServeMetrics serves the session's maps to Prometheus at addr (:metrics).
func (s *Session) ServeMetrics(cfg *bpfrt.MetricsConfig) (string, error) {
	return s.live.ServeMetrics(cfg)
}

// Close ends the session as a script ends: it detaches every probe, runs
// the END blocks, prints the maps and frees every kernel object. It returns
// the exit code a probe asked for with exit(), else 0.
func (s *Session) Close() int { return s.live.Close() }

func probeSpec(p *lang.Probe) string {
	var parts []string
	for _, sp := range p.Specs {
		parts = append(parts, sp.Raw)
	}
	return strings.Join(parts, ", ")
}
