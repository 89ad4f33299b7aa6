package compiler

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
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
	here := k.packetProbe()
	id, ok := k.verdict(s, "drop", "pass", here, "packet verdict: only xdp and tc probes have one")
	if ok && here && id.Name == "drop" {
		k.needUnsafeAt(id.Span, "drop", "discards packets")
	}
	return ok
}

// verdict is s's identifier when s is the verdict statement a; or b;
// (drop;/pass;, allow;/deny;). Outside the probes that have them (here
// false) it says so: "NAME is a " what.
func (k *checker) verdict(s *lang.ExprStmt, a, b string, here bool, what string) (*lang.Ident, bool) {
	id, ok := s.X.(*lang.Ident)
	if !ok || (id.Name != a && id.Name != b) {
		return nil, false
	}
	if !here {
		k.errorf(id.Span, "%s is a %s", id.Name, what)
	}
	return id, true
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
	pg := &pktGen{gen: g, pk: g.sc.ctx.Packet, u: packetUses(p), skip: g.exit}
	if len(pg.u.keys) == 0 {
		return
	}
	pg.length()
	if !pg.u.eth {
		return
	}
	pg.pull()
	pg.ethernet()
	if pg.u.ip {
		pg.ip()
	}
}

// pktGen emits one probe's prologue. Any header the probe needs and the
// packet lacks jumps to skip, which ends the probe.
type pktGen struct {
	*gen
	pk   *probes.Packet
	u    pktUse
	skip string
}

func (pg *pktGen) note(s string) { pg.source = asm.Comment("packet: " + s) }

func (pg *pktGen) slot(key string) (*val, bool) {
	v, ok := pg.vars[pktVarPrefix+key]
	return v, ok
}

func (pg *pktGen) wants(key string) bool {
	_, ok := pg.u.keys[key]
	return ok
}

// put stores r in key's variable, if the probe reads it.
func (pg *pktGen) put(key string, r asm.Register) {
	if v, ok := pg.slot(key); ok {
		pg.emit(asm.StoreMem(v.base(), v.off, r, asm.DWord))
	}
}

func (pg *pktGen) putImm(key string, n int64) {
	if v, ok := pg.slot(key); ok {
		pg.emit(storeImm(v.base(), v.off, n, asm.DWord))
	}
}

// read loads a header field; 16-bit fields are in network order.
func (pg *pktGen) read(dst, base asm.Register, off int, size asm.Size) {
	pg.emit(asm.LoadMem(dst, base, int16(off), size))
	if size == asm.Half {
		pg.emit(asm.HostTo(asm.BE, dst, asm.Half)) // network to host order
	}
}

// bounds jumps to skip unless base+n is inside the packet (R3 = end):
// the verifier wants this compare before any read below base+n.
func (pg *pktGen) bounds(base asm.Register, n int) {
	pg.emit(asm.Mov.Reg(asm.R0, base), asm.Add.Imm(asm.R0, int32(n)), asm.JGT.Reg(asm.R0, asm.R3, pg.skip))
}

// length is pkt.len, which needs no header.
func (pg *pktGen) length() {
	if !pg.wants("pkt.len") {
		return
	}
	pg.note("pkt.len")
	if pg.pk.LenOff >= 0 {
		pg.emit(asm.LoadMem(asm.R0, ctxReg, int16(pg.pk.LenOff), asm.Word))
	} else {
		pg.emit(asm.Mov.Reg(asm.R1, ctxReg), asm.FnXdpGetBuffLen.Call())
	}
	pg.put("pkt.len", asm.R0)
}

// pull makes the headers of an skb readable: they may lie partly outside
// its linear data, where they cannot be read directly.
func (pg *pktGen) pull() {
	if !pg.pk.Pull {
		return
	}
	need := ethLen
	if pg.u.ip {
		need += ip4MaxLen
	}
	if pg.u.tcp || pg.u.udp {
		need += tcpMinLen
	}
	pg.note("make the headers readable")
	clamp, have := pg.label(), pg.label()
	pg.emit(asm.LoadMem(asm.R5, ctxReg, int16(pg.pk.LenOff), asm.Word),
		asm.JLE.Imm(asm.R5, int32(need), clamp),
		asm.Mov.Imm(asm.R5, int32(need)))
	pg.mark(clamp)
	pg.emit(asm.LoadMem(asm.R2, ctxReg, int16(pg.pk.Data), asm.Word),
		asm.LoadMem(asm.R3, ctxReg, int16(pg.pk.DataEnd), asm.Word),
		asm.Add.Reg(asm.R2, asm.R5),
		asm.JLE.Reg(asm.R2, asm.R3, have),
		asm.Mov.Reg(asm.R1, ctxReg),
		asm.Mov.Reg(asm.R2, asm.R5),
		asm.FnSkbPullData.Call())
	pg.mark(have)
}

