package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/probes"
)

// The USB firewall: usb:device and usb:interface programs decide, through
// the kernel's USB authorization (Documentation/usb/authorization.rst),
// which devices and interfaces drivers may bind to.
//
// While the script runs, the root hubs' authorized_default (when the
// script has usb:device probes) and interface_authorized_default (when it
// has usb:interface probes) are 0, a host controller's that appears later
// included: a new device, or interface, arrives unauthorized, and no
// driver binds until bpfsh has run the programs and written the verdict
// to its "authorized". A level the script has no
// probes for is left to the kernel. The previous defaults come back when
// bpfsh ends (exit(), Ctrl-C, SIGTERM, an error), unless --usb-exit=keep:
// then they stay 0, fail-closed, as after SIGKILL: every new device stays
// unauthorized until someone authorizes it.

// USBOptions are the firewall's settings.
type USBOptions struct {
	// KeepPresent (--usb-present=keep) leaves the devices present at start
	// as they are, instead of judging them.
	KeepPresent bool
	// KeepDefaults (--usb-exit=keep) leaves the defaults at 0 on exit.
	KeepDefaults bool
	// Sysfs is where sysfs is mounted ("/sys"; tests use a copy).
	Sysfs string
}

// usbProg is one usb program, in script order.
type usbProg struct {
	prog  *ebpf.Program
	iface bool
}

// usbGuard runs the programs on each device and interface.
type usbGuard struct {
	sys      string
	progs    []usbProg
	dev, ifc bool   // the script decides on devices / interfaces
	file     string // the script, for the rules' lines
	report   func(d *usbDecision)
	errw     io.Writer
	saved    []usbDefault
	keepDefs bool

	mu     sync.Mutex
	judged map[string]bool // sysfs paths decided on
	sock   int
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

type usbDefault struct{ path, value string }

// usbDecision is one verdict, as reported.
type usbDecision struct {
	Time    time.Time
	Allow   bool
	Iface   bool
	Name    string // "1-2", "1-2:1.0"
	Attrs   probes.USBAttrs
	Rule    string // "file:line", or "" when no rule decided (default deny)
	Applied error  // writing the verdict failed
}

func newUSBGuard(obj *compiler.Object, progs map[*compiler.Program]*ebpf.Program, opts USBOptions) *usbGuard {
	u := &usbGuard{sys: opts.Sysfs, file: obj.File, judged: map[string]bool{}, keepDefs: opts.KeepDefaults, sock: -1}
	if u.sys == "" {
		u.sys = "/sys"
	}
	for _, p := range obj.Programs {
		if p.Provider.Runs != probes.OnDevice {
			continue
		}
		iface := p.Point.Target[0] == "interface"
		u.progs = append(u.progs, usbProg{prog: progs[p], iface: iface})
		u.dev = u.dev || !iface
		u.ifc = u.ifc || iface
	}
	return u
}

// decide runs the programs of one kind in order: the first verdict wins;
// none is a deny.
func (u *usbGuard) decide(a *probes.USBAttrs, iface bool) (allow bool, rule string, err error) {
	var strs [4 * probes.USBStrSize]byte
	ctx := probes.USBContext(a, &strs)
	defer goruntime.KeepAlive(&strs)
	for _, p := range u.progs {
		if p.iface != iface {
			continue
		}
		ret, err := p.prog.Run(&ebpf.RunOptions{Context: ctx})
		if err != nil {
			return false, "", fmt.Errorf("run usb program: %w", err)
		}
		if v := ret & (1<<probes.USBVerdictBits - 1); v != 0 {
			return v == probes.USBAllow, fmt.Sprintf("%s:%d", u.file, ret>>probes.USBVerdictBits), nil
		}
	}
	return false, "", nil
}

// usbHubs lists the root hubs whose defaults a guard takes over: none is
// an error (a kernel without USB, or no host controller).
func usbHubs(sys string) ([]string, error) {
	hubs, _ := filepath.Glob(filepath.Join(sys, "bus/usb/devices/usb*"))
	if len(hubs) == 0 {
		return nil, fmt.Errorf("usb: no USB host controller in %s/bus/usb/devices", sys)
	}
	return hubs, nil
}

// start takes the defaults over and opens the uevent socket, before
// anything is judged, so that no device arrives unseen.
func (u *usbGuard) start() error {
	sock, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return fmt.Errorf("usb: uevent socket: %w", err)
	}
	u.sock = sock
	unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	if err := unix.Bind(sock, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(sock)
		u.sock = -1
		return fmt.Errorf("usb: uevent socket: %w", err)
	}
	hubs, err := usbHubs(u.sys)
	if err != nil {
		return err
	}
	for _, h := range hubs {
		if err := u.takeHub(h); err != nil {
			u.restore()
			return err
		}
	}
	return nil
}

