package main

import (
	"sync"
	"time"
)

// ---------------------------------------------------------------------------
// 8. scripts of many tracepoints (issue 18): how long they take to start
// and, above all, to end (a perf-event tracepoint's detach waits for an
// RCU-tasks grace period).

var scalePrograms = []struct{ label, what, src string }{
	{"sys", "every syscall's entry (`t:syscalls:sys_enter_*`)",
		`t:syscalls:sys_enter_* { @[probe] = count(); } i:ms:500 { printf("exiting\n"); exit(); }`},
	{"sched", "every sched tracepoint (`t:sched:*`)",
		`t:sched:* { @[probe] = count(); } i:ms:500 { printf("exiting\n"); exit(); }`},
}

func (b *bench) scale() {
	for _, p := range scalePrograms {
		b.doc("8", "many tracepoints: "+p.what, p.src, nil,
			"stdout read line by line; wall from fork/exec to wait4; attach: the \"Attach\" line; exit: from the interval's \"exiting\" line (its printf runs just before exit()) to wait4")
	}
	for r := 0; r < b.runs; r++ {
		for _, p := range scalePrograms {
			for _, t := range b.order(r) {
				b.scaleRun(t, p.label, p.src)
			}
		}
	}
}

// scaleRun runs one tool on one program and records its times.
func (b *bench) scaleRun(t tool, label, src string) {
	var mu sync.Mutex
	var exiting time.Time
	p, err := startProc(t.argv("-e", src), procOpts{env: t.env, stdout: true, timeout: 2 * time.Minute, onLine: func(l []byte) {
		mu.Lock()
		if exiting.IsZero() && string(l) == "exiting" {
			exiting = time.Now()
		}
		mu.Unlock()
	}})
	if err != nil {
		b.failf("8 %s: %s: %v", label, t.name, err)
		return
	}
	res := p.wait()
	end := time.Now()
	if !b.check(t, "8 "+label, nil, res) {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if res.attach == 0 || exiting.IsZero() {
		b.failf("8 %s: %s printed no attach or no \"exiting\" line", label, t.name)
		return
	}
	b.s.add("8."+label+".wall", label+" one-liner: total wall time (≥ 500 ms by design)", "ms", t.name, ms(res.wall))
	b.s.add("8."+label+".attach", label+" one-liner: time to the attach line", "ms", t.name, ms(res.attach))
	b.s.add("8."+label+".exit", label+" one-liner: from exit() to the process's end", "ms", t.name, ms(end.Sub(exiting)))
}
