package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Kernels without tcx links (before 6.6) run tc programs as direct-action
// bpf filters of a clsact qdisc, which is what tc(8) and bpftrace use
// there: a clsact qdisc on the interface (created when missing, removed
// again with the last filter bpfsh put on it) and one filter per program,
// each at the next priority of its hook, so that they run in the order
// they were attached (as tcx runs them). TC_ACT_UNSPEC (tcContext's TCXNext)
// lets the next filter decide, as TCX_NEXT does. Everything goes over
// rtnetlink; the constants are the kernel's (include/uapi/linux/pkt_sched.h
// and pkt_cls.h), which x/sys does not define.

const (
	tcHClsact       = 0xFFFFFFF1 // TC_H_CLSACT (TC_H_INGRESS)
	tcHMinIngress   = 0xFFF2
	tcHMinEgress    = 0xFFF3
	tcaBPFFD        = 6 // TCA_BPF_FD
	tcaBPFName      = 7 // TCA_BPF_NAME
	tcaBPFFlags     = 8 // TCA_BPF_FLAGS
	tcaBPFActDirect = 1 // TCA_BPF_FLAG_ACT_DIRECT
	sizeofTcMsg     = 20
)

// tcClsactEnv makes tc probes attach through clsact even where tcx links
// exist (tests prove the fallback on kernels that have tcx).
const tcClsactEnv = "BPFSH_TC_CLSACT"

// clsactQdiscs counts bpfsh's filters per interface whose clsact qdisc
// bpfsh created, to remove the qdisc with the last of them.
var clsactQdiscs = &clsactState{filters: map[int]int{}, created: map[int]bool{}, prio: map[[2]uint32]uint32{}}

type clsactState struct {
	sync.Mutex
	filters map[int]int
	created map[int]bool
	prio    map[[2]uint32]uint32 // the last priority used, by interface and hook
}

// clsactFilter is one attached filter; Close removes it (and the qdisc
// bpfsh created for it, when it was the last).
type clsactFilter struct {
	ifindex      int
	parent, info uint32
	handle       uint32
}

// attachClsact attaches prog as a direct-action filter on ifindex's
// ingress or egress.
func attachClsact(prog *ebpf.Program, ifindex int, ingress bool) (*clsactFilter, error) {
	clsactQdiscs.Lock()
	defer clsactQdiscs.Unlock()
	if clsactQdiscs.filters[ifindex] == 0 {
		qd := tcMsg(ifindex, 0xFFFF0000, tcHClsact, 0)
		err := rtnetlink(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, qd, nlAttr(unix.TCA_KIND, nulString("clsact")), nil)
		switch {
		case err == nil:
			clsactQdiscs.created[ifindex] = true
		case !errors.Is(err, unix.EEXIST):
			return nil, fmt.Errorf("tc: creating a clsact qdisc: %w", err)
		}
	}
	parent := uint32(tcHClsact&0xFFFF0000 | tcHMinEgress)
	if ingress {
		parent = tcHClsact&0xFFFF0000 | tcHMinIngress
	}
	// The kernel would put a filter without a priority before the others.
	hook := [2]uint32{uint32(ifindex), parent}
	clsactQdiscs.prio[hook]++
	// The protocol is ETH_P_ALL, in network order.
	info := clsactQdiscs.prio[hook]<<16 | uint32(unix.ETH_P_ALL<<8&0xFF00|unix.ETH_P_ALL>>8)
	fd := make([]byte, 4)
	binary.NativeEndian.PutUint32(fd, uint32(prog.FD()))
	flags := make([]byte, 4)
	binary.NativeEndian.PutUint32(flags, tcaBPFActDirect)
	opts := append(append(nlAttr(tcaBPFFD, fd), nlAttr(tcaBPFName, nulString("bpfsh"))...), nlAttr(tcaBPFFlags, flags)...)
	f := &clsactFilter{ifindex: ifindex, parent: parent}
	err := rtnetlink(unix.RTM_NEWTFILTER, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ECHO, tcMsg(ifindex, 0, parent, info),
		append(nlAttr(unix.TCA_KIND, nulString("bpf")), nlAttr(unix.TCA_OPTIONS, opts)...), func(msg []byte) {
			f.handle = binary.NativeEndian.Uint32(msg[8:12])
			f.info = binary.NativeEndian.Uint32(msg[16:20])
		})
	if err != nil || f.info == 0 {
		clsactQdiscs.release(ifindex)
		if err == nil {
			err = errors.New("the kernel did not say which filter it added")
		}
		return nil, fmt.Errorf("tc: adding a bpf filter to the clsact qdisc: %w", err)
	}
	clsactQdiscs.filters[ifindex]++
	return f, nil
}

// release removes the clsact qdisc of ifindex when bpfsh created it and
// no filter of bpfsh's is left on it. The caller holds the lock.
func (q *clsactState) release(ifindex int) {
	if q.filters[ifindex] > 0 || !q.created[ifindex] {
		return
	}
	delete(q.created, ifindex)
	rtnetlink(unix.RTM_DELQDISC, 0, tcMsg(ifindex, 0xFFFF0000, tcHClsact, 0), nlAttr(unix.TCA_KIND, nulString("clsact")), nil)
}

func (f *clsactFilter) Close() error {
	clsactQdiscs.Lock()
	defer clsactQdiscs.Unlock()
	err := rtnetlink(unix.RTM_DELTFILTER, 0, tcMsg(f.ifindex, f.handle, f.parent, f.info), nlAttr(unix.TCA_KIND, nulString("bpf")), nil)
	if errors.Is(err, unix.ENODEV) {
		err = nil // the interface is gone, and its filters with it
	}
	clsactQdiscs.filters[f.ifindex]--
	clsactQdiscs.release(f.ifindex)
	return err
}

func tcMsg(ifindex int, handle, parent, info uint32) []byte {
	b := make([]byte, sizeofTcMsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(ifindex)))
	binary.NativeEndian.PutUint32(b[8:], handle)
	binary.NativeEndian.PutUint32(b[12:], parent)
	binary.NativeEndian.PutUint32(b[16:], info)
	return b
}

func nulString(s string) []byte { return append([]byte(s), 0) }

// nlAttr is one netlink attribute, padded to 4 bytes.
func nlAttr(typ uint16, data []byte) []byte {
	n := unix.SizeofRtAttr + len(data)
	b := make([]byte, (n+3)&^3)
	binary.NativeEndian.PutUint16(b, uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.SizeofRtAttr:], data)
	return b
}

// rtnetlink sends one request with header hdr and attributes attrs, and
// waits for its acknowledgement; echo, when not nil, sees the header of
// each message of type typ the kernel sends back (NLM_F_ECHO).
func rtnetlink(typ uint16, flags int, hdr, attrs []byte, echo func([]byte)) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	body := append(append([]byte(nil), hdr...), attrs...)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], uint16(unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags))
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return os.NewSyscallError("recvfrom", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			switch {
			case m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4:
				if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			case m.Header.Type == typ && echo != nil && len(m.Data) >= sizeofTcMsg:
				echo(m.Data)
			}
		}
	}
}