// takeHub sets a root hub's defaults to 0 for the levels the script
// judges: at start, and for a host controller that appears while bpfsh
// runs (a dock, a hot-plugged card), whose devices are then judged as
// they arrive like any other.
func (u *usbGuard) takeHub(hub string) error {
	for _, a := range []struct {
		name string
		on   bool
	}{{"authorized_default", u.dev}, {"interface_authorized_default", u.ifc}} {
		if !a.on {
			continue
		}
		if err := u.takeDefault(filepath.Join(hub, a.name)); err != nil {
			return err
		}
	}
	return nil
}

func (u *usbGuard) takeDefault(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("usb: %w", err)
	}
	if err := os.WriteFile(path, []byte("0"), 0); err != nil {
		return fmt.Errorf("usb: %w", err)
	}
	u.mu.Lock()
	u.saved = append(u.saved, usbDefault{path, strings.TrimSpace(string(b))})
	u.mu.Unlock()
	return nil
}

// restore puts the saved defaults back (not with --usb-exit=keep).
func (u *usbGuard) restore() {
	if u.keepDefs {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.saved) - 1; i >= 0; i-- {
		d := u.saved[i]
		if err := os.WriteFile(d.path, []byte(d.value), 0); err != nil && u.errw != nil {
			fmt.Fprintf(u.errw, "ERROR: usb: restore %s: %v\n", d.path, err)
		}
	}
	u.saved = nil
}

// run judges the devices present (unless kept), then each that arrives,
// until close.
func (u *usbGuard) run(keepPresent bool) {
	u.stop, u.done = make(chan struct{}), make(chan struct{})
	u.scan(keepPresent)
	go func() {
		defer close(u.done)
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-u.stop:
				return
			default:
			}
			n, _, err := unix.Recvfrom(u.sock, buf, 0)
			switch {
			case errors.Is(err, unix.ENOBUFS):
				u.scan(false) // events were lost: look at everything again
			case err == nil:
				u.uevent(buf[:n])
			}
		}
	}()
}

// close stops judging and restores the defaults; once.
func (u *usbGuard) close() {
	u.closed.Do(func() {
		if u.stop != nil {
			close(u.stop)
			<-u.done
		}
		if u.sock >= 0 {
			unix.Close(u.sock)
		}
		u.restore()
	})
}

// scan judges every device and interface not judged yet; with keep, it
// marks them judged instead.
func (u *usbGuard) scan(keep bool) {
	names, _ := filepath.Glob(filepath.Join(u.sys, "bus/usb/devices/*"))
	sort.Strings(names)
	for _, n := range names {
		path, err := filepath.EvalSymlinks(n)
		if err != nil {
			continue
		}
		if keep {
			u.mark(path)
			continue
		}
		if strings.Contains(filepath.Base(path), ":") {
			u.interfaces(filepath.Dir(path))
		} else {
			u.device(path)
		}
	}
}

func (u *usbGuard) mark(path string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.judged[path] {
		return false
	}
	u.judged[path] = true
	return true
}

// uevent handles one kernel uevent: "add@/devices/...\0KEY=value\0...".
func (u *usbGuard) uevent(msg []byte) {
	ev := parseUevent(msg)
	if ev["SUBSYSTEM"] != "usb" || ev["DEVPATH"] == "" {
		return
	}
	path := filepath.Join(u.sys, ev["DEVPATH"])
	switch ev["ACTION"] {
	case "add":
		switch ev["DEVTYPE"] {
		case "usb_device":
			if strings.HasPrefix(filepath.Base(path), "usb") {
				if err := u.takeHub(path); err != nil && u.errw != nil {
					fmt.Fprintf(u.errw, "ERROR: new host controller %s: %v\n", filepath.Base(path), err)
				}
				break
			}
			u.device(path)
		case "usb_interface":
			u.interfaces(filepath.Dir(path))
		}
	case "remove":
		// The device and its interfaces: one plugged in at the same port
		// later is judged anew.
		// A root hub that goes takes its defaults along: nothing to restore.
		u.mu.Lock()
		for p := range u.judged {
			if p == path || strings.HasPrefix(p, path+"/") {
				delete(u.judged, p)
			}
		}
		u.saved = slices.DeleteFunc(u.saved, func(d usbDefault) bool { return filepath.Dir(d.path) == path })
		u.mu.Unlock()
	}
}

