package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/internal/privtest"
	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/probes"
)

// fakeUSB is a sysfs tree with one root hub, in dir.
type fakeUSB struct {
	t   *testing.T
	dir string
}

func newFakeUSB(t *testing.T) *fakeUSB {
	f := &fakeUSB{t: t, dir: t.TempDir()}
	f.write("devices/pci0/usb1", map[string]string{"authorized_default": "-1\n", "interface_authorized_default": "1\n",
		"authorized": "1\n"})
	f.write("bus/usb/devices", nil)
	f.write("bus/usb", map[string]string{"drivers_probe": ""})
	f.link("usb1", "devices/pci0/usb1")
	return f
}

func (f *fakeUSB) write(dir string, files map[string]string) {
	if err := os.MkdirAll(filepath.Join(f.dir, dir), 0o755); err != nil {
		f.t.Fatal(err)
	}
	for n, v := range files {
		if err := os.WriteFile(filepath.Join(f.dir, dir, n), []byte(v), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fakeUSB) link(name, target string) {
	if err := os.Symlink(filepath.Join(f.dir, target), filepath.Join(f.dir, "bus/usb/devices", name)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeUSB) read(path string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, path))
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// device adds device port (unauthorized, as with authorized_default 0)
// with one interface of class ifclass; it returns its sysfs path.
func (f *fakeUSB) device(port, vid, pid, serial string, ifclass string) string {
	dir := "devices/pci0/usb1/" + port
	f.write(dir, map[string]string{"idVendor": vid + "\n", "idProduct": pid + "\n", "bDeviceClass": "00\n",
		"bDeviceSubClass": "00\n", "bDeviceProtocol": "00\n", "busnum": "1\n", "serial": serial + "\n",
		"manufacturer": "ACME\n", "product": "Disk " + serial + "\n", "descriptors": "desc-" + serial, "authorized": "0\n"})
	f.write(dir+"/"+port+":1.0", map[string]string{"bInterfaceClass": ifclass + "\n", "bInterfaceSubClass": "06\n",
		"bInterfaceProtocol": "50\n", "bInterfaceNumber": "00\n", "authorized": "0\n"})
	f.link(port, dir)
	f.link(port+":1.0", dir+"/"+port+":1.0")
	return dir
}

// loadUSB compiles and loads src for the fake tree.
func loadUSB(t *testing.T, f *fakeUSB, src string, params ...string) (*usbGuard, *[]*usbDecision) {
	prog, diags := lang.Parse("guard.bt", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	obj, diags := compiler.Compile(prog, compiler.Options{Env: probes.SystemEnv(), Unsafe: true, Params: params})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	maps, err := createMaps(obj.MapSpecs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeMaps(maps) })
	progs, err := loadPrograms(obj, obj.Programs, maps, patchValues{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range progs {
			p.Close()
		}
	})
	u := newUSBGuard(obj, progs, USBOptions{Sysfs: f.dir})
	var got []*usbDecision
	u.report = func(d *usbDecision) { got = append(got, d) }
	return u, &got
}

// The guard runs the script's programs in the kernel on each device and
// interface of a (fake) sysfs, writes their verdicts, reports the rule
// that decided, and gives the defaults back on close: the path uevents
// take, with real BPF_PROG_TEST_RUN executions deciding.
func TestUSBGuard(t *testing.T) {
	privtest.Require(t)
	f := newFakeUSB(t)
	good := f.device("1-2", "46f4", "0003", "ok", "08")
	bad := f.device("1-3.1", "46f4", "0003", "bad", "08")
	h := fnv.New64a()
	h.Write([]byte("desc-byhash"))
	u, got := loadUSB(t, f, `
usb:device /vendor == 0x46f4 && product == 0x0003 && serial == "ok" && product_name == "Disk ok" && manufacturer == "ACME" && port == "1-2" && busnum == 1/ { allow; }
usb:device /deschash == $1/ { allow; }
usb:device { }
usb:interface /ifclass == 3 || ifnum != 0/ { deny; }
usb:interface /ifclass == 8 && ifsubclass == 6 && ifprotocol == 0x50 && serial == "ok"/ { allow; }
`, fmt.Sprint(h.Sum64()))
	if err := u.start(); err != nil {
		t.Fatal(err)
	}
	if a, i := f.read("devices/pci0/usb1/authorized_default"), f.read("devices/pci0/usb1/interface_authorized_default"); a != "0" || i != "0" {
		t.Errorf("defaults while running: %s/%s, want 0/0", a, i)
	}
	u.scan(false)
	if a := f.read(good + "/authorized"); a != "1" {
		t.Errorf("allowed device: authorized %s", a)
	}
	if a := f.read(bad + "/authorized"); a != "0" {
		t.Errorf("denied device: authorized %s", a)
	}
	if a := f.read(good + "/1-2:1.0/authorized"); a != "1" {
		t.Errorf("allowed interface: authorized %s", a)
	}
	if p := f.read("bus/usb/drivers_probe"); p != "1-2:1.0" {
		t.Errorf("drivers_probe got %q, want 1-2:1.0", p)
	}
	// A device that arrives: its uevent.
	late := f.device("1-4", "1234", "5678", "byhash", "03")
	u.uevent([]byte("add@/" + late + "\x00ACTION=add\x00DEVPATH=/" + late + "\x00SUBSYSTEM=usb\x00DEVTYPE=usb_device\x00"))
	if a := f.read(late + "/authorized"); a != "1" {
		t.Errorf("device allowed by its descriptors' hash: authorized %s", a)
	}
	if a := f.read(late + "/1-4:1.0/authorized"); a != "0" {
		t.Errorf("HID interface: authorized %s", a)
	}
	// A host controller that appears while the guard runs is taken over as
	// those present at start (and given back on close); one that goes is
	// forgotten (nothing to restore there).
	for _, hub := range []string{"usb2", "usb3"} {
		f.write("devices/pci1/"+hub, map[string]string{"authorized_default": "1\n", "interface_authorized_default": "1\n", "authorized": "1\n"})
		u.uevent([]byte("add@/devices/pci1/" + hub + "\x00ACTION=add\x00DEVPATH=/devices/pci1/" + hub + "\x00SUBSYSTEM=usb\x00DEVTYPE=usb_device\x00"))
		if a, i := f.read("devices/pci1/"+hub+"/authorized_default"), f.read("devices/pci1/"+hub+"/interface_authorized_default"); a != "0" || i != "0" {
			t.Errorf("a new host controller's defaults: %s/%s, want 0/0", a, i)
		}
	}
	if err := os.RemoveAll(filepath.Join(f.dir, "devices/pci1/usb3")); err != nil {
		t.Fatal(err)
	}
	u.uevent([]byte("remove@/devices/pci1/usb3\x00ACTION=remove\x00DEVPATH=/devices/pci1/usb3\x00SUBSYSTEM=usb\x00DEVTYPE=usb_device\x00"))
	var errs bytes.Buffer
	u.errw = &errs
	u.close()
	if a, i := f.read("devices/pci0/usb1/authorized_default"), f.read("devices/pci0/usb1/interface_authorized_default"); a != "-1" || i != "1" {
		t.Errorf("defaults after close: %s/%s, want -1/1", a, i)
	}
	if a, i := f.read("devices/pci1/usb2/authorized_default"), f.read("devices/pci1/usb2/interface_authorized_default"); a != "1" || i != "1" {
		t.Errorf("the new host controller's defaults after close: %s/%s, want 1/1", a, i)
	}
	if errs.Len() > 0 {
		t.Errorf("errors on close: %s", errs.String())
	}
	var lines bytes.Buffer
	for _, d := range *got {
		usbText(&lines, d)
	}
	want := []string{
		`allow device port="1-2" vendor=46f4 product=0003 class=00 subclass=00 protocol=00 busnum=1 serial="ok" manufacturer="ACME" product_name="Disk ok" deschash=0x`,
		`rule=guard.bt:2`,
		`allow interface port="1-2:1.0" vendor=46f4 product=0003 class=00 subclass=00 protocol=00 ifnum=0 ifclass=08 ifsubclass=06 ifprotocol=50 busnum=1`,
		`rule=guard.bt:6`,
		`deny device port="1-3.1" vendor=46f4`, `rule=default`,
		`allow device port="1-4" vendor=1234 product=5678`, `rule=guard.bt:3`,
		`deny interface port="1-4:1.0"`, `rule=guard.bt:5`,
	}
	out := lines.String()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("decisions lack %q:\n%s", w, out)
		}
	}
	if len(*got) != 5 {
		t.Errorf("%d decisions, want 5:\n%s", len(*got), out)
	}
}

