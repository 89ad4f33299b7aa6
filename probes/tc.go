package probes

import (
	"errors"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// tc runs a program on every packet an interface receives (ingress) or
// sends (egress), at the traffic-control hook, through a tcx link (Linux
// 6.6+; before, a bpf filter of a clsact qdisc: tcclsact.go). Several programs can share an interface and direction: each runs
// in turn, and one that ends without a verdict lets the next decide
// (TCX_NEXT); drop and pass are final.
//
//	tc:IFACE:ingress   tc:IFACE:egress
func init() {
	register(&Provider{
		Name:     "tc",
		ProgType: ebpf.SchedCLS,
		Expand:   expandTC,
		Context:  func(*Env, Point) (*Context, error) { return tcContext, nil },
		Attach:   attachTC,
	})
}

// tcContext describes struct __sk_buff: len at 0, data at 76, data_end at 80.
var tcContext = &Context{
	Return: TCXNext,
	Consts: PacketConsts,
	Packet: &Packet{Hook: "tc", Data: 76, DataEnd: 80, LenOff: 0, Drop: TCXDrop, Pass: TCXPass, Pull: true},
}

var tcDirs = map[string]ebpf.AttachType{"ingress": ebpf.AttachTCXIngress, "egress": ebpf.AttachTCXEgress}

func expandTC(_ *Env, parts []string) ([]Point, error) {
	if len(parts) != 2 {
		return nil, errorf("tc needs an interface and a direction: tc:IFACE:ingress or tc:IFACE:egress")
	}
	if err := checkIfaceName("tc", parts[0]); err != nil {
		return nil, err
	}
	if _, ok := tcDirs[parts[1]]; !ok {
		return nil, errorf("tc: unknown direction %q (use ingress or egress)", parts[1])
	}
	return []Point{{Provider: "tc", Target: parts}}, nil
}

func attachTC(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
	ifc, err := packetIface(p.Target[0])
	if err != nil {
		return nil, err
	}
	if os.Getenv(tcClsactEnv) == "" {
		l, err := link.AttachTCX(link.TCXOptions{Interface: ifc.Index, Program: prog, Attach: tcDirs[p.Target[1]]})
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return l, err
		}
	}
	// Before Linux 6.6: a filter of the interface's clsact qdisc.
	return attachClsact(prog, ifc.Index, p.Target[1] == "ingress")
}
