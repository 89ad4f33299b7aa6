package compiler

import (
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// Preprocessor lines before the probes: #include and conditionals are
// headers.go's (lang/cpp); kernel types come from BTF and errno and signal
// names are built in. #define NAME VALUE defines an integer or string
// constant; macros with parameters are bpfsh macros' job.

// defines are the #define'd constants.
type defines struct {
	ints    map[string]int64
	strings map[string]string
}

func (c *compiler) directive(d *lang.CDecl, diags *lang.Diags) {
	if c.defs.ints == nil {
		c.defs = defines{ints: map[string]int64{}, strings: map[string]string{}}
	}
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d.Text), "#"))
	word, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexAny(word, "\t<\""); i >= 0 {
		word, rest = word[:i], word[i:]+" "+rest
	}
	rest = strings.TrimSpace(stripCComment(rest))
	switch word {
	case "include", "pragma", "ifndef", "ifdef", "endif", "if", "else", "elif":
		return
	case "undef":
		delete(c.defs.ints, strings.TrimSpace(rest))
		delete(c.defs.strings, strings.TrimSpace(rest))
		return
	case "define":
	default:
		diags.Errorf(d.Span, "not supported yet: the preprocessor directive #%s", word)
		return
	}
	name := rest
	value := ""
	if i := strings.IndexFunc(rest, func(r rune) bool { return !isDefineChar(r) }); i >= 0 {
		name, value = rest[:i], strings.TrimSpace(rest[i:])
	}
	switch {
	case name == "" || name[0] >= '0' && name[0] <= '9':
		diags.Errorf(d.Span, "#define needs a name")
	case strings.HasPrefix(value, "(") && rest[len(name)] == '(':
		diags.Errorf(d.Span, "not supported yet: #define with parameters (write a macro instead)")
	case value == "":
		c.defs.ints[name] = 1
	case strings.HasPrefix(value, "\""):
		s, err := strconv.Unquote(value)
		if err != nil {
			diags.Errorf(d.Span, "#define %s: bad string %s", name, value)
			return
		}
		c.defs.strings[name] = s
	default:
		v, ok := c.defineValue(value)
		if !ok {
			diags.Errorf(d.Span, "not supported yet: #define %s of something other than an integer or a string", name)
			return
		}
		c.defs.ints[name] = v
	}
}

func isDefineChar(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func stripCComment(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "/*"); i >= 0 {
		s = s[:i]
	}
	return s
}

// defineValue evaluates a constant expression with the C definitions'
// evaluator (literals, enumerators, earlier #defines, operators).
func (c *compiler) defineValue(text string) (int64, bool) {
	p := &cparser{c: c, src: text, diags: &lang.Diags{}}
	p.lex()
	v, ok := p.cexpr()
	return v, ok && !p.bad && p.i == len(p.toks)
}

// offsetof(struct Foo, a.b) or offsetof(expr, a.b): a member's byte offset.
func checkOffsetof(k *checker, e *lang.Call) *Type {
	if k.nargs(e, 2, 2) {
		if off, ok := k.offsetof(e); ok {
			k.sc.consts[e] = int64(off)
		}
	}
	return tUint64
}

func emitOffsetof(g *gen, e *lang.Call) *val {
	off, _ := g.constant(e)
	return imm(off, tUint64)
}

func (k *checker) offsetof(e *lang.Call) (int, bool) {
	var container btf.Type
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		if u, found := k.c.cdefs.types[tn.Name]; found && tn.Ptr == 0 {
			container = u
		} else if kt, found := k.c.kernelType(tn.Name); found && tn.Ptr == 0 {
			container = kt
		} else {
			k.errorf(tn.Span, "offsetof() needs a struct or union type, not %s", tn.Name)
			return 0, false
		}
	} else {
		t := k.expr(e.Args[0])
		if t == nil || t.Kind != KStruct && t.Kind != KPtr || t.BTF == nil {
			k.errorf(e.Args[0].Sp(), "offsetof() needs a struct or union, not %s", t)
			return 0, false
		}
		container = t.BTF
	}
	path, ok := fieldPath(e.Args[1])
	if !ok {
		k.errorf(e.Args[1].Sp(), "offsetof()'s second argument must be a member name, like a or a.b")
		return 0, false
	}
	off := 0
	for _, name := range path {
		m, bits, found := findMember(container, name)
		if !found {
			k.errorf(e.Args[1].Sp(), "%s has no member %q", btfTypeName(btf.UnderlyingType(container)), name)
			return 0, false
		}
		if m.BitfieldSize > 0 {
			k.errorf(e.Args[1].Sp(), "offsetof() of the bitfield %s", name)
			return 0, false
		}
		off += bits / 8
		container = m.Type
	}
	return off, true
}

// fieldPath turns a.b.c (parsed as an identifier and field accesses) into names.
func fieldPath(e lang.Expr) ([]string, bool) {
	switch x := e.(type) {
	case *lang.Ident:
		return []string{x.Name}, true
	case *lang.Field:
		p, ok := fieldPath(x.X)
		return append(p, x.Name), ok
	}
	return nil, false
}

// sizeof(TYPE) and sizeof(expr) are known when compiling, as offsetof() is.
func checkSizeof(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 1, 1) {
		return tInt64
	}
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		if _, ok := castType(tn); !ok {
			if _, ok := k.c.cTypeSize(tn); !ok {
				k.errorf(tn.Span, "not supported yet: sizeof(%s)", tn.Name)
			}
		}
		return tUint64
	}
	k.expr(e.Args[0])
	return tUint64
}

func emitSizeof(g *gen, e *lang.Call) *val {
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		t, ok := castType(tn)
		if !ok {
			n, _ := g.c.cTypeSize(tn)
			return imm(int64(n), tUint64)
		}
		if t.Kind == KPtr {
			return imm(8, tUint64)
		}
		return imm(int64(t.Size), tUint64)
	}
	t := g.sc.types[e.Args[0]]
	if t.Kind == KInt {
		return imm(int64(t.Size), tUint64)
	}
	if t.Kind == KTuple && t.CSize > 0 {
		return imm(int64(t.CSize), tUint64)
	}
	return imm(int64(t.MemSize()), tUint64)
}
