package compiler
import ("os";"strings";"testing";"github.com/bpfsh/bpfsh/lang")
func TestTmpEx(t *testing.T) {
	b, _ := os.ReadFile("../examples/usb-firewall.bt")
	s := string(b)
	i := strings.Index(s, "// A device arrives")
	j := strings.Index(s, "// Any device registered")
	s = s[:i] + s[j:]
	for _, src := range []string{s} {
		prog, d := parseT(t, src)
		obj, d := Compile(prog, Options{Env: kernelEnv(t, true), Unsafe: true, Params: []string{"0x46f4", "1"}})
		if d.HasErrors() { t.Fatal(d.Format()) }
		for _, p := range obj.Programs { t.Logf("%s %d insns", p.Point, len(p.Spec.Instructions)) }
	}
	b, _ = os.ReadFile("../examples/syscall-firewall.bt")
	prog, _ := parseT(t, string(b))
	obj, d := Compile(prog, Options{Env: kernelEnv(t, true), Unsafe: true, Params: []string{"nc"}})
	if d.HasErrors() { t.Fatal(d.Format()) }
	for _, p := range obj.Programs { t.Logf("%s %d insns", p.Point, len(p.Spec.Instructions)) }
}
func parseT(t *testing.T, src string) (*lang.Program, *lang.Diags) { return lang.Parse("x.bt", []byte(src)) }
