package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// C definitions at the top of a script, as bpftrace accepts them:
//
//	enum Foo { ONE = 1, TWO, };
//	struct foo { int x; char name[16]; unsigned long long f:2; struct task_struct *t; } __attribute__((packed))
//
// They become BTF types (btf.Enum, btf.Struct, btf.Union) that the rest of
// the compiler uses like the kernel's: casts, ->, sizeof, and enum values
// printed by name. Types a definition names but does not define come from
// kernel BTF. Preprocessor lines go through headers.go and defines.go.

// cdefs holds the script's definitions.
type cdefs struct {
	enums  map[string]*btf.Enum // by name; anonymous ones are only in values
	values map[string]enumValue // enumerator name → value and enum
	types  map[string]btf.Type  // "struct foo", "union bar"
	order  []string             // definition order of types (for -d)
}

type enumValue struct {
	val  uint64
	enum *btf.Enum
}

func newCdefs() *cdefs {
	return &cdefs{enums: map[string]*btf.Enum{}, values: map[string]enumValue{}, types: map[string]btf.Type{}}
}

// cdecl reads one C definition, reporting what it cannot.
func (c *compiler) cdecl(d *lang.CDecl, diags *lang.Diags) {
	text := strings.TrimSpace(d.Text)
	if strings.HasPrefix(text, "#") {
		c.directive(d, diags) // defines.go
		return
	}
	if !strings.HasPrefix(text, "enum") && !strings.HasPrefix(text, "struct") && !strings.HasPrefix(text, "union") {
		diags.Errorf(d.Span, "not supported yet: this C declaration (only struct, union and enum definitions)")
		return
	}
	_, src := d.Span.Origin(c.file(), c.prog.Src)
	p := &cparser{c: c, src: d.Text, base: d.Span.Start.Offset, file: src, diags: diags, whole: d.Span}
	if d.Span.End.Offset-d.Span.Start.Offset != len(d.Text) || d.Span.End.Offset > len(src) ||
		string(src[d.Span.Start.Offset:d.Span.End.Offset]) != d.Text {
		p.file = nil // not verbatim: report at the whole definition
	}
	p.lex()
	p.definition()
}

// cparser is a recursive-descent parser over one definition's tokens.
type cparser struct {
	c     *compiler
	src   string
	base  int // offset of src in the script
	file  []byte
	whole lang.Span
	diags *lang.Diags
	toks  []ctok
	i     int
	bad   bool
}

type ctok struct {
	text string
	off  int
	num  bool
}

func (p *cparser) lex() {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
		case isIdentByte(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			p.toks = append(p.toks, ctok{text: s[i:j], off: i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isIdentByte(s[j])) {
				j++
			}
			p.toks = append(p.toks, ctok{text: s[i:j], off: i, num: true})
			i = j
		case i+1 < len(s) && (s[i:i+2] == "<<" || s[i:i+2] == ">>"):
			p.toks = append(p.toks, ctok{text: s[i : i+2], off: i})
			i += 2
		default:
			p.toks = append(p.toks, ctok{text: s[i : i+1], off: i})
			i++
		}
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *cparser) tok() ctok {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ctok{off: len(p.src)}
}

func (p *cparser) peek(n int) string {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n].text
	}
	return ""
}

func (p *cparser) next() ctok { t := p.tok(); p.i++; return t }

func (p *cparser) got(s string) bool {
	if p.tok().text == s {
		p.i++
		return true
	}
	return false
}

func (p *cparser) span(t ctok) lang.Span {
	if p.file == nil {
		return p.whole
	}
	n := max(len(t.text), 1)
	return lang.Span{Start: lang.PosAt(p.file, p.base+t.off), End: lang.PosAt(p.file, p.base+min(t.off+n, len(p.src))), Exp: p.whole.Exp}
}

func (p *cparser) errorf(t ctok, format string, args ...any) *lang.Diag {
	if p.bad {
		return &lang.Diag{}
	}
	p.bad = true
	return p.diags.Errorf(p.span(t), format, args...)
}

func (p *cparser) expect(s string) bool {
	if p.got(s) {
		return true
	}
	t := p.tok()
	what := strconv.Quote(t.text)
	if t.text == "" {
		what = "the end of the definition"
	}
	p.errorf(t, "C definition: expected '%s', found %s", s, what)
	return false
}

