package probes

import "golang.org/x/sys/unix"

// PidNS identifies a pid namespace as bpf_get_ns_current_pid_tgid wants
// it: the nsfs device (the kernel's encoding) and the inode.
type PidNS struct {
	Dev, Ino uint64
}

// initPidNSIno is the initial pid namespace's inode (PROC_PID_INIT_INO).
const initPidNSIno = 0xEFFFFFFC

// currentPidNS is the pid namespace bpfsh runs in, nil when it is the
// initial one (or cannot be told): pid and tid are then the kernel's own.
func (e *Env) currentPidNS() *PidNS {
	var st unix.Stat_t
	if err := unix.Stat(e.ProcPath("self", "ns", "pid"), &st); err != nil || st.Ino == initPidNSIno {
		return nil
	}
	// The kernel compares with its own dev_t: major << 20 | minor.
	major, minor := unix.Major(st.Dev), unix.Minor(st.Dev)
	return &PidNS{Dev: uint64(major)<<20 | uint64(minor), Ino: st.Ino}
}
