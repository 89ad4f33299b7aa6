package tests

import (
	"runtime"
	"syscall"
	"unsafe"
)

// FeatureSince maps REQUIRES_FEATURE names that depend only on the kernel's
// version to the Linux release that brought them. Stock (Debian) kernels
// don't backport BPF features, so on them the release answers; a Runner whose
// Features does not name such a feature decides it from the running kernel's
// release, and the skip reason names the feature and the release.
var FeatureSince = map[string]string{
	"for_each_map_elem":  "5.13", // bpf_for_each_map_elem: for ($kv : @m), len(@m)
	"iter_task_vma":      "5.12", // the task_vma BPF iterator
	"kfree_skb_reason":   "5.17", // skb:kfree_skb's reason field
	"lookup_percpu_elem": "5.19", // bpf_map_lookup_percpu_elem: a per-CPU aggregation read in the program
	"get_tai_ns":         "6.1",  // bpf_ktime_get_tai_ns: nsecs(tai)
	"loop":               "5.17", // bpf_loop: ranges longer than a verifier-walked loop
}

// featureProbes decide the REQUIRES_FEATURE names that no release pins
// down, by asking the running kernel.
var featureProbes = map[string]func() bool{
	// Hash maps with keys over 512 bytes (MAX_BPF_STACK): a string key of
	// max_strlen 1024. 5.10 refuses them, 6.1 takes them.
	"big_map_keys": func() bool {
		// BPF_MAP_CREATE of a BPF_MAP_TYPE_HASH: map_type, key_size,
		// value_size, max_entries, map_flags (BPF_F_NO_PREALLOC).
		sysBPF, ok := map[string]uintptr{"amd64": 321, "arm64": 280}[runtime.GOARCH]
		if !ok {
			return true
		}
		attr := [5]uint32{1, 1024, 8, 1, 1}
		fd, _, errno := syscall.Syscall(sysBPF, 0, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno == 0 {
			syscall.Close(int(fd))
		}
		return errno != syscall.E2BIG
	},
}

// hasFeature says whether feature f is present, and, when it is absent
// because of the kernel's release, which release brought it.
func (r *Runner) hasFeature(f string) (ok bool, since string) {
	if v, known := r.Features[f]; known {
		return v, ""
	}
	if probe, ok := featureProbes[f]; ok {
		return probe(), ""
	}
	if s, ok := FeatureSince[f]; ok {
		return compareVersions(kernelRelease(), s) >= 0, s
	}
	return false, ""
}