// definition = ( enumdef | structdef ) { attribute } [ ";" ] .
func (p *cparser) definition() {
	switch p.tok().text {
	case "enum":
		p.enumDef()
	default:
		p.structDef()
	}
	p.attributes()
	p.got(";")
	if !p.bad && p.i < len(p.toks) {
		p.errorf(p.tok(), "C definition: unexpected %q after the definition", p.tok().text)
	}
}

// attributes skips __attribute__((...)) groups, reporting whether one says packed.
func (p *cparser) attributes() (packed bool) {
	for p.tok().text == "__attribute__" || p.tok().text == "__attribute" {
		p.next()
		if p.tok().text != "(" {
			p.expect("(")
			return
		}
		for depth := 0; p.i < len(p.toks); {
			switch p.next().text {
			case "(":
				depth++
			case ")":
				depth--
			case "packed", "__packed__":
				packed = true
			}
			if depth == 0 {
				break
			}
		}
	}
	return packed
}

// enumdef = "enum" [ ident ] "{" [ enumerator { "," enumerator } [ "," ] ] "}" .
// enumerator = ident [ "=" cexpr ] .
func (p *cparser) enumDef() {
	p.next()
	e := &btf.Enum{Size: 8}
	if t := p.tok(); !t.num && isIdentByte(firstByte(t.text)) {
		e.Name = t.text
		p.next()
		if _, dup := p.c.cdefs.enums[e.Name]; dup {
			p.errorf(t, "enum %s is defined twice", e.Name)
			return
		}
	}
	if !p.expect("{") {
		return
	}
	next := int64(0)
	for !p.bad && p.tok().text != "}" {
		t := p.next()
		if t.num || !isIdentByte(firstByte(t.text)) {
			p.errorf(t, "C definition: expected an enumerator name, found %q", t.text)
			return
		}
		if p.got("=") {
			v, ok := p.cexpr()
			if !ok {
				return
			}
			next = v
		}
		if _, dup := p.c.cdefs.values[t.text]; dup {
			p.errorf(t, "enumerator %s is defined twice", t.text)
			return
		}
		if next < 0 {
			e.Signed = true
		}
		e.Values = append(e.Values, btf.EnumValue{Name: t.text, Value: uint64(next)})
		p.c.cdefs.values[t.text] = enumValue{val: uint64(next), enum: e}
		next++
		if !p.got(",") {
			break
		}
	}
	if !p.expect("}") {
		return
	}
	if e.Name != "" {
		p.c.cdefs.enums[e.Name] = e
	}
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

// cexpr = cterm { ( "+" | "-" | "|" | "&" | "^" | "<<" | ">>" | "*" | "/" ) cterm } .
// Operators apply left to right with C's precedence levels for * /, + -,
// shifts, &, ^ and |.
func (p *cparser) cexpr() (int64, bool) { return p.cbinary(0) }

var cprec = map[string]int{"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}

func (p *cparser) cbinary(min int) (int64, bool) {
	x, ok := p.cunary()
	for ok {
		op := p.tok().text
		prec, isOp := cprec[op]
		if !isOp || prec <= min {
			break
		}
		p.next()
		var y int64
		y, ok = p.cbinary(prec)
		if !ok {
			break
		}
		if v, ok2 := fold(op, x, y, true); ok2 {
			x = v
		} else {
			p.errorf(p.tok(), "C definition: division by zero")
			return 0, false
		}
	}
	return x, ok
}

// cterm = [ "-" | "~" | "+" ] ( number | enumerator | "(" cexpr ")" ) .
func (p *cparser) cunary() (int64, bool) {
	t := p.next()
	switch {
	case t.text == "-":
		v, ok := p.cunary()
		return -v, ok
	case t.text == "~":
		v, ok := p.cunary()
		return ^v, ok
	case t.text == "+":
		return p.cunary()
	case t.text == "(":
		v, ok := p.cexpr()
		return v, ok && p.expect(")")
	case t.num:
		s := strings.TrimRight(strings.ToLower(t.text), "ul")
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			p.errorf(t, "C definition: bad number %q", t.text)
			return 0, false
		}
		return int64(n), true
	}
	if v, ok := p.c.cdefs.values[t.text]; ok {
		return int64(v.val), true
	}
	if v, ok := p.c.macroInt(t.text); ok {
		return v, true
	}
	p.errorf(t, "C definition: expected a constant, found %q", t.text)
	return 0, false
}

// structdef = ( "struct" | "union" ) ident "{" fields "}" .
func (p *cparser) structDef() {
	kw := p.next().text
	nameTok := p.next()
	if nameTok.num || !isIdentByte(firstByte(nameTok.text)) {
		p.errorf(nameTok, "C definition: a %s needs a name", kw)
		return
	}
	full := kw + " " + nameTok.text
	if _, dup := p.c.cdefs.types[full]; dup {
		p.errorf(nameTok, "%s is defined twice", full)
		return
	}
	// Defined before its members, so a member may point to it.
	var typ btf.Type
	st := &btf.Struct{Name: nameTok.text}
	un := &btf.Union{Name: nameTok.text}
	if kw == "struct" {
		typ = st
	} else {
		typ = un
	}
	p.c.cdefs.types[full] = typ
	p.c.cdefs.order = append(p.c.cdefs.order, full)
	if !p.expect("{") {
		return
	}
	fields, ok := p.fields()
	if !ok || !p.expect("}") {
		return
	}
	packed := p.attributes()
	size, members, incomplete := layout(kw == "union", fields, packed)
	if incomplete != "" {
		p.errorf(nameTok, "%s: field %s has an incomplete type", full, incomplete)
		return
	}
	if kw == "struct" {
		st.Size, st.Members = uint32(size), members
	} else {
		un.Size, un.Members = uint32(size), members
	}
}

// cfield is a member as declared, before it is laid out.
type cfield struct {
	name string
	typ  btf.Type
	bits int // bitfield width: 0 for none, -1 for a zero-width one (align only)
}

// fields = { ctype declarator { "," declarator } ";" } .
func (p *cparser) fields() ([]cfield, bool) {
	var fields []cfield
	for !p.bad && p.tok().text != "}" && p.i < len(p.toks) {
		base, ok := p.ctype()
		if !ok {
			return nil, false
		}
		for {
			f, ok := p.declarator(base)
			if !ok {
				return nil, false
			}
			fields = append(fields, f)
			if !p.got(",") {
				break
			}
		}
		p.attributes()
		if p.tok().text == "}" {
			break // the last field's ';' may be left out, as bpftrace allows
		}
		if !p.expect(";") {
			return nil, false
		}
	}
	return fields, true
}

// declarator = { "*" } ident { "[" cexpr "]" } [ ":" cexpr ] .
func (p *cparser) declarator(base btf.Type) (cfield, bool) {
	f := cfield{typ: base}
	for p.got("*") {
		f.typ = &btf.Pointer{Target: f.typ}
	}
	if f.typ == base && !p.incompleteOK(base) {
		return f, false
	}
	nt := p.next()
	if nt.num || !isIdentByte(firstByte(nt.text)) {
		p.errorf(nt, "C definition: expected a field name, found %q", nt.text)
		return f, false
	}
	f.name = nt.text
	var dims []uint32
	for p.got("[") {
		n, ok := p.cexpr()
		if !ok || !p.expect("]") {
			return f, false
		}
		dims = append(dims, uint32(n))
	}
	// int a[2][3] is an array of 2 arrays of 3.
	for i := len(dims) - 1; i >= 0; i-- {
		f.typ = &btf.Array{Index: &btf.Int{Name: "int", Size: 4}, Type: f.typ, Nelems: dims[i]}
	}
	if p.got(":") {
		n, ok := p.cexpr()
		if !ok {
			return f, false
		}
		f.bits = int(n)
		if f.bits <= 0 {
			f.bits = -1
		}
	}
	return f, true
}

// layout places the fields as C does (System V ABI), bitfields included,
// and returns the size; incomplete names a field whose type has no size.
func layout(union bool, fields []cfield, packed bool) (size int, members []btf.Member, incomplete string) {
	bitOff, maxAlign := 0, 1
	for _, f := range fields {
		fsize, err := btf.Sizeof(f.typ)
		if err != nil {
			return 0, nil, f.name
		}
		align := 1
		if !packed {
			align = calign(f.typ)
		}
		maxAlign = max(maxAlign, align)
		if union {
			m := btf.Member{Name: f.name, Type: f.typ}
			if f.bits > 0 {
				m.BitfieldSize = btf.Bits(f.bits)
			}
			members = append(members, m)
			size = max(size, fsize)
			continue
		}
		if f.bits != 0 {
			unit := fsize * 8
			if f.bits < 0 {
				bitOff = alignUp(bitOff, align*8)
				continue
			}
			// A bitfield that would straddle its type's unit starts the next.
			if !packed && bitOff/unit != (bitOff+f.bits-1)/unit {
				bitOff = alignUp(bitOff, align*8)
			}
			members = append(members, btf.Member{Name: f.name, Type: f.typ, Offset: btf.Bits(bitOff), BitfieldSize: btf.Bits(f.bits)})
			bitOff += f.bits
			continue
		}
		bitOff = alignUp(bitOff, align*8)
		members = append(members, btf.Member{Name: f.name, Type: f.typ, Offset: btf.Bits(bitOff)})
		bitOff += fsize * 8
	}
	if !union {
		size = (bitOff + 7) / 8
	}
	return alignUp(size, maxAlign), members, ""
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// calign is a C type's alignment.
func calign(t btf.Type) int {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Array:
		return calign(u.Type)
	case *btf.Struct:
		a := 1
		for _, m := range u.Members {
			a = max(a, calign(m.Type))
		}
		return a
	case *btf.Union:
		a := 1
		for _, m := range u.Members {
			a = max(a, calign(m.Type))
		}
		return a
	}
	n, err := btf.Sizeof(t)
	if err != nil || n <= 0 {
		return 1
	}
	return min(n, 8)
}

// ctype = { qualifier } ( ( "struct" | "union" | "enum" ) ident | basetype | typedef ) .
func (p *cparser) ctype() (btf.Type, bool) {
	for p.tok().text == "const" || p.tok().text == "volatile" {
		p.next()
	}
	t := p.tok()
	switch t.text {
	case "struct", "union", "enum":
		if t.text != "enum" && p.peek(2) == "{" {
			// A definition inside a definition: struct Bar { int x; } bar;
			full := t.text + " " + p.peek(1)
			p.structDef()
			return p.c.cdefs.types[full], !p.bad
		}
		p.next()
		nt := p.next()
		full := t.text + " " + nt.text
		if ty, ok := p.c.cdefs.types[full]; ok {
			return ty, true
		}
		if t.text == "enum" {
			if e, ok := p.c.cdefs.enums[nt.text]; ok {
				return e, true
			}
		}
		if ty, ok := p.c.kernelType(full); ok {
			return ty, true
		}
		p.errorf(nt, "unknown type '%s': not defined in the script nor in kernel BTF", full)
		return nil, false
	}
	// Base types: any run of C's integer keywords.
	var words []string
	for {
		w := p.tok().text
		if !cBaseWords[w] {
			break
		}
		words = append(words, w)
		p.next()
	}
	if len(words) > 0 {
		ty, ok := cBaseType(words)
		if !ok {
			p.errorf(t, "C definition: unknown type %q", strings.Join(words, " "))
		}
		return ty, ok
	}
	if ty, ok := cTypedefs()[t.text]; ok {
		p.next()
		return ty, true
	}
	if !t.num && isIdentByte(firstByte(t.text)) {
		if ty, ok := p.c.kernelType(t.text); ok {
			p.next()
			return ty, true
		}
	}
	p.errorf(t, "C definition: unknown type %q", t.text)
	return nil, false
}

var cBaseWords = map[string]bool{"unsigned": true, "signed": true, "char": true, "short": true, "int": true,
	"long": true, "_Bool": true, "bool": true, "void": true}

func cBaseType(words []string) (btf.Type, bool) {
	unsigned, longs, size := false, 0, 4
	named := ""
	for _, w := range words {
		switch w {
		case "unsigned":
			unsigned = true
		case "signed":
		case "long":
			longs++
		case "char", "short", "int", "_Bool", "bool", "void":
			if named == "short" && w == "int" {
				continue
			}
			if named != "" {
				return nil, false
			}
			named = w
		}
	}
	switch {
	case named == "void":
		return &btf.Void{}, len(words) == 1
	case named == "_Bool" || named == "bool":
		return &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}, len(words) == 1
	case named == "char":
		size = 1
	case named == "short":
		size = 2
	case longs > 0:
		size = 8
	}
	enc := btf.Signed
	if unsigned {
		enc = btf.Unsigned
	}
	if size == 1 && !unsigned {
		enc = btf.Char
	}
	return &btf.Int{Name: strings.Join(words, " "), Size: uint32(size), Encoding: enc}, true
}

