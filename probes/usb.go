package probes

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
)

// usb:device and usb:interface decide whether a USB device, or one
// interface of it, may be used: the kernel's USB authorization
// (Documentation/usb/authorization.rst). bpfsh runs the programs itself,
// through BPF_PROG_TEST_RUN, once for each device or interface that
// appears (or is present at start), and writes the verdict (allow; or
// deny;) to the device's or interface's sysfs "authorized".
//
// The context is the raw tracepoint test run's argument array: one u64 per
// number, and in the last slot the address of a block of bpfsh's own
// memory holding the strings, which the program copies with
// bpf_probe_read_user_str (the test run runs in bpfsh's task).
func init() {
	register(&Provider{
		Name:     "usb",
		Runs:     OnDevice,
		ProgType: ebpf.RawTracepoint,
		Expand: func(_ *Env, parts []string) ([]Point, error) {
			if len(parts) != 1 || (parts[0] != "device" && parts[0] != "interface") {
				return nil, errorf("usb probes are usb:device and usb:interface")
			}
			return []Point{{Provider: "usb", Target: parts}}, nil
		},
		Context: func(_ *Env, p Point) (*Context, error) {
			if p.Target[0] == "interface" {
				return usbInterfaceContext(), nil
			}
			return usbDeviceContext(), nil
		},
	})
}

// ConvUserStr: the field's slot holds the address of a block in the
// running bpfsh's memory; the string is at StrOff in it, Size bytes at most.
const ConvUserStr = "ustr"

// USB verdicts: what a usb program returns, with the verdict's source
// line above USBVerdictBits (0: the program ended without one).
const (
	USBAllow       = 1
	USBDeny        = 2
	USBVerdictBits = 2
)

// USBStrSize is the buffer of each string attribute (longer ones are cut).
const USBStrSize = 64

// USBAttrs are what a usb program sees of a device (and, for
// usb:interface, of one of its interfaces).
type USBAttrs struct {
	Vendor, Product           uint64
	Class, SubClass, Protocol uint64 // bDeviceClass, bDeviceSubClass, bDeviceProtocol
	Bus                       uint64
	Hash                      uint64 // FNV-1a (64 bits) of the descriptors file
	IfClass, IfSubClass       uint64 // usb:interface only
	IfProtocol, IfNum         uint64
	Serial, Manufacturer      string
	Name                      string // the product string
	Port                      string // "1-2.3": the device's name in sysfs
}

// usbSlots are the numbers in context order; slot usbStrSlot holds the
// strings' address.
var usbSlots = []string{"vendor", "product", "class", "subclass", "protocol", "busnum", "deschash",
	"ifclass", "ifsubclass", "ifprotocol", "ifnum"}

var usbStrings = []string{"serial", "manufacturer", "product_name", "port"}

const usbStrSlot = 11

// USBInterfaceOnly are the names only usb:interface has.
var USBInterfaceOnly = map[string]bool{"ifclass": true, "ifsubclass": true, "ifprotocol": true, "ifnum": true}

// IsUSBName reports whether name is an attribute usb probes define.
func IsUSBName(name string) bool {
	for _, n := range append(append([]string{}, usbSlots...), usbStrings...) {
		if n == name {
			return true
		}
	}
	return false
}

func usbContext(iface bool) *Context {
	c := &Context{Return: 0}
	for i, n := range usbSlots {
		if !USBInterfaceOnly[n] || iface {
			c.Builtins = append(c.Builtins, Field{Name: n, Offset: 8 * i, Size: 8})
		}
	}
	for i, n := range usbStrings {
		c.Builtins = append(c.Builtins, Field{Name: n, Offset: 8 * usbStrSlot, Size: USBStrSize,
			StrOff: i * USBStrSize, Conv: ConvUserStr, Char: true})
	}
	return c
}

// The usb providers' contexts, built when a script first uses one.
var (
	usbDeviceContext    = sync.OnceValue(func() *Context { return usbContext(false) })
	usbInterfaceContext = sync.OnceValue(func() *Context { return usbContext(true) })
)

// USBContext is the test run's context for a: the numbers, and the
// address of strs, which it fills with the strings. strs must stay alive
// (and unmoved) while the program runs.
func USBContext(a *USBAttrs, strs *[4 * USBStrSize]byte) []byte {
	nums := []uint64{a.Vendor, a.Product, a.Class, a.SubClass, a.Protocol, a.Bus, a.Hash,
		a.IfClass, a.IfSubClass, a.IfProtocol, a.IfNum}
	ctx := make([]byte, 8*(usbStrSlot+1))
	for i, v := range nums {
		binary.NativeEndian.PutUint64(ctx[8*i:], v)
	}
	*strs = [4 * USBStrSize]byte{}
	for i, s := range []string{a.Serial, a.Manufacturer, a.Name, a.Port} {
		if len(s) > USBStrSize-1 {
			s = s[:USBStrSize-1]
		}
		copy(strs[i*USBStrSize:], s)
	}
	binary.NativeEndian.PutUint64(ctx[8*usbStrSlot:], uint64(uintptr(unsafe.Pointer(&strs[0]))))
	return ctx
}

// usb lists usb:device and usb:interface, with -lv their attributes.
func (l *lister) usb() error {
	for _, kind := range []string{"device", "interface"} {
		name := "usb:" + kind
		if !l.wants("usb") || !l.match(name) {
			continue
		}
		var args []string
		if l.verbose {
			for _, f := range usbContext(kind == "interface").Builtins {
				if f.Conv == ConvUserStr {
					args = append(args, fmt.Sprintf("char[%d] %s", f.Size, f.Name))
				} else {
					args = append(args, "u64 "+f.Name)
				}
			}
		}
		l.add(name, args)
	}
	return nil
}