// ethernet leaves the packet's start in R2, its end in R3 and the
// EtherType in R0.
func (pg *pktGen) ethernet() {
	pg.note("Ethernet")
	pg.emit(asm.LoadMem(asm.R2, ctxReg, int16(pg.pk.Data), asm.Word),
		asm.LoadMem(asm.R3, ctxReg, int16(pg.pk.DataEnd), asm.Word))
	pg.bounds(asm.R2, ethLen)
	pg.read(asm.R0, asm.R2, 12, asm.Half)
	pg.put("eth.proto", asm.R0)
}

// ip branches on the EtherType to IPv4 or IPv6, which meet again at the
// transport header when the probe needs one.
func (pg *pktGen) ip() {
	l4 := pg.u.tcp || pg.u.udp
	v6, l4L, done := pg.label(), pg.label(), pg.label()
	pg.emit(asm.JEq.Imm(asm.R0, 0x86dd, v6), asm.JNE.Imm(asm.R0, 0x0800, pg.skip))
	pg.ipv4(l4)
	if l4 {
		pg.emit(asm.Sub.Reg(asm.R5, asm.R1), asm.Ja.Label(l4L))
	} else {
		pg.emit(asm.Ja.Label(done))
	}
	pg.mark(v6)
	pg.ipv6(l4)
	if l4 {
		pg.emit(asm.Mov.Imm(asm.R1, ip6Len))
		pg.mark(l4L)
		pg.transport(done)
	}
	pg.mark(done)
}

// ipv4 leaves, for the transport header, the protocol in R0, the IP
// header's length in R1 and the bytes after it (by the total length) in R5.
func (pg *pktGen) ipv4(l4 bool) {
	pg.note("IPv4")
	pg.bounds(asm.R2, ethLen+ip4MinLen)
	pg.emit(asm.LoadMem(asm.R1, asm.R2, ethLen, asm.Byte),
		asm.Mov.Reg(asm.R0, asm.R1), asm.RSh.Imm(asm.R0, 4), asm.JNE.Imm(asm.R0, 4, pg.skip),
		asm.And.Imm(asm.R1, 15), asm.LSh.Imm(asm.R1, 2), asm.JLT.Imm(asm.R1, ip4MinLen, pg.skip))
	if l4 {
		// A later fragment carries no TCP or UDP header.
		pg.read(asm.R4, asm.R2, ethLen+6, asm.Half)
		pg.emit(asm.And.Imm(asm.R4, 0x1fff), asm.JNE.Imm(asm.R4, 0, pg.skip))
	}
	if pg.wants("ip.len") || l4 {
		pg.read(asm.R5, asm.R2, ethLen+2, asm.Half)
		pg.put("ip.len", asm.R5)
	}
	pg.ipFields(4, ethLen+8, ethLen+12)
	pg.read(asm.R0, asm.R2, ethLen+9, asm.Byte)
	pg.put("ip.proto", asm.R0)
}

