package runtime

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// outputGuard sits between a run's output buffer and its destination, so
// that nothing is lost silently: the first failed write (a full disk, an
// I/O error, /dev/full) ends the run as exit() would, the rest of the
// output (END's, the maps, "Lost N events") goes to stderr instead, and Run
// returns the error, so the exit status says output was lost. A reader that
// closed its end (EPIPE, as after `| head -1`) also ends the run, quietly:
// that reader asked for no more.
type outputGuard struct {
	w      io.Writer
	mu     sync.Mutex
	err    error
	failed chan struct{} // closed at the first failure
	// since is when the write under way started (UnixNano), 0 between
	// writes: a reader that stopped reading blocks one (blocked).
	since atomic.Int64
}

func newOutputGuard(w io.Writer) *outputGuard {
	return &outputGuard{w: w, failed: make(chan struct{})}
}

func (g *outputGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	g.since.Store(time.Now().UnixNano())
	n, err := g.w.Write(p)
	g.since.Store(0)
	if err != nil {
		g.err = err
		close(g.failed)
	}
	return n, err
}

// done is closed when output has failed; nil (never ready) without a guard.
func (g *outputGuard) done() <-chan struct{} {
	if g == nil {
		return nil
	}
	return g.failed
}

// blocked reports whether a write has been waiting for at least d.
func (g *outputGuard) blocked(d time.Duration) bool {
	if g == nil {
		return false
	}
	t := g.since.Load()
	return t != 0 && time.Since(time.Unix(0, t)) >= d
}

func (g *outputGuard) error() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func closedReader(err error) bool { return errors.Is(err, syscall.EPIPE) }

// fallback is where the rest of the output goes once it has failed:
// stderr, or nowhere for a closed reader. Without a failure, out itself.
func (g *outputGuard) fallback(out *bufio.Writer, stderr io.Writer) *bufio.Writer {
	switch err := g.error(); {
	case err == nil:
		return out
	case closedReader(err):
		return bufio.NewWriter(io.Discard)
	default:
		return bufio.NewWriter(stderr)
	}
}

// lost is the error Run returns for failed output; nil for none or for a
// closed reader.
func (g *outputGuard) lost() error {
	if err := g.error(); err != nil && !closedReader(err) {
		return &OutputError{Err: err}
	}
	return nil
}

// OutputError says the run's output could not be written; the rest of it
// (maps, loss report) was written to stderr.
type OutputError struct{ Err error }

func (e *OutputError) Error() string {
	return "output lost: " + e.Err.Error() + " (the rest of the output, maps included, went to stderr)"
}

func (e *OutputError) Unwrap() error { return e.Err }
