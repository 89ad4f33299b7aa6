package help

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfsh/bpfsh/internal/privtest"
)

// TestManItems: every item of every section of the help text (options,
// environment variables, files, examples) is an item of the man page, with
// its description, and the usage lines are its synopsis.
func TestManItems(t *testing.T) {
	man := Man("9.9")
	if !strings.HasPrefix(man, ".TH BPFSH 1 \"\" \"bpfsh 9.9\"") {
		t.Errorf("man page does not start with its title line:\n%.80s", man)
	}
	if !strings.Contains(man, ".SH NAME\nbpfsh \\- a bpftrace") {
		t.Errorf("no NAME section:\n%s", man)
	}
	for _, sec := range []string{"SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "FILES", "EXAMPLES"} {
		if !strings.Contains(man, "\n.SH "+sec+"\n") {
			t.Errorf("no %s section", sec)
		}
	}
	if strings.Index(man, ".SH SYNOPSIS") > strings.Index(man, ".SH DESCRIPTION") {
		t.Error("SYNOPSIS comes after DESCRIPTION")
	}
	items := 0
	for _, line := range strings.Split(Text, "\n") {
		if !strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "     ") {
			continue
		}
		term, desc := splitItem(strings.TrimSpace(line))
		if strings.HasPrefix(term, "bpfsh [") || strings.HasPrefix(term, "bpfsh pins") || strings.HasPrefix(term, "bpfsh unpin") || strings.HasPrefix(term, "bpfsh metrics") || term == "bpfsh" {
			// A usage line: in the synopsis as it is.
			if !strings.Contains(man, "\n"+escape(strings.TrimSpace(line))+"\n") {
				t.Errorf("usage line %q is not in the synopsis", line)
			}
			continue
		}
		items++
		want := ".TP\n" + formatTerm(term) + "\n"
		if desc != "" {
			want += escape(desc) + "\n"
		}
		if !strings.Contains(man, want) {
			t.Errorf("item %q is not in the man page as\n%s", term, want)
		}
	}
	if items < 25 {
		t.Errorf("found %d items in the help text, want at least 25 (options, environment, files, examples)", items)
	}
}

func TestFormatTerm(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-e PROGRAM", `\fB\-e\fR \fIPROGRAM\fR`},
		{"--include H, -I DIR", `\fB\-\-include\fR \fIH\fR, \fB\-I\fR \fIDIR\fR`},
		{"-f text|json", `\fB\-f\fR text|json`},
		{"-l [PATTERN], --list [PATTERN]", `\fB\-l\fR \fI[PATTERN]\fR, \fB\-\-list\fR \fI[PATTERN]\fR`},
		{"-c 'CMD'", `\fB\-c\fR \fI\(aqCMD\(aq\fR`},
		{"/etc/bpfsh/NAME.bt", `\fB/etc/bpfsh/NAME.bt\fR`},
		{`.x\y`, `\fB\&.x\ey\fR`},
	} {
		if got := formatTerm(c.in); got != c.want {
			t.Errorf("formatTerm(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := escape(".TH x"); got != `\&.TH x` {
		t.Errorf("a line starting with a dot is not escaped: %q", got)
	}
}

// TestManGroff: groff reads the page with every warning on and has nothing
// to say, and the rendered page shows the options as --help writes them.
func TestManGroff(t *testing.T) {
	groff := privtest.Tool(t, "groff", "groff-base")
	page := filepath.Join(t.TempDir(), "bpfsh.1")
	if err := os.WriteFile(page, []byte(Man("9.9")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff -ww: %v\n%s", err, out)
	}
	cmd := exec.Command(groff, "-man", "-Tascii", "-P", "-cbou", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=200")
	text, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-e PROGRAM", "--pin NAME", "--usdt-file-activation", "bpfsh unpin NAME", "/etc/bpfsh/NAME.bt", "BPFSH_MAX_STRLEN"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("rendered page lacks %q:\n%s", want, text)
		}
	}
}
