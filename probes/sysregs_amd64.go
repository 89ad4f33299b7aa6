package probes

// syscallArgRegs are the struct pt_regs members holding a syscall's
// arguments on x86-64, in order (syscall_get_arguments).
var syscallArgRegs = []string{"di", "si", "dx", "r10", "r8", "r9"}
