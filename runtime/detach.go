package runtime

import (
	"io"
	"sync"
)

// maxParallelDetach bounds the links closed at once (each close that
// waits blocks a thread).
const maxParallelDetach = 64

// closeAll closes links, several at a time. Detaching a tracepoint's perf
// event waits for an RCU grace period (some 60 ms here); closed one after
// another, a script of N tracepoints took N times that to end, while
// closes that overlap share their grace periods.
func closeAll(links []io.Closer) {
	if len(links) == 1 {
		links[0].Close()
		return
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxParallelDetach)
	for i := len(links) - 1; i >= 0; i-- {
		slots <- struct{}{}
		wg.Add(1)
		go func(l io.Closer) {
			defer wg.Done()
			l.Close()
			<-slots
		}(links[i])
	}
	wg.Wait()
}
