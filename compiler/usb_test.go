package compiler

import (
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

func TestUSBCompile(t *testing.T) {
	eachCompiled(t, []string{
		`usb:device /vendor == 0x046d && product == 0xc52b/ { allow; }`,
		`usb:device /serial == "4C53" && port == "1-2.3" && busnum == 1/ { allow; } usb:device { deny; }`,
		`usb:device /class == 9 || subclass == 0 || protocol == 0 || deschash == 0x1234/ { @[manufacturer, product_name] = count(); allow; }`,
		`usb:interface /ifclass == 3 && ifsubclass == 1 && ifprotocol == 1 && ifnum == 0/ { printf("%s %04x\n", port, vendor); deny; }`,
		`usb:device { if (vendor == 1) { allow; } else { deny; } }`,
	}, func(src string, obj *Object) {
		if obj.Programs[0].Provider.Runs != probes.OnDevice {
			t.Errorf("%s: runs %v", src, obj.Programs[0].Provider.Runs)
		}
	})
}

// The verdict is returned with its source line.
func TestUSBVerdictLine(t *testing.T) {
	obj, diags := compile(t, "usb:device\n{\n\tdeny;\n}")
	if diags.HasErrors() {
		t.Fatal(diags.Format())
	}
	want := int64(probes.USBDeny | 3<<probes.USBVerdictBits)
	for _, ins := range obj.Programs[0].Spec.Instructions {
		if ins.OpCode.ALUOp() == asm.Mov && ins.Dst == asm.R0 && ins.Constant == want {
			return
		}
	}
	t.Errorf("no r0 = %d (deny, line 3) in:\n%v", want, obj.Programs[0].Spec.Instructions)
}

func TestUSBErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`BEGIN { allow; }`, "1:9: error: allow is a USB verdict: only usb:device and usb:interface probes have one"},
		{`xdp:lo { deny; }`, "1:10: error: deny is a USB verdict"},
		{`BEGIN { @ = vendor; }`, "1:13: error: vendor is only available in usb:device and usb:interface probes"},
		{`tracepoint:syscalls:sys_enter_openat /serial == "x"/ { }`, "1:39: error: serial is only available in usb:device and usb:interface probes"},
		{`usb:device { @ = ifclass; }`, "1:18: error: ifclass is only available in usb:interface probes"},
		{`usb:device { $v = allow; }`, "allow is a verdict: it is a statement of its own"},
		{`usb:hub { }`, "usb probes are usb:device and usb:interface"},
		{`usb { }`, "usb probes are usb:device and usb:interface"},
		{`usb:device { @m[1] = 1; for ($kv : @m) { allow; } }`, "not supported yet: allow inside this loop"},
	}
	wantErrors(t, tests)
}

// usb probes change the machine: --unsafe.
func TestUSBUnsafe(t *testing.T) {
	prog, _ := lang.Parse("test.bt", []byte(`usb:device { allow; }`))
	_, d := Compile(prog, Options{Env: testEnv})
	want := "test.bt:1:1: error: usb probes decide which USB devices may be used: run bpfsh with --unsafe to allow it\n" +
		"usb:device { allow; }\n^~~~~~~~~~\n"
	if got := d.Format(); got != want {
		t.Errorf("without --unsafe:\n%s\nwant:\n%s", got, want)
	}
}
