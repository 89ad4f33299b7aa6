// Package help holds bpfsh's help text, the one source of both `bpfsh --help`
// and the bpfsh(1) man page (Man renders it as roff), so the two cannot
// drift apart.
//
// help.txt is plain text laid out for a terminal, with a few rules that let
// Man find its structure:
//
//   - The first line is "bpfsh - summary" (the man page's NAME); paragraphs
//     before the first heading are its DESCRIPTION.
//   - A heading is a line of capitals ending in ':' at column 0. USAGE
//     becomes SYNOPSIS, copied line for line; every other section keeps its
//     name.
//   - In a section, a line indented four spaces starts an item: its term,
//     then, after two or more spaces, the start of its description. Lines
//     indented further continue the description.
//   - Other lines at column 0 are paragraphs; blank lines separate them.
package help

import (
	_ "embed"
	"fmt"
	"strings"
)

// Text is what `bpfsh --help` prints.
//
//go:embed help.txt
var Text string

// Man renders Text as a man page in roff (man macros) for the given version.
// It carries no date, so the same version always gives the same page. The
// sections keep their order in Text, except that SYNOPSIS comes first, as
// man pages have it, and --help's opening paragraphs follow as DESCRIPTION.
func Man(version string) string {
	lines := strings.Split(strings.TrimRight(Text, "\n"), "\n")
	name, summary, _ := strings.Cut(lines[0], " - ")
	type section struct {
		name string
		body strings.Builder
	}
	sections := []*section{{name: "DESCRIPTION"}}
	cur := sections[0]
	inItem, inPara := false, false
	for _, line := range lines[1:] {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := strings.TrimSpace(line)
		b := &cur.body
		switch {
		case text == "":
			inItem, inPara = false, false
		case indent == 0 && isHeading(text):
			cur = &section{name: strings.TrimSuffix(text, ":")}
			if cur.name == "USAGE" {
				// First, after NAME.
				cur.name = "SYNOPSIS"
				sections = append([]*section{cur}, sections...)
			} else {
				sections = append(sections, cur)
			}
			inItem, inPara = false, false
		case cur.name == "SYNOPSIS":
			b.WriteString(escape(text) + "\n")
		case indent == 4:
			term, desc := splitItem(text)
			fmt.Fprintf(b, ".TP\n%s\n", formatTerm(term))
			if desc != "" {
				b.WriteString(escape(desc) + "\n")
			}
			inItem, inPara = true, false
		case indent > 4 && inItem:
			b.WriteString(escape(text) + "\n")
		default:
			if !inPara {
				b.WriteString(".PP\n")
			}
			b.WriteString(escape(text) + "\n")
			inItem, inPara = false, true
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, ".TH %s 1 \"\" \"%s %s\" \"User Commands\"\n", strings.ToUpper(name), name, version)
	fmt.Fprintf(&out, ".SH NAME\n%s \\- %s\n", name, escape(summary))
	for _, s := range sections {
		fmt.Fprintf(&out, ".SH %s\n", s.name)
		if s.name == "SYNOPSIS" {
			// Line for line, as --help lays it out.
			fmt.Fprintf(&out, ".nf\n%s.fi\n", s.body.String())
			continue
		}
		out.WriteString(s.body.String())
	}
	return out.String()
}

// isHeading reports whether s is a section heading: capitals and spaces
// ending in ':'.
func isHeading(s string) bool {
	head, ok := strings.CutSuffix(s, ":")
	if !ok || head == "" {
		return false
	}
	for _, r := range head {
		if (r < 'A' || r > 'Z') && r != ' ' {
			return false
		}
	}
	return true
}

// splitItem splits an item's first line at its first run of two or more
// spaces: the term, then the description (empty when it starts on the next
// line).
func splitItem(s string) (term, desc string) {
	if i := strings.Index(s, "  "); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	return s, ""
}

// formatTerm sets an item's term: options in bold and their CAPITAL
// placeholders in italics; a term that is not an option (a command in
// EXAMPLES, a file in FILES) in bold as a whole.
func formatTerm(term string) string {
	if !strings.HasPrefix(term, "-") {
		return `\fB` + escape(term) + `\fR`
	}
	words := strings.Split(term, " ")
	for i, w := range words {
		core := strings.TrimRight(w, ",")
		tail := w[len(core):]
		switch {
		case strings.HasPrefix(core, "-"):
			words[i] = `\fB` + escape(core) + `\fR` + tail
		case core != "" && strings.ToUpper(core) == core && strings.Trim(core, "[]") != "":
			words[i] = `\fI` + escape(core) + `\fR` + tail
		default:
			words[i] = escape(w)
		}
	}
	return strings.Join(words, " ")
}

// escape makes text safe in roff: backslashes print as themselves, hyphens
// are minus signs (so options can be searched and pasted), quotes stay
// straight, and a line cannot start a request with '.' or '\”.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\e`, `-`, `\-`, `'`, `\(aq`, "`", `\(ga`)
	s = r.Replace(s)
	if strings.HasPrefix(s, ".") {
		s = `\&` + s
	}
	return s
}
