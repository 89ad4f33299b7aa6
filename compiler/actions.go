package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Actions on the machine: signal(). The others have a file each:
// override.go, writeuser.go, kaddr.go (percpu_kaddr()), sockops.go
// (setsockopt(), reply), packet.go (drop). Each asks needUnsafeAt.

var signals = map[string]int64{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7, "SIGFPE": 8,
	"SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
	"SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22,
}

func (k *checker) needUnsafe(e *lang.Call) {
	k.needUnsafeAt(e.Span, e.Name+"()", "is a destructive action")
}

// needUnsafeAt refuses, without --unsafe, a statement that changes what the
// kernel does rather than watching it (signal, override, a packet verdict
// other than pass, a sock_ops write): a mistyped one, pinned, can cut a
// host off until reboot, so the operator says so explicitly.
func (k *checker) needUnsafeAt(sp lang.Span, what, why string) {
	if !k.c.opts.Unsafe {
		k.errorf(sp, "%s %s: run bpfsh with --unsafe to allow it", what, why)
	}
}

func checkSignal(k *checker, e *lang.Call) *Type {
	k.needUnsafe(e)
	if !k.nargs(e, 1, 1) {
		return tNone
	}
	switch a := e.Args[0].(type) {
	case *lang.StrLit:
		if _, ok := signals[a.Val]; !ok {
			k.errorf(a.Span, "unknown signal %q", a.Val)
		}
	case *lang.Ident:
		if _, ok := signals[a.Name]; !ok {
			k.errorf(a.Span, "unknown signal %s", a.Name)
		}
	default:
		if t := k.expr(e.Args[0]); t.Kind != KInt {
			k.errorf(e.Args[0].Sp(), "signal() takes a signal name or number")
		}
	}
	return tNone
}

func emitSignal(g *gen, e *lang.Call) *val {
	var sig *val
	switch a := e.Args[0].(type) {
	case *lang.StrLit:
		sig = imm(signals[a.Val], tInt64)
	case *lang.Ident:
		sig = imm(signals[a.Name], tInt64)
	default:
		sig = g.expr(a)
	}
	g.helperCall(asm.FnSendSignal, false, sig)
	return nil
}
