package compiler

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
)

// Packet probes (xdp, tc): header fields, verdicts, and the prologue that
// parses the headers a probe names.
//
// Every packet field a probe names is read once, at the start of the
// program, into a hidden variable ("packet:ip.saddr"; no $name can
// collide). Field reads in the body are variable reads, so no packet
// pointer lives beyond the prologue, helper calls cannot invalidate one,
// and loop callbacks get the fields with the other variables.
//
// A packet that lacks a header the probe names (not IPv4 or IPv6, not TCP
// or UDP, a later IPv4 fragment) or whose headers are cut short (by the
// frame or by the IP length fields) skips the whole probe: the predicate is
// false and the default verdict applies. Supported layout: Ethernet without
// VLAN tags, IPv4 with options, IPv6 without extension headers, TCP, UDP
// (docs/packets.md).

// pktHeaders lists each header's fields and their types.
var pktHeaders = map[string]map[string]*Type{
	"eth": {"proto": intType(2, false)},
	"ip": {"version": intType(1, false), "saddr": tInet, "daddr": tInet, "proto": intType(1, false),
		"ttl": intType(1, false), "len": intType(4, false)},
	"tcp": {"sport": intType(2, false), "dport": intType(2, false), "flags": intType(1, false)},
	"udp": {"sport": intType(2, false), "dport": intType(2, false)},
	"pkt": {"len": intType(4, false)},
}

// pktShort are fields named without a header: the ports of TCP or UDP.
var pktShort = map[string]bool{"sport": true, "dport": true}

// Header sizes and offsets (Ethernet without VLAN tags).
const (
	ethLen    = 14
	ip4MinLen = 20
	ip4MaxLen = 60
	ip6Len    = 40
	tcpMinLen = 20
	udpLen    = 8
)

func (k *checker) packetProbe() bool { return k.sc.ctx != nil && k.sc.ctx.Packet != nil }

// packetIdent types sport, dport and the names that only packet probes
// know; ok is false for every other identifier.
func (k *checker) packetIdent(e *lang.Ident) (*Type, bool) {
	_, header := pktHeaders[e.Name]
	if !pktShort[e.Name] && !header && e.Name != "drop" && e.Name != "pass" {
		return nil, false
	}
	if !k.packetProbe() {
		if k.sc.ctx != nil {
			if _, ok := k.sc.ctx.Builtin(e.Name); ok {
				return nil, false
			}
		}
		if header {
			return nil, false
		}
		k.errorf(e.Span, "%s is only available in xdp and tc probes", e.Name)
		return tInt64, true
	}
	switch {
	case pktShort[e.Name]:
		k.packetVar(e)
		return intType(2, false), true
	case header:
		k.errorf(e.Span, "%s is a header, not a value", e.Name).Hint("name one of its fields: %s", pktFieldList(e.Name))
	default:
		k.errorf(e.Span, "%s is a verdict: it is a statement of its own (%s;)", e.Name, e.Name)
	}
	return tInt64, true
}

