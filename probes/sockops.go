package probes

import (
	"io"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// sockops runs a program on TCP events of every socket in a cgroup2
// directory (default: the cgroup2 root) — the hook for TCP policy: SYN
// timeouts, initial windows, congestion control.
func init() {
	register(&Provider{
		Name:       "sockops",
		Aliases:    []string{"sock_ops"},
		ProgType:   ebpf.SockOps,
		AttachType: ebpf.AttachCGroupSockOps,
		Expand:     expandCgroup("sockops"),
		Context:    func(*Env, Point) (*Context, error) { return sockopsContext(), nil },
		Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			return link.AttachCgroup(link.CgroupOptions{Path: p.Target[0], Attach: ebpf.AttachCGroupSockOps, Program: prog})
		},
	})
}

// expandCgroup resolves a cgroup2 directory; none given means the root.
func expandCgroup(provider string) func(*Env, []string) ([]Point, error) {
	return func(env *Env, parts []string) ([]Point, error) {
		dir := strings.Join(parts, ":")
		if dir == "" {
			root, err := env.Cgroup2Root()
			if err != nil {
				return nil, err
			}
			dir = root
		}
		if env.SkipCgroupCheck {
			return []Point{{Provider: provider, Target: []string{dir}}}, nil
		}
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return nil, errorf("%s: cgroup %s: %v", provider, dir, err)
		}
		if st.Type != unix.CGROUP2_SUPER_MAGIC {
			return nil, errorf("%s: %s is not a cgroup2 directory", provider, dir)
		}
		return []Point{{Provider: provider, Target: []string{dir}}}, nil
	}
}

// Cgroup2Root finds the cgroup2 mount point.
func (e *Env) Cgroup2Root() (string, error) {
	mounts, err := e.CgroupMounts()
	if err != nil {
		return "", errorf("cannot find the cgroup2 mount: %v", err)
	}
	for _, m := range mounts {
		if m.Name == "unified" {
			return m.Dir, nil
		}
	}
	return "", errorf("no cgroup2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)")
}

// CgroupMount is a mounted cgroup hierarchy: Name is "unified" for cgroup2
// and the controllers ("cpu,cpuacct") for a v1 hierarchy.
type CgroupMount struct{ Name, Dir string }

// CgroupMounts lists the mounted cgroup hierarchies, in procfs's
// self/mountinfo order.
func (e *Env) CgroupMounts() ([]CgroupMount, error) {
	data, err := os.ReadFile(e.ProcPath("self", "mountinfo"))
	if err != nil {
		return nil, err
	}
	var out []CgroupMount
	for _, line := range strings.Split(string(data), "\n") {
		// id parent maj:min root mountpoint opts ... - fstype source superopts
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup2":
			out = append(out, CgroupMount{"unified", f[4]})
		case "cgroup":
			var names []string
			for _, o := range strings.Split(g[2], ",") {
				if o != "rw" && o != "ro" && !strings.HasPrefix(o, "release_agent=") && o != "clone_children" {
					names = append(names, o)
				}
			}
			out = append(out, CgroupMount{strings.Join(names, ","), f[4]})
		}
	}
	return out, nil
}

// CgroupID is a cgroup2 directory's id, which bpf_get_current_cgroup_id
// returns: its inode number.
func (e *Env) CgroupID(dir string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	return st.Ino, nil
}

// Conversions the compiler applies when a sockops field is read.
const (
	ConvNone     = ""
	ConvBswap32  = "bswap32" // network-order u32 to host order (remote_port)
	ConvShr3     = "shr3"    // srtt_us is kept as µs << 3
	ConvInetAddr = "inet"    // an IPv4/IPv6 address: Offset is the v4 field, Offset6 the v6 one
	ConvFuncIP   = "funcip"  // the probed function's address (bpf_get_func_ip), printed as a symbol
)

func sockField(name string, off int) Field { return Field{Name: name, Offset: off, Size: 4} }