func parseUevent(msg []byte) map[string]string {
	ev := map[string]string{}
	for _, f := range bytes.Split(msg, []byte{0}) {
		if k, v, ok := strings.Cut(string(f), "="); ok {
			ev[k] = v
		}
	}
	return ev
}

// device judges a device (not a root hub) and, if it is allowed, its interfaces.
func (u *usbGuard) device(path string) {
	name := filepath.Base(path)
	if !u.dev || strings.HasPrefix(name, "usb") || strings.Contains(name, ":") || !u.mark(path) {
		return
	}
	a, err := readUSBDevice(path)
	if err != nil {
		return // gone already
	}
	d := &usbDecision{Time: time.Now(), Name: name, Attrs: *a}
	d.Allow, d.Rule, d.Applied = u.decide(a, false)
	if d.Applied == nil {
		d.Applied = writeAuthorized(path, d.Allow)
	}
	u.report(d)
	if d.Allow && d.Applied == nil {
		u.interfaces(path) // they exist once "authorized" is written
	}
}

// interfaces judges the device's interfaces not judged yet: all are
// authorized first, then drivers probed, as authorization.rst asks (a
// driver may claim several interfaces).
func (u *usbGuard) interfaces(dev string) {
	if !u.ifc || strings.HasPrefix(filepath.Base(dev), "usb") || sysStr(dev, "authorized") != "1" {
		return // an unauthorized device's interfaces are on their way out
	}
	ifs, _ := filepath.Glob(filepath.Join(dev, filepath.Base(dev)+":*"))
	var allowed []string
	for _, path := range ifs {
		if !u.mark(path) {
			continue
		}
		a, err := readUSBInterface(dev, path)
		if err != nil {
			continue
		}
		d := &usbDecision{Time: time.Now(), Iface: true, Name: filepath.Base(path), Attrs: *a}
		d.Allow, d.Rule, d.Applied = u.decide(a, true)
		if d.Applied == nil {
			d.Applied = writeAuthorized(path, d.Allow)
		}
		u.report(d)
		if d.Allow && d.Applied == nil {
			allowed = append(allowed, filepath.Base(path))
		}
	}
	for _, n := range allowed {
		// An interface authorized after it appeared gets no driver by itself.
		os.WriteFile(filepath.Join(u.sys, "bus/usb/drivers_probe"), []byte(n), 0)
	}
}

func writeAuthorized(path string, allow bool) error {
	v := "0"
	if allow {
		v = "1"
	}
	if err := os.WriteFile(filepath.Join(path, "authorized"), []byte(v), 0); err != nil {
		return fmt.Errorf("write authorized: %w", err)
	}
	return nil
}

// readUSBDevice reads a device's attributes from sysfs.
func readUSBDevice(path string) (*probes.USBAttrs, error) {
	a := &probes.USBAttrs{Port: filepath.Base(path)}
	var err error
	for _, f := range []struct {
		name string
		dst  *uint64
		base int
	}{{"idVendor", &a.Vendor, 16}, {"idProduct", &a.Product, 16}, {"bDeviceClass", &a.Class, 16},
		{"bDeviceSubClass", &a.SubClass, 16}, {"bDeviceProtocol", &a.Protocol, 16}, {"busnum", &a.Bus, 10}} {
		if *f.dst, err = sysNum(filepath.Join(path, f.name), f.base); err != nil {
			return nil, err
		}
	}
	a.Serial, a.Manufacturer, a.Name = sysStr(path, "serial"), sysStr(path, "manufacturer"), sysStr(path, "product")
	desc, err := os.ReadFile(filepath.Join(path, "descriptors"))
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write(desc)
	a.Hash = h.Sum64()
	return a, nil
}