func pktFieldList(header string) string {
	var names []string
	for n := range pktHeaders[header] {
		names = append(names, header+"."+n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// packetField types HEADER.FIELD; ok is false when e is not a packet field.
func (k *checker) packetField(e *lang.Field) (*Type, bool) {
	id, ok := e.X.(*lang.Ident)
	if !ok {
		return nil, false
	}
	fields, ok := pktHeaders[id.Name]
	if !ok {
		return nil, false
	}
	if !k.packetProbe() {
		k.errorf(e.Span, "%s.%s is only available in xdp and tc probes", id.Name, e.Name)
		return tInt64, true
	}
	t, ok := fields[e.Name]
	if !ok {
		k.errorf(e.Span, "%s has no field %q", id.Name, e.Name).Hint("available: %s", pktFieldList(id.Name))
		return tInt64, true
	}
	k.packetVar(e)
	if other := map[string]string{"tcp": "udp", "udp": "tcp"}[id.Name]; other != "" {
		for x := range k.sc.types {
			if f, ok := x.(*lang.Field); ok && pktHeaderOf(f) == other {
				k.errorf(e.Span, "this probe names both tcp and udp fields, so no packet has every header it needs").
					Hint("a probe runs only for packets that have every header it names: use sport and dport (TCP or UDP), or one probe per protocol")
				break
			}
		}
	}
	return t, true
}

// pktVarPrefix names the variables that hold packet fields.
const pktVarPrefix = "packet:"

// packetVar gives the field a variable for the prologue to fill.
func (k *checker) packetVar(e lang.Expr) {
	if key, t, ok := pktKey(e); ok {
		k.sc.vars[pktVarPrefix+key] = t
	}
}

func pktHeaderOf(f *lang.Field) string {
	if id, ok := f.X.(*lang.Ident); ok {
		if _, ok := pktHeaders[id.Name]; ok {
			return id.Name
		}
	}
	return ""
}

// packetStmt checks the verdict statements drop; and pass;.
func (k *checker) packetStmt(s *lang.ExprStmt) bool {
	id, ok := s.X.(*lang.Ident)
	if !ok || (id.Name != "drop" && id.Name != "pass") {
		return false
	}
	if !k.packetProbe() {
		k.errorf(id.Span, "%s is a packet verdict: only xdp and tc probes have one", id.Name)
	}
	return true
}

// pktUse is what a probe reads from its packet.
type pktUse struct {
	keys     map[string]*Type // slot keys: "ip.saddr", "sport", "pkt.len", ...
	eth, ip  bool             // needs an Ethernet / IP header
	tcp, udp bool             // needs TCP / UDP (both: either)
}

// pktKey names the slot a packet field is read from: the ports of tcp.,
// udp. and the short forms share one.
func pktKey(e lang.Expr) (string, *Type, bool) {
	switch e := e.(type) {
	case *lang.Ident:
		if pktShort[e.Name] {
			return e.Name, intType(2, false), true
		}
	case *lang.Field:
		h := pktHeaderOf(e)
		t, ok := pktHeaders[h][e.Name]
		if !ok {
			return "", nil, false
		}
		if (h == "tcp" || h == "udp") && pktShort[e.Name] {
			return e.Name, t, true
		}
		return h + "." + e.Name, t, true
	}
	return "", nil, false
}

func packetUses(p *lang.Probe) pktUse {
	u := pktUse{keys: map[string]*Type{}}
	named := map[string]bool{}
	lang.Walk(p, func(n lang.Node) bool {
		e, ok := n.(lang.Expr)
		if !ok {
			return true
		}
		key, t, ok := pktKey(e)
		if !ok {
			return true
		}
		u.keys[key] = t
		h := "l4"
		if f, ok := e.(*lang.Field); ok {
			h = pktHeaderOf(f)
		}
		named[h] = true
		return true
	})
	u.tcp = named["tcp"] || named["l4"] && !named["udp"]
	u.udp = named["udp"] || named["l4"] && !named["tcp"]
	u.ip = named["ip"] || u.tcp || u.udp
	u.eth = named["eth"] || u.ip
	return u
}

// packetPrologue parses the headers the probe names and stores the fields
// it reads in their variables (allocated and zeroed before); a packet
// without those headers ends the program with the default verdict.
func (g *gen) packetPrologue(p *lang.Probe) {
	if g.sc.ctx == nil || g.sc.ctx.Packet == nil {
		return
	}
	pk := g.sc.ctx.Packet
	u := packetUses(p)
	if len(u.keys) == 0 {
		return
	}
	slot := func(key string) (*val, bool) {
		v, ok := g.vars[pktVarPrefix+key]
		return v, ok
	}
	skip := g.exit
	note := func(s string) { g.source = asm.Comment("packet: " + s) }
	put := func(key string, r asm.Register) {
		if v, ok := slot(key); ok {
			g.emit(asm.StoreMem(v.base(), v.off, r, asm.DWord))
		}
	}
	putImm := func(key string, n int64) {
		if v, ok := slot(key); ok {
			g.emit(storeImm(v.base(), v.off, n, asm.DWord))
		}
	}
	load := func(dst, base asm.Register, off int, size asm.Size) {
		g.emit(asm.LoadMem(dst, base, int16(off), size))
		if size == asm.Half {
			g.emit(asm.HostTo(asm.BE, dst, asm.Half)) // network to host order
		}
	}
	// bounds jumps to skip unless base+n is inside the packet (R3 = end):
	// the verifier wants this compare before any read below base+n.
	bounds := func(base asm.Register, n int) {
		g.emit(asm.Mov.Reg(asm.R0, base), asm.Add.Imm(asm.R0, int32(n)), asm.JGT.Reg(asm.R0, asm.R3, skip))
	}

	if _, ok := u.keys["pkt.len"]; ok {
		note("pkt.len")
		if pk.LenOff >= 0 {
			g.emit(asm.LoadMem(asm.R0, ctxReg, int16(pk.LenOff), asm.Word))
		} else {
			g.emit(asm.Mov.Reg(asm.R1, ctxReg), asm.FnXdpGetBuffLen.Call())
		}
		put("pkt.len", asm.R0)
	}
	if !u.eth {
		return
	}
	need := ethLen
	if u.ip {
		need += ip4MaxLen
	}
	if u.tcp || u.udp {
		need += tcpMinLen
	}
	if pk.Pull {
		// Headers of an skb may lie partly outside its linear data, where
		// they cannot be read directly: pull them in when they do.
		note("make the headers readable")
		clamp, have := g.label(), g.label()
		g.emit(asm.LoadMem(asm.R5, ctxReg, int16(pk.LenOff), asm.Word),
			asm.JLE.Imm(asm.R5, int32(need), clamp),
			asm.Mov.Imm(asm.R5, int32(need)))
		g.mark(clamp)
		g.emit(asm.LoadMem(asm.R2, ctxReg, int16(pk.Data), asm.Word),
			asm.LoadMem(asm.R3, ctxReg, int16(pk.DataEnd), asm.Word),
			asm.Add.Reg(asm.R2, asm.R5),
			asm.JLE.Reg(asm.R2, asm.R3, have),
			asm.Mov.Reg(asm.R1, ctxReg),
			asm.Mov.Reg(asm.R2, asm.R5),
			asm.FnSkbPullData.Call())
		g.mark(have)
	}
	note("Ethernet")
	g.emit(asm.LoadMem(asm.R2, ctxReg, int16(pk.Data), asm.Word),
		asm.LoadMem(asm.R3, ctxReg, int16(pk.DataEnd), asm.Word))
	bounds(asm.R2, ethLen)
	load(asm.R0, asm.R2, 12, asm.Half)
	put("eth.proto", asm.R0)
	if !u.ip {
		return
	}
	l4 := u.tcp || u.udp
	v6, l4L, done := g.label(), g.label(), g.label()
	g.emit(asm.JEq.Imm(asm.R0, 0x86dd, v6), asm.JNE.Imm(asm.R0, 0x0800, skip))

	// IPv4. Registers for the L4 part: R0 protocol, R1 IP header length,
	// R5 bytes after the IP header according to its total length.
	note("IPv4")
	bounds(asm.R2, ethLen+ip4MinLen)
	g.emit(asm.LoadMem(asm.R1, asm.R2, ethLen, asm.Byte),
		asm.Mov.Reg(asm.R0, asm.R1), asm.RSh.Imm(asm.R0, 4), asm.JNE.Imm(asm.R0, 4, skip),
		asm.And.Imm(asm.R1, 15), asm.LSh.Imm(asm.R1, 2), asm.JLT.Imm(asm.R1, ip4MinLen, skip))
	if l4 {
		// A later fragment carries no TCP or UDP header.
		load(asm.R4, asm.R2, ethLen+6, asm.Half)
		g.emit(asm.And.Imm(asm.R4, 0x1fff), asm.JNE.Imm(asm.R4, 0, skip))
	}
	_, wantLen := u.keys["ip.len"]
	if wantLen || l4 {
		load(asm.R5, asm.R2, ethLen+2, asm.Half)
		put("ip.len", asm.R5)
	}
	putImm("ip.version", 4)
	if _, ok := u.keys["ip.ttl"]; ok {
		load(asm.R0, asm.R2, ethLen+8, asm.Byte)
		put("ip.ttl", asm.R0)
	}
	for _, a := range []struct {
		key string
		off int
	}{{"ip.saddr", ethLen + 12}, {"ip.daddr", ethLen + 16}} {
		if v, ok := slot(a.key); ok {
			g.emit(storeImm(v.base(), v.off, 2, asm.DWord), // AF_INET
				asm.LoadMem(asm.R0, asm.R2, int16(a.off), asm.Word),
				asm.StoreMem(v.base(), v.off+8, asm.R0, asm.Word),
				storeImm(v.base(), v.off+12, 0, asm.Word),
				storeImm(v.base(), v.off+16, 0, asm.DWord))
		}
	}
	load(asm.R0, asm.R2, ethLen+9, asm.Byte)
	put("ip.proto", asm.R0)
	if l4 {
		g.emit(asm.Sub.Reg(asm.R5, asm.R1), asm.Ja.Label(l4L))
	} else {
		g.emit(asm.Ja.Label(done))
	}

	g.mark(v6)
	note("IPv6")
	bounds(asm.R2, ethLen+ip6Len)
	g.emit(asm.LoadMem(asm.R0, asm.R2, ethLen, asm.Byte), asm.RSh.Imm(asm.R0, 4), asm.JNE.Imm(asm.R0, 6, skip))
	if wantLen || l4 {
		load(asm.R5, asm.R2, ethLen+4, asm.Half) // payload length
	}
	if wantLen {
		g.emit(asm.Mov.Reg(asm.R4, asm.R5), asm.Add.Imm(asm.R4, ip6Len))
		put("ip.len", asm.R4)
	}
	putImm("ip.version", 6)
	if _, ok := u.keys["ip.ttl"]; ok {
		load(asm.R0, asm.R2, ethLen+7, asm.Byte) // hop limit
		put("ip.ttl", asm.R0)
	}
	for _, a := range []struct {
		key string
		off int
	}{{"ip.saddr", ethLen + 8}, {"ip.daddr", ethLen + 24}} {
		if v, ok := slot(a.key); ok {
			g.emit(storeImm(v.base(), v.off, 10, asm.DWord), // AF_INET6
				asm.LoadMem(asm.R0, asm.R2, int16(a.off), asm.DWord),
				asm.StoreMem(v.base(), v.off+8, asm.R0, asm.DWord),
				asm.LoadMem(asm.R0, asm.R2, int16(a.off+8), asm.DWord),
				asm.StoreMem(v.base(), v.off+16, asm.R0, asm.DWord))
		}
	}
	load(asm.R0, asm.R2, ethLen+6, asm.Byte) // next header
	put("ip.proto", asm.R0)
	if !l4 {
		g.mark(done)
		return
	}
	g.emit(asm.Mov.Imm(asm.R1, ip6Len))

	// TCP or UDP at R2 + 14 + R1: R4 points at it minus the Ethernet header.
	g.mark(l4L)
	udpL := skip
	if u.tcp && u.udp {
		udpL = g.label()
	}
	if u.tcp {
		note("TCP")
		g.emit(asm.JNE.Imm(asm.R0, 6, udpL), asm.JSLT.Imm(asm.R5, tcpMinLen, skip),
			asm.Mov.Reg(asm.R4, asm.R2), asm.Add.Reg(asm.R4, asm.R1))
		bounds(asm.R4, ethLen+tcpMinLen)
		// A data offset below 5 words is not a TCP header.
		g.emit(asm.LoadMem(asm.R0, asm.R4, ethLen+12, asm.Byte), asm.RSh.Imm(asm.R0, 4), asm.JLT.Imm(asm.R0, 5, skip))
		g.pktPorts(slot, load, put)
		if _, ok := u.keys["tcp.flags"]; ok {
			load(asm.R0, asm.R4, ethLen+13, asm.Byte)
			put("tcp.flags", asm.R0)
		}
		if u.udp {
			g.emit(asm.Ja.Label(done))
		}
	}
	if u.udp {
		if u.tcp {
			g.mark(udpL)
		}
		note("UDP")
		g.emit(asm.JNE.Imm(asm.R0, 17, skip), asm.JSLT.Imm(asm.R5, udpLen, skip),
			asm.Mov.Reg(asm.R4, asm.R2), asm.Add.Reg(asm.R4, asm.R1))
		bounds(asm.R4, ethLen+udpLen)
		g.pktPorts(slot, load, put)
	}
	g.mark(done)
}

// pktPorts stores the ports of the TCP or UDP header at R4 + 14.
func (g *gen) pktPorts(slot func(string) (*val, bool), load func(dst, base asm.Register, off int, size asm.Size), put func(string, asm.Register)) {
	for i, key := range []string{"sport", "dport"} {
		if _, ok := slot(key); ok {
			load(asm.R0, asm.R4, ethLen+2*i, asm.Half)
			put(key, asm.R0)
		}
	}
}

// packetRead returns a packet field's value from its variable.
func (g *gen) packetRead(e lang.Expr) (*val, bool) {
	if g.sc.ctx == nil || g.sc.ctx.Packet == nil {
		return nil, false
	}
	key, _, ok := pktKey(e)
	if !ok {
		return nil, false
	}
	v, ok := g.vars[pktVarPrefix+key]
	if !ok {
		return nil, false
	}
	if v.kind == vMem {
		return v, true
	}
	n := g.newTemp(v.t)
	g.load(n.reg, v)
	return n, true
}

func (g *gen) packetIdent(e *lang.Ident) (*val, bool) { return g.packetRead(e) }
func (g *gen) packetField(e *lang.Field) (*val, bool) { return g.packetRead(e) }

// packetStmt ends the program with the verdict of drop; or pass;.
func (g *gen) packetStmt(s *lang.ExprStmt) bool {
	id, ok := s.X.(*lang.Ident)
	if !ok || g.sc.ctx == nil || g.sc.ctx.Packet == nil {
		return false
	}
	pk := g.sc.ctx.Packet
	if g.callback && (id.Name == "drop" || id.Name == "pass") {
		// A loop body in a callback can only end the callback.
		g.diags.Errorf(id.Span, "not supported yet: %s inside this loop (its body runs as a callback)", id.Name)
		return true
	}
	switch id.Name {
	case "drop":
		g.emit(asm.Mov.Imm(asm.R0, pk.Drop), asm.Return())
	case "pass":
		g.emit(asm.Mov.Imm(asm.R0, pk.Pass), asm.Return())
	default:
		return false
	}
	return true
}

// Positional parameters in probe specs: xdp:$1 attaches to the interface
// given after the script.

// Compiled on first use: nothing at start-up.
var specParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$([0-9]+)`) })

// specParts replaces $N in a spec's parts with the positional parameters;
// an unset one stays as written for the provider to report.
func (c *compiler) specParts(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = specParam().ReplaceAllStringFunc(p, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			if v, ok := c.param(n); ok {
				return v
			}
			return m
		})
	}
	return out
}
