package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfsh/bpfsh/lang"
	"github.com/bpfsh/bpfsh/lang/cpp"
)

// The script's preprocessor lines go through lang/cpp: #if, #ifdef and
// #ifndef decide which of the preamble's lines count (bpftrace's
// BPFTRACE_HAVE_BTF is defined: types come from BTF), and #include reads
// the header, whose integer macros and enumerators become constants the
// script may use. Types keep coming from BTF. No header is read when the
// script includes none (nor --include gives one).

// preamble reads the C definitions and directives before the probes.
func (c *compiler) preamble(diags *lang.Diags) {
	var last *lang.CDecl
	for _, f := range c.opts.Includes {
		c.includeFile(f, diags)
	}
	for _, d := range c.prog.Preamble {
		if c.preproc(d, diags) {
			continue
		}
		c.cdecl(d, diags)
		if strings.HasPrefix(strings.TrimSpace(d.Text), "#") {
			last = d
		}
	}
	if c.pp != nil && c.pp.Unterminated() {
		sp := c.prog.Span
		if last != nil {
			sp = last.Span
		}
		diags.Errorf(sp, "unterminated #if: the preamble ends before its #endif")
	}
}

// cpp is the script's preprocessor, made on first use.
func (c *compiler) cpp() *cpp.Preprocessor {
	if c.pp == nil {
		release := ""
		if b, err := os.ReadFile(c.opts.Env.ProcPath("sys/kernel/osrelease")); err == nil {
			release = strings.TrimSpace(string(b))
		}
		c.pp = cpp.System{Release: release, IDirs: c.opts.IncludeDirs}.New()
	}
	return c.pp
}

// preproc handles d when it is the preprocessor's (a conditional, an
// #include) or inactive, reporting whether it did.
func (c *compiler) preproc(d *lang.CDecl, diags *lang.Diags) bool {
	text := strings.TrimSpace(d.Text)
	if !strings.HasPrefix(text, "#") {
		return c.pp != nil && !c.pp.Active()
	}
	handled, err := c.cpp().Directive(text)
	if err != nil {
		diags.Errorf(d.Span, "%v", err)
		return true
	}
	word := strings.TrimSpace(text[1:])
	word = word[:len(word)-len(strings.TrimLeft(word, "abcdefghijklmnopqrstuvwxyz"))]
	switch {
	case !c.pp.Active():
		return true
	case handled:
		return word != "define" && word != "undef" // the compiler's own constants too
	case word == "include":
		c.include(d, text, diags)
		return true
	case word == "error":
		diags.Errorf(d.Span, "%s", strings.TrimSpace(stripCComment(text)))
		return true
	case word == "warning":
		diags.Warnf(d.Span, "%s", strings.TrimSpace(stripCComment(text)))
		return true
	}
	return false
}

// include reads the header an #include line names.
func (c *compiler) include(d *lang.CDecl, text string, diags *lang.Diags) {
	spec := strings.TrimSpace(stripCComment(strings.TrimSpace(text[1:])[len("include"):]))
	c.included = true
	err := c.pp.Include(spec, c.scriptDir())
	if err == nil {
		return
	}
	sp := d.Span
	if i := strings.Index(d.Text, spec); i >= 0 && spec != "" && d.Span.End.Offset <= len(c.prog.Src) &&
		string(c.prog.Src[d.Span.Start.Offset:d.Span.End.Offset]) == d.Text {
		off := d.Span.Start.Offset + i
		sp = lang.Span{Start: lang.PosAt(c.prog.Src, off), End: lang.PosAt(c.prog.Src, off+len(spec))}
	}
	e := diags.Errorf(sp, "%v", err)
	var nf *cpp.NotFoundError
	if errors.As(err, &nf) {
		e.Msg = "#include " + nf.Name + ": no such header"
		e.Hint("looked in %s", c.searched(spec))
	}
}

// includeFile reads --include FILE before the script, as #include "FILE".
func (c *compiler) includeFile(name string, diags *lang.Diags) {
	c.included = true
	if err := c.cpp().Include(`"`+name+`"`, "."); err != nil {
		diags.Errorf(lang.Span{}, "--include %s: %v", name, err)
	}
}

// scriptDir is where #include "FILE" looks first: the script's directory.
func (c *compiler) scriptDir() string {
	if st, err := os.Stat(c.prog.File); err == nil && !st.IsDir() {
		return filepath.Dir(c.prog.File)
	}
	return "."
}

func (c *compiler) searched(spec string) string {
	dirs := c.pp.Path
	if strings.HasPrefix(spec, `"`) {
		dirs = append([]string{c.scriptDir()}, dirs...)
	}
	return strings.Join(dirs, ", ")
}

// headerInt is name's value as an integer macro or enumerator of the
// headers the script includes.
func (c *compiler) headerInt(name string) (int64, bool) {
	if !c.included {
		return 0, false
	}
	return c.pp.Int(name)
}

// headersLack says why an identifier may be missing from the headers the
// script includes ("" when it includes none, or the kernel's headers are
// on the path).
func (c *compiler) headersLack() string {
	if !c.included || c.pp.Defined("__KERNEL__") {
		return ""
	}
	return "the kernel's own headers (/lib/modules/$(uname -r)/build) are not installed: " +
		"the system's UAPI headers lack what only they define (TASK_RUNNING)"
}

// macroInt is name's value as a #define of the script or an integer
// constant of its headers (for constant expressions in C definitions).
func (c *compiler) macroInt(name string) (int64, bool) {
	if v, ok := c.defs.ints[name]; ok {
		return v, true
	}
	return c.headerInt(name)
}
