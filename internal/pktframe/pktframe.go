// Package pktframe builds Ethernet frames, well-formed or deliberately
// broken, for the packet-probe tests: BPF_PROG_TEST_RUN in compiler tests
// and raw-socket injection in tests/pkttool.
package pktframe

import "encoding/binary"

// Eth is an Ethernet header.
type Eth struct {
	Dst, Src [6]byte
	Type     uint16
}

// Frame returns the header followed by payload.
func (e Eth) Frame(payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	binary.BigEndian.PutUint16(b[12:], e.Type)
	return append(b, payload...)
}

// IPv4 is an IPv4 header; zero fields get sensible values.
type IPv4 struct {
	Src, Dst [4]byte
	Proto    byte
	TTL      byte // 0: 64
	IHL      int  // header length in 32-bit words; 0: 5 + options
	Options  []byte
	TotLen   int    // 0: header + payload
	FragOff  uint16 // in 8-byte units
	Version  int    // 0: 4
}

// Packet returns the header followed by payload.
func (h IPv4) Packet(payload []byte) []byte {
	opts := append([]byte(nil), h.Options...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	hl := 20 + len(opts)
	ihl := h.IHL
	if ihl == 0 {
		ihl = hl / 4
	}
	ver, ttl, tot := h.Version, h.TTL, h.TotLen
	if ver == 0 {
		ver = 4
	}
	if ttl == 0 {
		ttl = 64
	}
	if tot == 0 {
		tot = hl + len(payload)
	}
	b := make([]byte, hl, hl+len(payload))
	b[0] = byte(ver<<4 | ihl&15)
	binary.BigEndian.PutUint16(b[2:], uint16(tot))
	binary.BigEndian.PutUint16(b[4:], 0x2130) // id
	binary.BigEndian.PutUint16(b[6:], h.FragOff&0x1fff)
	b[8], b[9] = ttl, h.Proto
	copy(b[12:16], h.Src[:])
	copy(b[16:20], h.Dst[:])
	copy(b[20:], opts)
	binary.BigEndian.PutUint16(b[10:], Checksum(b))
	return append(b, payload...)
}

// IPv6 is an IPv6 header (no extension headers unless in the payload).
type IPv6 struct {
	Src, Dst   [16]byte
	Next       byte
	HopLimit   byte // 0: 64
	PayloadLen int  // -1: payload's length
}

// Packet returns the header followed by payload.
func (h IPv6) Packet(payload []byte) []byte {
	hl, pl := h.HopLimit, h.PayloadLen
	if hl == 0 {
		hl = 64
	}
	if pl < 0 {
		pl = len(payload)
	}
	b := make([]byte, 40, 40+len(payload))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], uint16(pl))
	b[6], b[7] = h.Next, hl
	copy(b[8:24], h.Src[:])
	copy(b[24:40], h.Dst[:])
	return append(b, payload...)
}

// UDP returns a UDP header (checksum 0: none) and payload.
func UDP(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// TCP returns a TCP header with the given data offset in words (0: 5).
func TCP(sport, dport uint16, flags byte, doff int) []byte {
	if doff == 0 {
		doff = 5
	}
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], 1000)
	b[12] = byte(doff << 4)
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return b
}

// Checksum is the Internet checksum of b.
func Checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// Cut returns b without its last n bytes.
func Cut(b []byte, n int) []byte { return b[:len(b)-n] }