// cTypedefs are the fixed-width names scripts use without an #include,
// built when a C declaration or cast first needs one, not at every start.
var cTypedefs = sync.OnceValue(fixedWidthTypedefs)

func fixedWidthTypedefs() map[string]btf.Type {
	m := map[string]btf.Type{
		"size_t":  &btf.Int{Name: "size_t", Size: 8, Encoding: btf.Unsigned},
		"ssize_t": &btf.Int{Name: "ssize_t", Size: 8, Encoding: btf.Signed},
	}
	for _, n := range []int{8, 16, 32, 64} {
		u := &btf.Int{Name: fmt.Sprintf("u%d", n), Size: uint32(n / 8), Encoding: btf.Unsigned}
		s := &btf.Int{Name: fmt.Sprintf("s%d", n), Size: uint32(n / 8), Encoding: btf.Signed}
		for _, name := range []string{"u%d", "__u%d", "uint%d_t", "uint%d"} {
			m[fmt.Sprintf(name, n)] = u
		}
		for _, name := range []string{"s%d", "__s%d", "int%d_t", "int%d"} {
			m[fmt.Sprintf(name, n)] = s
		}
	}
	return m
}

// kernelType looks "struct x", "union x", "enum x" or a typedef up in
// kernel BTF (nil when there is none).
func (c *compiler) kernelType(name string) (btf.Type, bool) {
	env := c.opts.Env
	if _, err := env.KernelBTF(); err != nil {
		return nil, false
	}
	var err error
	var out btf.Type
	switch {
	case strings.HasPrefix(name, "struct "):
		var s *btf.Struct
		err = env.FindType(strings.TrimPrefix(name, "struct "), &s)
		out = s
	case strings.HasPrefix(name, "union "):
		var u *btf.Union
		err = env.FindType(strings.TrimPrefix(name, "union "), &u)
		out = u
	case strings.HasPrefix(name, "enum "):
		var e *btf.Enum
		err = env.FindType(strings.TrimPrefix(name, "enum "), &e)
		out = e
	default:
		var td *btf.Typedef
		err = env.FindType(name, &td)
		out = td
	}
	return out, err == nil
}