// readUSBInterface is the device's attributes and the interface's.
func readUSBInterface(dev, path string) (*probes.USBAttrs, error) {
	a, err := readUSBDevice(dev)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"bInterfaceClass", &a.IfClass}, {"bInterfaceSubClass", &a.IfSubClass},
		{"bInterfaceProtocol", &a.IfProtocol}, {"bInterfaceNumber", &a.IfNum}} {
		if *f.dst, err = sysNum(filepath.Join(path, f.name), 16); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func sysNum(path string, base int) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), base, 64)
}

// sysStr is a string attribute, "" when the device has none.
func sysStr(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimRight(string(b), "\n")
}

// fields are the decision's attributes, named as the script names them,
// in the order both renderings use; quoted says a string.
func (d *usbDecision) fields() []usbField {
	a := &d.Attrs
	hex2 := func(v uint64) string { return fmt.Sprintf("%02x", v) }
	f := []usbField{{"port", d.Name, true}, {"vendor", fmt.Sprintf("%04x", a.Vendor), false},
		{"product", fmt.Sprintf("%04x", a.Product), false}, {"class", hex2(a.Class), false},
		{"subclass", hex2(a.SubClass), false}, {"protocol", hex2(a.Protocol), false}}
	if d.Iface {
		f = append(f, usbField{"ifnum", strconv.FormatUint(a.IfNum, 10), false}, usbField{"ifclass", hex2(a.IfClass), false},
			usbField{"ifsubclass", hex2(a.IfSubClass), false}, usbField{"ifprotocol", hex2(a.IfProtocol), false})
	}
	return append(f, usbField{"busnum", strconv.FormatUint(a.Bus, 10), false},
		usbField{"serial", a.Serial, true}, usbField{"manufacturer", a.Manufacturer, true},
		usbField{"product_name", a.Name, true}, usbField{"deschash", fmt.Sprintf("0x%016x", a.Hash), false})
}

type usbField struct {
	name, val string
	quoted    bool
}

func (d *usbDecision) verdict() (string, string) {
	v, kind := "deny", "device"
	if d.Allow {
		v = "allow"
	}
	if d.Iface {
		kind = "interface"
	}
	return v, kind
}

// usbText is one line: time, verdict, what, attributes, the rule.
func usbText(w io.Writer, d *usbDecision) {
	v, kind := d.verdict()
	var b strings.Builder
	fmt.Fprintf(&b, "usb %s %s %s", d.Time.Format("15:04:05"), v, kind)
	for _, f := range d.fields() {
		if f.quoted {
			fmt.Fprintf(&b, " %s=%q", f.name, f.val)
		} else {
			fmt.Fprintf(&b, " %s=%s", f.name, f.val)
		}
	}
	rule := d.Rule
	if rule == "" {
		rule = "default"
	}
	fmt.Fprintf(&b, " rule=%s", rule)
	if d.Applied != nil {
		fmt.Fprintf(&b, " error=%q", d.Applied.Error())
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

// usbJSON is one {"type": "usb", "data": {...}} record.
func usbJSON(w io.Writer, d *usbDecision) {
	v, kind := d.verdict()
	var b strings.Builder
	b.WriteString(`{"type": "usb", "data": {"time": `)
	jsonString(&b, d.Time.Format(time.RFC3339Nano))
	fmt.Fprintf(&b, `, "decision": %q, "kind": %q`, v, kind)
	for _, f := range d.fields() {
		fmt.Fprintf(&b, ", %q: ", f.name)
		jsonString(&b, f.val)
	}
	b.WriteString(`, "rule": `)
	jsonString(&b, d.Rule)
	if d.Applied != nil {
		b.WriteString(`, "error": `)
		jsonString(&b, d.Applied.Error())
	}
	b.WriteString("}}\n")
	io.WriteString(w, b.String())
}

// startUSB takes the USB defaults over for the script's usb probes.
func (r *run) startUSB() (*usbGuard, error) {
	u := newUSBGuard(r.obj, r.progs, r.opts.USB)
	u.errw = r.opts.Err
	u.report = func(d *usbDecision) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.opts.JSON {
			usbJSON(r.out, d)
		} else {
			usbText(r.out, d)
		}
		r.out.Flush()
	}
	if err := u.start(); err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}