// ipFields stores what IPv4 and IPv6 headers both have: ip.version, ip.ttl
// (the byte at ttl) and ip.saddr and ip.daddr (one after the other from
// saddr), as inet values (family, then the address).
func (pg *pktGen) ipFields(version int64, ttl, saddr int) {
	pg.putImm("ip.version", version)
	if pg.wants("ip.ttl") {
		pg.read(asm.R0, asm.R2, ttl, asm.Byte)
		pg.put("ip.ttl", asm.R0)
	}
	size := 4
	if version == 6 {
		size = 16
	}
	for i, key := range []string{"ip.saddr", "ip.daddr"} {
		v, ok := pg.slot(key)
		if !ok {
			continue
		}
		off := int16(saddr + i*size)
		if version == 4 {
			pg.emit(storeImm(v.base(), v.off, 2, asm.DWord), // AF_INET
				asm.LoadMem(asm.R0, asm.R2, off, asm.Word),
				asm.StoreMem(v.base(), v.off+8, asm.R0, asm.Word),
				storeImm(v.base(), v.off+12, 0, asm.Word),
				storeImm(v.base(), v.off+16, 0, asm.DWord))
			continue
		}
		pg.emit(storeImm(v.base(), v.off, 10, asm.DWord), // AF_INET6
			asm.LoadMem(asm.R0, asm.R2, off, asm.DWord),
			asm.StoreMem(v.base(), v.off+8, asm.R0, asm.DWord),
			asm.LoadMem(asm.R0, asm.R2, off+8, asm.DWord),
			asm.StoreMem(v.base(), v.off+16, asm.R0, asm.DWord))
	}
}

// ipv6 leaves the next header in R0 and the payload length in R5.
func (pg *pktGen) ipv6(l4 bool) {
	pg.note("IPv6")
	pg.bounds(asm.R2, ethLen+ip6Len)
	pg.emit(asm.LoadMem(asm.R0, asm.R2, ethLen, asm.Byte), asm.RSh.Imm(asm.R0, 4), asm.JNE.Imm(asm.R0, 6, pg.skip))
	wantLen := pg.wants("ip.len")
	if wantLen || l4 {
		pg.read(asm.R5, asm.R2, ethLen+4, asm.Half) // payload length
	}
	if wantLen {
		pg.emit(asm.Mov.Reg(asm.R4, asm.R5), asm.Add.Imm(asm.R4, ip6Len))
		pg.put("ip.len", asm.R4)
	}
	// The TTL is the hop limit.
	pg.ipFields(6, ethLen+7, ethLen+8)
	pg.read(asm.R0, asm.R2, ethLen+6, asm.Byte) // next header
	pg.put("ip.proto", asm.R0)
}

// transport reads the TCP or UDP header at R2 + 14 + R1 (R0 the protocol,
// R5 the bytes left by the IP length); R4 points at it minus the Ethernet
// header. A probe naming only sport and dport takes either.
func (pg *pktGen) transport(done string) {
	u := pg.u
	udpL := pg.skip
	if u.tcp && u.udp {
		udpL = pg.label()
	}
	if u.tcp {
		pg.note("TCP")
		pg.emit(asm.JNE.Imm(asm.R0, 6, udpL), asm.JSLT.Imm(asm.R5, tcpMinLen, pg.skip),
			asm.Mov.Reg(asm.R4, asm.R2), asm.Add.Reg(asm.R4, asm.R1))
		pg.bounds(asm.R4, ethLen+tcpMinLen)
		// A data offset below 5 words is not a TCP header.
		pg.emit(asm.LoadMem(asm.R0, asm.R4, ethLen+12, asm.Byte), asm.RSh.Imm(asm.R0, 4), asm.JLT.Imm(asm.R0, 5, pg.skip))
		pg.ports()
		if pg.wants("tcp.flags") {
			pg.read(asm.R0, asm.R4, ethLen+13, asm.Byte)
			pg.put("tcp.flags", asm.R0)
		}
		if u.udp {
			pg.emit(asm.Ja.Label(done))
		}
	}
	if u.udp {
		if u.tcp {
			pg.mark(udpL)
		}
		pg.note("UDP")
		pg.emit(asm.JNE.Imm(asm.R0, 17, pg.skip), asm.JSLT.Imm(asm.R5, udpLen, pg.skip),
			asm.Mov.Reg(asm.R4, asm.R2), asm.Add.Reg(asm.R4, asm.R1))
		pg.bounds(asm.R4, ethLen+udpLen)
		pg.ports()
	}
}

// ports stores the ports of the TCP or UDP header at R4 + 14.
func (pg *pktGen) ports() {
	for i, key := range []string{"sport", "dport"} {
		if _, ok := pg.slot(key); ok {
			pg.read(asm.R0, asm.R4, ethLen+2*i, asm.Half)
			pg.put(key, asm.R0)
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
		if !strings.Contains(p, "$") {
			out[i] = p // nearly every spec: no regexp to compile at start
			continue
		}
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