// sockopsContext describes struct bpf_sock_ops (include/uapi/linux/bpf.h),
// built when a script first uses sockops, not at every start.
var sockopsContext = sync.OnceValue(func() *Context {
	c := &Context{Return: 1, Reply: &Field{Name: "reply", Offset: 4, Size: 4}}
	raw := []struct {
		name string
		off  int
	}{
		{"op", 0}, {"reply", 4}, {"replylong", 4}, {"family", 20}, {"remote_ip4", 24}, {"local_ip4", 28},
		{"remote_port", 64}, {"local_port", 68}, {"is_fullsock", 72}, {"snd_cwnd", 76}, {"srtt_us", 80},
		{"bpf_sock_ops_cb_flags", 84}, {"state", 88}, {"rtt_min", 92}, {"snd_ssthresh", 96},
		{"rcv_nxt", 100}, {"snd_nxt", 104}, {"snd_una", 108}, {"mss_cache", 112}, {"ecn_flags", 116},
		{"rate_delivered", 120}, {"rate_interval_us", 124}, {"packets_out", 128}, {"retrans_out", 132},
		{"total_retrans", 136}, {"segs_in", 140}, {"data_segs_in", 144}, {"segs_out", 148},
		{"data_segs_out", 152}, {"lost_out", 156}, {"sacked_out", 160}, {"sk_txhash", 164},
		{"skb_len", 208}, {"skb_tcp_flags", 212},
	}
	for _, r := range raw {
		c.Args = append(c.Args, sockField(r.name, r.off))
	}
	for i := 0; i < 4; i++ {
		c.Args = append(c.Args, sockField("arg"+string(rune('0'+i)), 4+4*i))
	}
	c.Args = append(c.Args,
		Field{Name: "bytes_received", Offset: 168, Size: 8},
		Field{Name: "bytes_acked", Offset: 176, Size: 8})
	c.Builtins = []Field{
		sockField("op", 0),
		sockField("family", 20),
		sockField("state", 88),
		sockField("snd_cwnd", 76),
		sockField("snd_ssthresh", 96),
		sockField("rtt_min", 92),
		sockField("mss_cache", 112),
		sockField("total_retrans", 136),
		sockField("is_fullsock", 72),
		sockField("lport", 68),
		{Name: "rport", Offset: 64, Size: 4, Conv: ConvBswap32},
		{Name: "srtt_us", Offset: 80, Size: 4, Conv: ConvShr3},
		{Name: "laddr", Offset: 28, Offset6: 48, Size: 4, Conv: ConvInetAddr},
		{Name: "raddr", Offset: 24, Offset6: 32, Size: 4, Conv: ConvInetAddr},
	}
	c.Consts = map[string]int64{}
	ops := []string{"VOID", "TIMEOUT_INIT", "RWND_INIT", "TCP_CONNECT_CB", "ACTIVE_ESTABLISHED_CB",
		"PASSIVE_ESTABLISHED_CB", "NEEDS_ECN", "BASE_RTT", "RTO_CB", "RETRANS_CB", "STATE_CB",
		"TCP_LISTEN_CB", "RTT_CB", "PARSE_HDR_OPT_CB", "HDR_OPT_LEN_CB", "WRITE_HDR_OPT_CB"}
	for i, op := range ops {
		c.Consts[op] = int64(i)
		c.Consts["BPF_SOCK_OPS_"+op] = int64(i)
	}
	for name, v := range SockoptConsts {
		c.Consts[name] = v
	}
	// Using these ops in a script turns on their callbacks.
	c.CallbackFlags = map[string]int64{"RTO_CB": 1, "RETRANS_CB": 2, "STATE_CB": 4, "RTT_CB": 8}
	return c
})

// SockoptConsts are names usable with setsockopt() and in comparisons.
var SockoptConsts = map[string]int64{
	"SOL_SOCKET": 1, "SOL_TCP": 6, "IPPROTO_TCP": 6, "SOL_IP": 0, "IPPROTO_IP": 0, "SOL_IPV6": 41, "IPPROTO_IPV6": 41,
	"TCP_BPF_IW": 1001, "TCP_BPF_SNDCWND_CLAMP": 1002, "TCP_BPF_DELACK_MAX": 1003, "TCP_BPF_RTO_MIN": 1004,
	"TCP_BPF_SYN": 1005, "TCP_BPF_SYN_IP": 1006, "TCP_BPF_SYN_MAC": 1007, "TCP_BPF_SOCK_OPS_CB_FLAGS": 1008,
	"SO_REUSEADDR": 2, "SO_KEEPALIVE": 9, "SO_PRIORITY": 12, "SO_RCVBUF": 8, "SO_SNDBUF": 7, "SO_MARK": 36,
	"SO_RCVLOWAT": 18, "SO_MAX_PACING_RATE": 47, "SO_BINDTOIFINDEX": 62, "SO_TXREHASH": 74,
	"TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6,
	"TCP_SYNCNT": 7, "TCP_WINDOW_CLAMP": 10, "TCP_CONGESTION": 13, "TCP_THIN_LINEAR_TIMEOUTS": 16,
	"TCP_USER_TIMEOUT": 18, "TCP_NOTSENT_LOWAT": 25, "TCP_SAVE_SYN": 27, "TCP_SAVED_SYN": 28,
	"IP_TOS": 1, "IPV6_TCLASS": 67, "IPV6_AUTOFLOWLABEL": 70,
	"AF_INET": 2, "AF_INET6": 10,
	"TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5,
	"TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10,
	"TCP_CLOSING": 11, "TCP_NEW_SYN_RECV": 12,
}

// SockoptUnit is the time unit of options that take a duration, in
// nanoseconds per unit, so duration literals convert to what the kernel wants.
var SockoptUnit = map[int64]int64{
	1003: 1e3, // TCP_BPF_DELACK_MAX: µs
	1004: 1e3, // TCP_BPF_RTO_MIN: µs
	18:   1e6, // TCP_USER_TIMEOUT: ms
	4:    1e9, // TCP_KEEPIDLE: s
	5:    1e9, // TCP_KEEPINTVL: s
}
