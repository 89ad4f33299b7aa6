package compiler

import (
	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// USB authorization probes (probes/usb.go): usb:device and usb:interface
// end in a verdict, allow; or deny;, which the program returns with its
// source line so that the runtime can say which rule decided. A program
// that ends without one returns 0: the next probe decides, and when none
// does, the device is denied.

func (k *checker) usbProbe() bool { return k.sc.prov != nil && k.sc.prov.Runs == probes.OnDevice }

// usbStmt checks the verdict statements allow; and deny;.
func (k *checker) usbStmt(s *lang.ExprStmt) bool {
	_, ok := k.verdict(s, "allow", "deny", k.usbProbe(), "USB verdict: only usb:device and usb:interface probes have one")
	return ok
}

// usbIdent reports the USB attributes used where they do not exist.
func (k *checker) usbIdent(e *lang.Ident) (*Type, bool) {
	switch {
	case e.Name == "allow" || e.Name == "deny":
		k.errorf(e.Span, "%s is a verdict: it is a statement of its own (%s;)", e.Name, e.Name)
	case probes.USBInterfaceOnly[e.Name] && k.usbProbe():
		k.errorf(e.Span, "%s is only available in usb:interface probes", e.Name)
	case probes.IsUSBName(e.Name) && !k.usbProbe():
		k.errorf(e.Span, "%s is only available in usb:device and usb:interface probes", e.Name)
	default:
		return nil, false
	}
	return tInt64, true
}

// usbCheckProbe: deciding on USB devices changes the machine.
func (k *checker) usbCheckProbe(p *lang.Probe) {
	if k.usbProbe() && len(p.Specs) > 0 {
		k.needUnsafeAt(p.Specs[0].Span, "usb probes", "decide which USB devices may be used")
	}
}

// usbStmt ends the program with the verdict and its line.
func (g *gen) usbStmt(s *lang.ExprStmt) bool {
	id, ok := s.X.(*lang.Ident)
	if !ok || g.sc.prov.Runs != probes.OnDevice || (id.Name != "allow" && id.Name != "deny") {
		return false
	}
	if g.callback {
		g.diags.Errorf(id.Span, "not supported yet: %s inside this loop (its body runs as a callback)", id.Name)
		return true
	}
	v := int32(probes.USBAllow)
	if id.Name == "deny" {
		v = probes.USBDeny
	}
	g.emit(asm.Mov.Imm(asm.R0, v|int32(id.Span.Start.Line)<<probes.USBVerdictBits), asm.Return())
	return true
}

// usbString copies a string attribute out of bpfsh's memory (its address
// is in the context).
func (g *gen) usbString(f probes.Field) *val {
	t := strType(f.Size)
	buf := g.buffer(f.Size, t)
	g.load(asm.R1, buf)
	g.emit(asm.Mov.Imm(asm.R2, int32(f.Size)),
		asm.LoadMem(asm.R3, ctxReg, int16(f.Offset), asm.DWord),
		asm.Add.Imm(asm.R3, int32(f.StrOff)),
		asm.FnProbeReadUserStr.Call())
	g.countReadFault()
	return buf
}