// enumType is the type of an enum's values: a 64-bit unsigned integer
// that prints by name.
func enumType(e *btf.Enum) *Type { return &Type{Kind: KInt, Size: 8, Enum: e} }

// enumerator resolves an identifier naming an enum value: the script's
// enums first, then the kernel's, each looked up once (Env.Enumerator
// finds one name without indexing all of the kernel's types).
func (c *compiler) enumerator(name string) (enumValue, bool) {
	if v, ok := c.cdefs.values[name]; ok {
		return v, true
	}
	if c.kernelEnums == nil {
		c.kernelEnums = map[string]*enumValue{}
	}
	v, seen := c.kernelEnums[name]
	if !seen {
		if en, val, ok := c.opts.Env.Enumerator(name); ok {
			v = &enumValue{val: val, enum: en}
		}
		c.kernelEnums[name] = v
	}
	if v == nil {
		return enumValue{}, false
	}
	return *v, true
}

// namedEnum finds enum NAME for a cast.
func (c *compiler) namedEnum(name string) (*btf.Enum, bool) {
	if e, ok := c.cdefs.enums[name]; ok {
		return e, true
	}
	t, ok := c.kernelType("enum " + name)
	if !ok {
		return nil, false
	}
	return t.(*btf.Enum), true
}

// cTypeSize is sizeof(struct x), sizeof(union x), sizeof(enum x) or
// sizeof(typedef) from the script's definitions or kernel BTF (pointers
// and arrays of them included).
func (c *compiler) cTypeSize(tn *lang.TypeName) (int, bool) {
	var t btf.Type
	if u, ok := c.cdefs.types[tn.Name]; ok {
		t = u
	} else if name, ok := strings.CutPrefix(tn.Name, "enum "); ok {
		e, found := c.namedEnum(name)
		if !found {
			return 0, false
		}
		t = e
	} else if k, ok := c.kernelType(tn.Name); ok {
		t = k
	} else {
		return 0, false
	}
	n, err := btf.Sizeof(t)
	if err != nil {
		return 0, false
	}
	if tn.Ptr > 0 {
		n = 8
	}
	if tn.ArrLen > 0 {
		n *= tn.ArrLen
	}
	return n, true
}
