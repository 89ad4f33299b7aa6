package probes

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// xdp runs a program on every packet an interface receives, before the
// kernel allocates anything for it: the place for packet filters. The
// program's verdict (drop, pass) decides the packet's fate.
//
//	xdp:IFACE            driver mode where the driver has it, generic otherwise
//	xdp:IFACE:generic    generic (skb) mode
//	xdp:IFACE:native     driver mode only
func init() {
	register(&Provider{
		Name:     "xdp",
		ProgType: ebpf.XDP,
		Expand:   expandXDP,
		Context:  func(*Env, Point) (*Context, error) { return xdpContext, nil },
		Attach:   attachXDP,
	})
}

// Packet describes a program that sees packets, for the compiler: where its
// context keeps the packet's bounds and what it returns for each verdict.
type Packet struct {
	Hook    string // "xdp" or "tc"
	Data    int    // context offset of the u32 packet start
	DataEnd int    // context offset of the u32 packet end
	// LenOff is the context offset of the u32 whole-packet length; -1 means
	// ask bpf_xdp_get_buff_len.
	LenOff int
	Drop   int32
	Pass   int32
	// Pull says headers may lie outside the directly readable (linear) part
	// of the packet: bpf_skb_pull_data brings them in first.
	Pull bool
}

// Verdicts (include/uapi/linux/bpf.h, include/uapi/linux/pkt_cls.h).
const (
	XDPDrop = 1
	XDPPass = 2
	TCXNext = -1 // tcx: let the next program (or the default) decide
	TCXPass = 0
	TCXDrop = 2
)

var xdpContext = &Context{
	Return: XDPPass,
	Consts: PacketConsts,
	Packet: &Packet{Hook: "xdp", Data: 0, DataEnd: 4, LenOff: -1, Drop: XDPDrop, Pass: XDPPass},
}

// PacketConsts are names usable in packet probes.
var PacketConsts = map[string]int64{
	"ETH_P_IP": 0x0800, "ETH_P_IPV6": 0x86dd, "ETH_P_ARP": 0x0806, "ETH_P_8021Q": 0x8100,
	"IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_ICMPV6": 58,
	"TCP_FIN": 0x01, "TCP_SYN": 0x02, "TCP_RST": 0x04, "TCP_PSH": 0x08,
	"TCP_ACK": 0x10, "TCP_URG": 0x20, "TCP_ECE": 0x40, "TCP_CWR": 0x80,
}

var xdpModes = map[string]link.XDPAttachFlags{"": 0, "generic": link.XDPGenericMode, "skb": link.XDPGenericMode,
	"native": link.XDPDriverMode, "driver": link.XDPDriverMode}

func expandXDP(_ *Env, parts []string) ([]Point, error) {
	if len(parts) < 1 || len(parts) > 2 {
		return nil, errorf("xdp needs an interface: xdp:IFACE or xdp:IFACE:generic|native")
	}
	if err := checkIfaceName("xdp", parts[0]); err != nil {
		return nil, err
	}
	if len(parts) == 2 {
		if _, ok := xdpModes[parts[1]]; !ok || parts[1] == "" {
			return nil, errorf("xdp: unknown mode %q (use generic or native)", parts[1])
		}
	}
	return []Point{{Provider: "xdp", Target: parts}}, nil
}

// checkIfaceName validates an interface name without looking it up: the
// compiler does not touch the machine; attaching finds the interface.
func checkIfaceName(provider, name string) error {
	switch {
	case name == "":
		return errorf("%s needs an interface name", provider)
	case strings.HasPrefix(name, "$"):
		return errorf("%s: positional parameter %s is not set (give the interface after the script)", provider, name)
	case HasWildcard(name):
		return errorf("%s: interface names cannot have wildcards", provider)
	case len(name) > 15 || strings.ContainsAny(name, "/ \t:"):
		return errorf("%s: invalid interface name %q", provider, name)
	}
	return nil
}

// packetIface finds the interface packets are read from. bpfsh parses
// packets from an Ethernet header, so other link types are refused rather
// than misread.
func packetIface(name string) (*net.Interface, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, errorf("no network interface %s in this network namespace", name)
	}
	if ifc.Flags&net.FlagLoopback == 0 && len(ifc.HardwareAddr) != 6 {
		return nil, &NotSupportedError{What: "interface " + name + " is not an Ethernet device: bpfsh reads packets from their Ethernet header"}
	}
	return ifc, nil
}

func attachXDP(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
	ifc, err := packetIface(p.Target[0])
	if err != nil {
		return nil, err
	}
	mode := ""
	if len(p.Target) > 1 {
		mode = p.Target[1]
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifc.Index, Flags: xdpModes[mode]})
	if err != nil && mode == "" && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
		// The driver has native XDP but refused this program: generic mode
		// works everywhere.
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifc.Index, Flags: link.XDPGenericMode})
	}
	if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
		return nil, errorf("%s already has an XDP program: an interface takes one (bpfsh makes one program per xdp probe; use tc:%s:ingress for more)", ifc.Name, ifc.Name)
	}
	return l, err
}
