package compiler

import (
	"sync"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// The builtin table: one row for every name the language predeclares, and
// for each bpftrace name bpfsh does not support yet, so that adding or
// changing a builtin touches one row and the code it names. The checker,
// code generation, the standard library and the REPL's completer all read
// it. lang keeps the value names its grammar needs (a builtin is never a
// cast type nor a macro parameter); TestBuiltinNamesMatchLang ties them.

// form is how a script may use a builtin: a name can have several.
type form uint8

const (
	formValue form = 1 << iota // a value: pid
	formCall                   // a function with a value: str(p)
	formStmt                   // a function with no value, a statement: printf(...)
	formAgg                    // an aggregation, assigned to a map: @x = count()
	formFunc  = formCall | formStmt | formAgg
)

type builtin struct {
	name string
	form form
	// todo: bpftrace has it and bpfsh does not yet; it parses, and the
	// checker says so at its span. With ctx, the probe's context defines
	// the name where it has it (retval, args.NAME), and elsewhere it is
	// reported the same way.
	todo, ctx bool

	// A value's type and code.
	typ   *Type
	value func(g *gen) *val

	// A function's signature: operand describes the one argument of the
	// simple functions, checked the same way for all (then result is the
	// type); the others have a check of their own.
	operand *operand
	result  *Type
	check   func(k *checker, e *lang.Call) *Type
	emit    func(g *gen, e *lang.Call) *val

	// Output: sends, the call sends events through the ring buffer;
	// record, the layout of the record it sends (nil: none, or a fixed
	// event), which the resource pass gives an id (resources.go).
	sends  bool
	record func(c *compiler, sc *scope, e *lang.Call) *Printf
}

// operand is the argument of a one-argument function: the kinds it
// accepts, and how the error says what it wants ("needs a string").
type operand struct {
	kinds []Kind
	want  string
}

var (
	wantInt  = &operand{[]Kind{KInt}, "needs an integer"}
	wantAddr = &operand{[]Kind{KInt, KPtr}, "needs an address"}
)

// builtinRows is the table. It is a function, not a variable, because
// its checks reach back into it (a check checks its arguments, which may
// be calls): Go forbids a variable whose initialiser refers to itself.
func builtinRows() []builtin {
	return []builtin{
		// process
		{name: "pid", form: formValue | formCall, typ: tUint64, value: func(g *gen) *val { return g.pidTid(false, false) },
			check: checkPidTid, emit: emitPidTid},
		{name: "tid", form: formValue | formCall, typ: tUint64, value: func(g *gen) *val { return g.pidTid(true, false) },
			check: checkPidTid, emit: emitPidTid},
		{name: "uid", form: formValue, typ: tUint64, value: emitUid},
		{name: "gid", form: formValue, typ: tUint64, value: emitGid},
		{name: "username", form: formValue, typ: tUsername, value: emitUsername},
		{name: "comm", form: formValue, typ: strType(16), value: emitComm},
		{name: "cpid", form: formValue, typ: tUint64, value: func(g *gen) *val { return g.patched(PatchChildPID) }},
		{name: "cgroup", form: formValue, typ: tUint64, value: helperValue(asm.FnGetCurrentCgroupId)},
		{name: "curtask", form: formValue, typ: tUint64, value: helperValue(asm.FnGetCurrentTask)},
		{name: "usermode", form: formValue, typ: tUint64, value: emitUsermode},
		{name: "cgroupid", form: formCall, check: checkCgroupid, emit: emitCgroupid},
		{name: "cgroup_path", form: formCall, check: checkCgroupPath, emit: emitPassInt},
		{name: "ppid", form: formValue, todo: true},

		// time
		{name: "nsecs", form: formValue | formCall, typ: tUint64, value: helperValue(asm.FnKtimeGetNs),
			check: checkNsecs, emit: emitNsecs},
		{name: "elapsed", form: formValue, typ: tUint64, value: emitElapsed},
		{name: "jiffies", form: formValue, typ: tUint64, value: helperValue(asm.FnJiffies64)},
		{name: "strftime", form: formCall, check: checkStrftime, emit: emitStrftime},
		{name: "time", form: formStmt, check: checkTime, emit: emitCommandFunc, sends: true, record: commandRecord(EventTime)},

		// machine
		{name: "cpu", form: formValue, typ: tUint64, value: helperValue(asm.FnGetSmpProcessorId)},
		{name: "ncpus", form: formValue, typ: tUint64, value: func(g *gen) *val { return g.patched(PatchNCPUs) }},
		{name: "numaid", form: formValue, typ: tUint64, value: helperValue(asm.FnGetNumaNodeId)},
		{name: "rand", form: formValue, typ: tUint64, value: helperValue(asm.FnGetPrandomU32)},

		// the probe and its context
		{name: "probe", form: formValue, typ: strType(64), value: (*gen).probeName},
		{name: "probetype", form: formValue, typ: strType(16), value: func(g *gen) *val { return g.strLit(probeType(g.sc.prov), 16) }},
		{name: "ctx", form: formValue, typ: tCtx, value: emitCtx},
		{name: "args", form: formValue, ctx: true, todo: true},
		{name: "retval", form: formValue, ctx: true, todo: true},
		{name: "func", form: formValue, ctx: true, todo: true},
		{name: "arg0", form: formValue, ctx: true, todo: true},
		{name: "arg1", form: formValue, ctx: true, todo: true},
		{name: "arg2", form: formValue, ctx: true, todo: true},
		{name: "arg3", form: formValue, ctx: true, todo: true},
		{name: "arg4", form: formValue, ctx: true, todo: true},
		{name: "arg5", form: formValue, ctx: true, todo: true},
		{name: "sarg0", form: formValue, ctx: true, todo: true},
		{name: "sarg1", form: formValue, ctx: true, todo: true},
		{name: "sarg2", form: formValue, ctx: true, todo: true},

		// strings and bytes
		{name: "str", form: formCall, check: checkStr, emit: emitStr},
		{name: "buf", form: formCall, check: checkBuf, emit: emitBuf},
		{name: "strlen", form: formCall, operand: &operand{[]Kind{KString}, "needs a string"}, result: tUint64,
			emit: emitStrlen},
		{name: "strncmp", form: formCall, check: checkStrncmp, emit: emitStrncmp},
		{name: "strcontains", form: formCall, check: checkStrcontains, emit: emitStrcontains},
		{name: "strerror", form: formCall, operand: &operand{[]Kind{KInt}, "takes an errno"}, result: tStrerror,
			emit: emitPassInt},
		{name: "signal_name", form: formCall, operand: &operand{[]Kind{KInt}, "takes a signal number"},
			result: &Type{Kind: KInt, Size: 8, Signed: true, Format: FormatSignal}, emit: emitPassInt},
		{name: "syscall_name", form: formCall, operand: &operand{[]Kind{KInt}, "takes a system call number"},
			result: &Type{Kind: KInt, Size: 8, Signed: true, Format: FormatSyscall}, emit: emitPassInt},
		{name: "bswap", form: formCall, check: checkBswap, emit: emitBswap},
		{name: "ntop", form: formCall, check: checkNtop, emit: emitNtop},
		{name: "pton", form: formCall, check: checkPton, emit: emitPton},
		{name: "sizeof", form: formCall, check: checkSizeof, emit: emitSizeof},
		{name: "offsetof", form: formCall, check: checkOffsetof, emit: emitOffsetof},
		{name: "path", form: formCall, todo: true},
		{name: "macaddr", form: formCall, todo: true},

		// output
		{name: "printf", form: formStmt, check: checkPrintf, emit: emitPrintf, sends: true, record: printfRecord(0)},
		{name: "errorf", form: formStmt, check: checkPrintf, emit: emitReport, sends: true, record: reportRecord(EventErrorf)},
		{name: "warnf", form: formStmt, check: checkPrintf, emit: emitReport, sends: true, record: reportRecord(EventWarnf)},
		{name: "debugf", form: formStmt, check: checkDebugf, emit: emitDebugf},
		{name: "print", form: formStmt, check: checkPrint, emit: emitPrint, sends: true, record: printRecord},
		{name: "join", form: formStmt, check: checkJoin, emit: emitJoin, sends: true, record: joinRecord},
		{name: "cat", form: formStmt, check: checkCommandFunc, emit: emitCommandFunc, sends: true, record: commandRecord(EventCat)},
		{name: "system", form: formStmt, check: checkCommandFunc, emit: emitCommandFunc, sends: true, record: commandRecord(EventSystem)},
		{name: "exit", form: formStmt, check: checkExit, emit: emitExit},
		{name: "getopt", form: formCall, check: checkGetopt, emit: emitGetopt},
		{name: "skboutput", form: formCall, todo: true},

		// maps
		{name: "count", form: formAgg, check: checkAgg},
		{name: "sum", form: formAgg, check: checkAgg},
		{name: "min", form: formAgg, check: checkAgg},
		{name: "max", form: formAgg, check: checkAgg},
		{name: "avg", form: formAgg, check: checkAgg},
		{name: "stats", form: formAgg, check: checkAgg},
		{name: "hist", form: formAgg, check: checkAgg},
		{name: "lhist", form: formAgg, check: checkAgg},
		{name: "tseries", form: formAgg, check: checkAgg},
		{name: "clear", form: formStmt, check: checkMapOnly, emit: emitMapEvent(EventClear), sends: true},
		{name: "zero", form: formStmt, check: checkMapOnly, emit: emitMapEvent(EventZero), sends: true},
		{name: "delete", form: formCall, check: checkDelete, emit: emitDelete},
		{name: "has_key", form: formCall, check: checkHasKey, emit: emitHasKey},
		{name: "len", form: formCall, check: checkLen, emit: emitLen},

		// stacks and symbols
		{name: "kstack", form: formValue | formCall, typ: tKstack, value: func(g *gen) *val { return g.stack(false) },
			check: checkStack, emit: emitStack},
		{name: "ustack", form: formValue | formCall, typ: tUstack, value: func(g *gen) *val { return g.stack(true) },
			check: checkStack, emit: emitStack},
		{name: "ksym", form: formCall, operand: wantAddr, result: tKsym, emit: emitSym},
		{name: "usym", form: formCall, operand: wantAddr, result: tUsym, emit: emitSym},

		// kernel memory and actions
		{name: "percpu_kaddr", form: formCall, check: checkPercpuKaddr, emit: emitPercpuKaddr},
		{name: "write_user", form: formCall, check: checkWriteUser, emit: emitWriteUser},
		{name: "signal", form: formStmt, check: checkSignal, emit: emitSignal},
		{name: "override", form: formStmt, check: checkOverride, emit: emitOverride},
		{name: "setsockopt", form: formCall, check: checkSetsockopt, emit: emitSetsockopt},
		{name: "kaddr", form: formCall, check: checkKaddr, emit: emitKaddr},
		{name: "uaddr", form: formCall, todo: true},
		{name: "kptr", form: formCall, todo: true},
		{name: "uptr", form: formCall, todo: true},
		{name: "reg", form: formCall, check: checkReg, emit: emitReg},
		{name: "unwatch", form: formCall, todo: true},
	}
}

var (
	builtinOnce  sync.Once
	builtinIndex map[string]*builtin
)

// lookupBuiltin is the row for name, or nil.
func lookupBuiltin(name string) *builtin {
	builtinOnce.Do(func() {
		rows := builtinRows()
		builtinIndex = make(map[string]*builtin, len(rows))
		for i := range rows {
			builtinIndex[rows[i].name] = &rows[i]
		}
	})
	return builtinIndex[name]
}

// valueRow is name's row if name is an implemented builtin value.
func valueRow(name string) *builtin {
	if b := lookupBuiltin(name); b != nil && !b.todo && b.form&formValue != 0 {
		return b
	}
	return nil
}

// funcRow is name's row if name is an implemented function.
func funcRow(name string) *builtin {
	if b := lookupBuiltin(name); b != nil && !b.todo && b.form&formFunc != 0 {
		return b
	}
	return nil
}

// isTodo reports whether name is a bpftrace builtin bpfsh lacks.
func isTodo(name string) bool {
	b := lookupBuiltin(name)
	return b != nil && b.todo
}

// checkOperand is the check of the one-argument functions: the count,
// then the argument's kind.
func checkOperand(k *checker, e *lang.Call, o *operand) (*Type, bool) {
	if !k.nargs(e, 1, 1) {
		return nil, false
	}
	t := k.expr(e.Args[0])
	for _, kind := range o.kinds {
		if t.Kind == kind {
			return t, true
		}
	}
	k.errorf(e.Args[0].Sp(), "%s() %s, not %s", e.Name, o.want, t)
	return t, false
}

// helperValue is a value that one helper call without arguments returns.
func helperValue(fn asm.BuiltinFunc) func(g *gen) *val {
	return func(g *gen) *val { return g.helperCall(fn, true) }
}

// patched is a value the runtime patches into the instruction at load.
func (g *gen) patched(kind PatchKind) *val {
	r := g.newTemp(tUint64)
	g.emit(asm.LoadImm(r.reg, 0, asm.DWord).WithSymbol(g.c.patchSymbol(kind)))
	return r
}

// tCtx is the probe's context pointer, to cast: (struct x *)ctx.
var tCtx = &Type{Kind: KPtr, Size: 8}

func emitCtx(g *gen) *val {
	r := g.newTemp(tCtx)
	g.emit(asm.Mov.Reg(r.reg, ctxReg))
	return r
}

// probeType is bpftrace's name for a kind of probe: "special" for
// bpftrace's own (BEGIN, END, self), else the provider's name (usb for
// usb:device, which bpfsh also runs itself).
func probeType(prov *probes.Provider) string {
	if prov.Runs.Once() || prov.Runs == probes.OnSignal {
		return "special"
	}
	return prov.Name
}