func TestParseUevent(t *testing.T) {
	ev := parseUevent([]byte("add@/devices/x/1-1\x00ACTION=add\x00DEVPATH=/devices/x/1-1\x00DEVTYPE=usb_device\x00"))
	if ev["ACTION"] != "add" || ev["DEVPATH"] != "/devices/x/1-1" || ev["DEVTYPE"] != "usb_device" {
		t.Errorf("parseUevent: %v", ev)
	}
}

// -f json: one object per decision, with the attributes as the script names them.
func TestUSBReportJSON(t *testing.T) {
	d := &usbDecision{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Iface: true, Name: "1-2:1.0",
		Attrs: probes.USBAttrs{Vendor: 0x46f4, Product: 1, IfClass: 8, Serial: `a"b`}, Rule: "x.bt:3"}
	var b bytes.Buffer
	usbJSON(&b, d)
	var rec struct {
		Type string            `json:"type"`
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	want := map[string]string{"decision": "deny", "kind": "interface", "port": "1-2:1.0", "vendor": "46f4",
		"product": "0001", "ifclass": "08", "serial": `a"b`, "rule": "x.bt:3", "time": "2026-01-02T03:04:05Z"}
	for k, v := range want {
		if rec.Data[k] != v {
			t.Errorf("%s: %q, want %q (%s)", k, rec.Data[k], v, b.String())
		}
	}
	if rec.Type != "usb" || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("not one usb record: %s", b.String())
	}
}

// A device removed and plugged in again at the same port is judged again,
// with its interfaces.
func TestUSBRemoveForgets(t *testing.T) {
	u := &usbGuard{sys: "/s", judged: map[string]bool{"/s/devices/u/1-1": true, "/s/devices/u/1-1/1-1:1.0": true,
		"/s/devices/u/1-10": true}}
	u.uevent([]byte("remove@/devices/u/1-1\x00ACTION=remove\x00DEVPATH=/devices/u/1-1\x00SUBSYSTEM=usb\x00DEVTYPE=usb_device\x00"))
	if len(u.judged) != 1 || !u.judged["/s/devices/u/1-10"] {
		t.Errorf("after remove: %v", u.judged)
	}
}
