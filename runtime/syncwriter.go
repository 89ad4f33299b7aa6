package runtime

import (
	"io"
	"sync"
)

// SyncWriter serializes the writes of several goroutines (a Live's map and
// event readers, its user) to one writer, whose destination may change
// while they write (the REPL moves output between readline and the bare
// terminal).
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter writes to w until Set changes it.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Set sends the writes that follow to w.
func (s *SyncWriter) Set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}
