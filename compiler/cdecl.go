package compiler

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// C definitions before the probes: struct, union and enum definitions
// (laid out as a C compiler would on x86-64 and turned into BTF types, so
// they work wherever kernel types do: casts, ->, sizeof, offsetof),
// #define of integer and string constants, and #include lines, which
// need no header: kernel types come from BTF and errno names are built in.
// A definition of a type the kernel also has (struct task_struct) wins
// over the kernel's, as in bpftrace.

// cdefs holds what the preamble defined.
type cdefs struct {
	types   map[string]btf.Type // "struct Foo", "union Bar", "enum E", typedef names
	ints    map[string]int64    // #define constants and enum values
	strings map[string]string   // #define NAME "text"
}

func (c *compiler) preamble(prog *lang.Program, diags *lang.Diags) {
	c.cdefs = cdefs{types: map[string]btf.Type{}, ints: map[string]int64{}, strings: map[string]string{}}
	for _, d := range prog.Preamble {
		p := &cparser{c: c, diags: diags, decl: d, src: prog.Src}
		p.toks = p.lex(d.Text)
		p.parse()
	}
}

// userType looks a type name up among the preamble's definitions.
func (c *compiler) userType(name string) (btf.Type, bool) {
	t, ok := c.cdefs.types[name]
	return t, ok
}

type ctok struct {
	s   string
	off int // byte offset in the declaration's text
}

type cparser struct {
	c     *compiler
	diags *lang.Diags
	decl  *lang.CDecl
	src   []byte
	toks  []ctok
	i     int
	bad   bool
}

func (p *cparser) lex(text string) []ctok {
	var toks []ctok
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\\':
			i++
		case strings.HasPrefix(text[i:], "//"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				i = len(text)
			} else {
				i += end + 4
			}
		case isCIdent(ch) || ch >= '0' && ch <= '9':
			j := i + 1
			for j < len(text) && (isCIdent(text[j]) || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			toks = append(toks, ctok{text[i:j], i})
			i = j
		case ch == '"' || ch == '<':
			closer := byte('"')
			if ch == '<' {
				closer = '>'
			}
			j := i + 1
			for j < len(text) && text[j] != closer && text[j] != '\n' {
				if text[j] == '\\' {
					j++
				}
				j++
			}
			if j < len(text) && text[j] == closer {
				j++
			}
			toks = append(toks, ctok{text[i:j], i})
			i = j
		default:
			toks = append(toks, ctok{text[i : i+1], i})
			i++
		}
	}
	return toks
}

func isCIdent(ch byte) bool { return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' }

func (p *cparser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].s
	}
	return ""
}

func (p *cparser) next() string {
	s := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return s
}

// span is the source span of token i (the end of the text past the last).
func (p *cparser) span(i int) lang.Span {
	base := p.decl.Span.Start.Offset
	if i >= len(p.toks) {
		end := p.decl.Span.End.Offset
		return lang.Span{Start: lang.PosAt(p.src, max(end-1, base)), End: lang.PosAt(p.src, end)}
	}
	t := p.toks[i]
	return lang.Span{Start: lang.PosAt(p.src, base+t.off), End: lang.PosAt(p.src, base+t.off+len(t.s))}
}

func (p *cparser) errorf(format string, args ...any) {
	if !p.bad {
		p.diags.Errorf(p.span(p.i), format, args...)
	}
	p.bad = true
}

func (p *cparser) expect(s string) bool {
	if p.peek() != s {
		found := p.peek()
		if found == "" {
			found = "the end of the definition"
		}
		p.errorf("C definition: expected %q, found %s", s, found)
		return false
	}
	p.next()
	return true
}

func (p *cparser) parse() {
	switch p.peek() {
	case "#":
		p.next()
		p.directive()
		return
	case "typedef":
		p.next()
		t := p.typeSpec()
		if p.bad {
			return
		}
		name, dt := p.declarator(t)
		if name == "" {
			p.errorf("C definition: typedef needs a name")
			return
		}
		p.c.cdefs.types[name] = &btf.Typedef{Name: name, Type: dt}
	default:
		t := p.typeSpec()
		if p.bad {
			return
		}
		if p.peek() != ";" && p.peek() != "" {
			p.errorf("not supported yet: C variable declarations (only type definitions)")
			return
		}
		if t == nil {
			return
		}
	}
	if p.peek() == ";" {
		p.next()
	}
	if p.peek() != "" {
		p.errorf("C definition: unexpected %q", p.peek())
	}
}

// directive handles #include and #define.
func (p *cparser) directive() {
	switch p.next() {
	case "include":
		// Kernel types come from BTF; errno and signal names are built in.
		return
	case "define":
		at := p.i
		name := p.next()
		if name == "" || !isCIdent(name[0]) {
			p.i = at
			p.errorf("#define needs a name")
			return
		}
		if p.peek() == "(" && p.toks[p.i].off == p.toks[at].off+len(name) {
			p.i = at
			p.errorf("not supported yet: #define with parameters (use a macro)")
			return
		}
		rest := p.toks[p.i:]
		if len(rest) == 0 {
			p.c.cdefs.ints[name] = 1
			return
		}
		if len(rest) == 1 && strings.HasPrefix(rest[0].s, "\"") {
			s, err := strconv.Unquote(rest[0].s)
			if err != nil {
				p.errorf("#define %s: bad string %s", name, rest[0].s)
				return
			}
			p.c.cdefs.strings[name] = s
			return
		}
		v, ok := p.constExpr()
		if !ok || p.peek() != "" {
			p.i = at
			p.errorf("not supported yet: #define %s of something other than an integer or a string", name)
			return
		}
		p.c.cdefs.ints[name] = v
	case "pragma", "ifndef", "ifdef", "endif", "undef", "if", "else", "elif":
		// Header guards and pragmas: nothing to do.
	default:
		p.i--
		p.errorf("not supported yet: the preprocessor directive #%s", p.peek())
	}
}

// constExpr evaluates an integer constant: literals, defined names,
// parentheses, unary - and ~, and the binary operators | & ^ << >> + - * /.
func (p *cparser) constExpr() (int64, bool) { return p.binExpr(0) }

var cBinPrec = map[string]int{"|": 1, "^": 2, "&": 3, "<": 4, ">": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}

func (p *cparser) binExpr(minPrec int) (int64, bool) {
	x, ok := p.unaryExpr()
	if !ok {
		return 0, false
	}
	for {
		op := p.peek()
		prec, isOp := cBinPrec[op]
		if !isOp || prec <= minPrec {
			return x, true
		}
		p.next()
		if op == "<" || op == ">" {
			if p.next() != op {
				return 0, false
			}
		}
		y, ok := p.binExpr(prec)
		if !ok {
			return 0, false
		}
		switch op {
		case "|":
			x |= y
		case "^":
			x ^= y
		case "&":
			x &= y
		case "<":
			x <<= uint(y)
		case ">":
			x >>= uint(y)
		case "+":
			x += y
		case "-":
			x -= y
		case "*":
			x *= y
		case "/", "%":
			if y == 0 {
				return 0, false
			}
			if op == "/" {
				x /= y
			} else {
				x %= y
			}
		}
	}
}

func (p *cparser) unaryExpr() (int64, bool) {
	t := p.next()
	switch {
	case t == "(":
		v, ok := p.constExpr()
		return v, ok && p.next() == ")"
	case t == "-":
		v, ok := p.unaryExpr()
		return -v, ok
	case t == "~":
		v, ok := p.unaryExpr()
		return ^v, ok
	case t != "" && t[0] >= '0' && t[0] <= '9':
		s := strings.TrimRight(strings.ToLower(t), "ul")
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil && len(s) > 1 && s[0] == '0' && s[1] != 'x' {
			v, err = strconv.ParseUint(s[1:], 8, 64)
		}
		return int64(v), err == nil
	case t != "" && isCIdent(t[0]):
		if v, ok := p.c.cdefs.ints[t]; ok {
			return v, true
		}
		if v, ok := errnos[t]; ok {
			return v, true
		}
	}
	return 0, false
}

// typeSpec parses a type: qualifiers, then an integer type's words, a
// struct/union/enum (defined here or named), or a typedef name.
func (p *cparser) typeSpec() btf.Type {
	for p.peek() == "const" || p.peek() == "volatile" || p.peek() == "static" || p.peek() == "extern" {
		p.next()
	}
	switch kw := p.peek(); kw {
	case "struct", "union":
		p.next()
		name := ""
		if s := p.peek(); s != "" && isCIdent(s[0]) {
			name = p.next()
		}
		if p.peek() != "{" {
			if name == "" {
				p.errorf("C definition: expected a %s name or '{'", kw)
				return nil
			}
			return p.namedType(kw + " " + name)
		}
		p.next()
		return p.record(kw, name)
	case "enum":
		p.next()
		name := ""
		if s := p.peek(); s != "" && isCIdent(s[0]) {
			name = p.next()
		}
		if p.peek() != "{" {
			if name == "" {
				p.errorf("C definition: expected an enum name or '{'")
				return nil
			}
			return p.namedType("enum " + name)
		}
		p.next()
		return p.enum(name)
	}
	var words []string
	for {
		w := p.peek()
		if w == "unsigned" || w == "signed" || w == "char" || w == "short" || w == "int" || w == "long" ||
			w == "const" || w == "volatile" {
			p.next()
			if w != "const" && w != "volatile" {
				words = append(words, w)
			}
			continue
		}
		break
	}
	if len(words) > 0 {
		t, ok := cIntType(words)
		if !ok {
			p.errorf("C definition: unknown type %q", strings.Join(words, " "))
			return nil
		}
		return t
	}
	name := p.next()
	if name == "" || !isCIdent(name[0]) {
		p.i--
		p.errorf("C definition: expected a type, found %q", name)
		return nil
	}
	if name == "void" {
		return &btf.Void{}
	}
	if t, ok := namedInts[name]; ok {
		return t
	}
	p.i--
	t := p.namedType(name)
	p.i++
	return t
}

// namedType finds a struct, union, enum or typedef defined earlier in the
// preamble or in the kernel's BTF.
func (p *cparser) namedType(name string) btf.Type {
	if t, ok := p.c.cdefs.types[name]; ok {
		return t
	}
	if t, ok := p.c.kernelType(name); ok {
		return t
	}
	if strings.HasPrefix(name, "struct ") || strings.HasPrefix(name, "union ") {
		// Only used through pointers, as C allows: an incomplete type.
		kind := btf.FwdStruct
		if strings.HasPrefix(name, "union ") {
			kind = btf.FwdUnion
		}
		_, bare, _ := strings.Cut(name, " ")
		return &btf.Fwd{Name: bare, Kind: kind}
	}
	p.errorf("C definition: unknown type %s", name)
	return nil
}

// kernelType looks a struct, union, enum or typedef up in kernel BTF.
func (c *compiler) kernelType(name string) (btf.Type, bool) {
	env := c.opts.Env
	if _, err := env.KernelBTF(); err != nil {
		return nil, false
	}
	switch {
	case strings.HasPrefix(name, "struct "):
		var s *btf.Struct
		if env.FindType(strings.TrimPrefix(name, "struct "), &s) == nil {
			return s, true
		}
	case strings.HasPrefix(name, "union "):
		var u *btf.Union
		if env.FindType(strings.TrimPrefix(name, "union "), &u) == nil {
			return u, true
		}
	case strings.HasPrefix(name, "enum "):
		var e *btf.Enum
		if env.FindType(strings.TrimPrefix(name, "enum "), &e) == nil {
			return e, true
		}
	default:
		var td *btf.Typedef
		if env.FindType(name, &td) == nil {
			return td, true
		}
	}
	return nil, false
}

// namedInts are integer type names every script may use.
var namedInts = map[string]btf.Type{}

func init() {
	add := func(size uint32, signed bool, names ...string) {
		enc := btf.Unsigned
		if signed {
			enc = btf.Signed
		}
		for _, n := range names {
			namedInts[n] = &btf.Int{Name: n, Size: size, Encoding: enc}
		}
	}
	add(1, true, "int8", "int8_t", "s8", "__s8")
	add(1, false, "uint8", "uint8_t", "u8", "__u8")
	add(2, true, "int16", "int16_t", "s16", "__s16")
	add(2, false, "uint16", "uint16_t", "u16", "__u16")
	add(4, true, "int32", "int32_t", "s32", "__s32")
	add(4, false, "uint32", "uint32_t", "u32", "__u32")
	add(8, true, "int64", "int64_t", "s64", "__s64", "ssize_t")
	add(8, false, "uint64", "uint64_t", "u64", "__u64", "size_t", "uintptr_t")
	namedInts["bool"] = &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	namedInts["_Bool"] = namedInts["bool"]
}

// cIntType names a C integer type by its words ("unsigned long").
func cIntType(words []string) (btf.Type, bool) {
	signed, unsigned, longs := false, false, 0
	base := ""
	for _, w := range words {
		switch w {
		case "signed":
			signed = true
		case "unsigned":
			unsigned = true
		case "long":
			longs++
		default:
			return nil, false
		case "char", "short", "int":
			if base != "" && !(base == "short" && w == "int") {
				return nil, false
			}
			if base == "" {
				base = w
			}
		}
	}
	if signed && unsigned || longs > 2 || longs > 0 && base != "" && base != "int" {
		return nil, false
	}
	size := uint32(4)
	switch {
	case base == "char":
		size = 1
	case base == "short":
		size = 2
	case longs > 0:
		size = 8
	}
	enc := btf.Signed
	if unsigned {
		enc = btf.Unsigned
	} else if base == "char" && !signed {
		enc = btf.Char
	}
	return &btf.Int{Name: strings.Join(words, " "), Size: size, Encoding: enc}, true
}

// declarator parses "*name[N]" after a type and returns the name and the
// declared type.
func (p *cparser) declarator(t btf.Type) (string, btf.Type) {
	for p.peek() == "*" {
		p.next()
		t = &btf.Pointer{Target: t}
		for p.peek() == "const" || p.peek() == "volatile" {
			p.next()
		}
	}
	name := ""
	if s := p.peek(); s != "" && isCIdent(s[0]) {
		name = p.next()
	}
	var dims []uint32
	for p.peek() == "[" {
		p.next()
		n := int64(0)
		if p.peek() != "]" {
			v, ok := p.constExpr()
			if !ok || v < 0 {
				p.errorf("C definition: an array length must be a non-negative constant")
				return name, t
			}
			n = v
		}
		if !p.expect("]") {
			return name, t
		}
		dims = append(dims, uint32(n))
	}
	for i := len(dims) - 1; i >= 0; i-- {
		t = &btf.Array{Index: &btf.Int{Name: "int", Size: 4}, Type: t, Nelems: dims[i]}
	}
	return name, t
}

// record parses a struct or union body after '{' and lays it out.
func (p *cparser) record(kind, name string) btf.Type {
	var members []btf.Member
	var bits []int // bitfield width per member, 0 if none
	for p.peek() != "}" {
		if p.peek() == "" {
			p.errorf("C definition: missing '}'")
			return nil
		}
		if p.peek() == ";" {
			p.next()
			continue
		}
		mt := p.typeSpec()
		if p.bad {
			return nil
		}
		if p.peek() == ";" || p.peek() == "}" {
			// An anonymous struct or union member.
			members = append(members, btf.Member{Type: mt})
			bits = append(bits, 0)
			if p.peek() == ";" {
				p.next()
			}
			continue
		}
		for {
			mname, dt := p.declarator(mt)
			if p.bad {
				return nil
			}
			width := 0
			if p.peek() == ":" {
				p.next()
				v, ok := p.constExpr()
				if !ok || v < 0 || v > 64 {
					p.errorf("C definition: a bitfield's width must be a constant from 0 to 64")
					return nil
				}
				width = int(v)
			}
			if mname == "" && width == 0 {
				p.errorf("C definition: a member needs a name")
				return nil
			}
			members = append(members, btf.Member{Name: mname, Type: dt})
			bits = append(bits, width)
			if p.peek() != "," {
				break
			}
			p.next()
		}
		if p.peek() == "}" {
			break // bpftrace accepts the last member without ';'
		}
		if !p.expect(";") {
			return nil
		}
	}
	p.next()
	for p.peek() == "__attribute__" {
		p.next()
		if p.peek() != "(" {
			break
		}
		for depth := 0; p.peek() != ""; {
			s := p.next()
			if s == "(" {
				depth++
			} else if s == ")" {
				depth--
				if depth == 0 {
					break
				}
			}
		}
	}
	size, err := layout(members, bits, kind == "union")
	if err != nil {
		p.errorf("C definition of %s %s: %v", kind, name, err)
		return nil
	}
	var t btf.Type
	if kind == "union" {
		t = &btf.Union{Name: name, Size: size, Members: members}
	} else {
		t = &btf.Struct{Name: name, Size: size, Members: members}
	}
	if name != "" {
		p.c.cdefs.types[kind+" "+name] = t
	}
	return t
}

// layout places members as a C compiler does on x86-64 (each at a multiple
// of its alignment; bitfields packed into units of their type) and returns
// the size, a multiple of the largest alignment.
func layout(members []btf.Member, bits []int, union bool) (uint32, error) {
	off, maxAlign, size := 0, 1, 0 // off in bits
	for i := range members {
		m := &members[i]
		msize, err := btf.Sizeof(m.Type)
		if err != nil {
			return 0, fmt.Errorf("member %s: %v", m.Name, err)
		}
		align := alignOf(m.Type)
		maxAlign = max(maxAlign, align)
		if union {
			off = 0
		}
		if w := bits[i]; w > 0 {
			unit := msize * 8
			start := off
			if start/unit != (start+w-1)/unit {
				start = (start + unit - 1) / unit * unit
			}
			m.Offset = btf.Bits(start)
			m.BitfieldSize = btf.Bits(w)
			off = start + w
		} else {
			off = (off + align*8 - 1) / (align * 8) * (align * 8)
			m.Offset = btf.Bits(off)
			off += msize * 8
		}
		size = max(size, off)
	}
	bytes := (size + 7) / 8
	bytes = (bytes + maxAlign - 1) / maxAlign * maxAlign
	return uint32(bytes), nil
}

// alignOf is a type's alignment in bytes on x86-64.
func alignOf(t btf.Type) int {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return max(1, int(u.Size))
	case *btf.Enum:
		return max(1, int(u.Size))
	case *btf.Pointer:
		return 8
	case *btf.Array:
		return alignOf(u.Type)
	case *btf.Struct:
		a := 1
		for _, m := range u.Members {
			a = max(a, alignOf(m.Type))
		}
		return a
	case *btf.Union:
		a := 1
		for _, m := range u.Members {
			a = max(a, alignOf(m.Type))
		}
		return a
	}
	return 1
}

// enum parses an enum body after '{': its values become constants.
func (p *cparser) enum(name string) btf.Type {
	e := &btf.Enum{Name: name, Size: 4, Signed: true}
	next := int64(0)
	for p.peek() != "}" {
		at := p.i
		id := p.next()
		if id == "" || !isCIdent(id[0]) {
			p.i = at
			p.errorf("C definition: expected an enumerator name")
			return nil
		}
		if p.peek() == "=" {
			p.next()
			v, ok := p.constExpr()
			if !ok {
				p.errorf("C definition: an enumerator's value must be a constant")
				return nil
			}
			next = v
		}
		e.Values = append(e.Values, btf.EnumValue{Name: id, Value: uint64(next)})
		p.c.cdefs.ints[id] = next
		next++
		if p.peek() == "," {
			p.next()
			continue
		}
		if p.peek() != "}" {
			p.errorf("C definition: expected ',' or '}' in enum")
			return nil
		}
	}
	p.next()
	if name != "" {
		p.c.cdefs.types["enum "+name] = e
	}
	return e
}

// defineType is the type of a #define'd name or an enum value.
func (c *compiler) defineType(name string) (*Type, bool) {
	if _, ok := c.cdefs.ints[name]; ok {
		return tInt64, true
	}
	if s, ok := c.cdefs.strings[name]; ok {
		return strType(len(s) + 1), true
	}
	return nil, false
}

func (c *compiler) define(g *gen, name string) (*val, bool) {
	if v, ok := c.cdefs.ints[name]; ok {
		return imm(v, tInt64), true
	}
	if s, ok := c.cdefs.strings[name]; ok {
		return g.strLit(s, len(s)+1), true
	}
	return nil, false
}

// typeSize is sizeof(TYPE) for a bpfsh integer type, a pointer, or a
// struct, union, enum or typedef from the preamble or kernel BTF.
func (k *checker) typeSize(tn *lang.TypeName) (int, bool) {
	if tn.TypeOf != nil {
		return 0, false
	}
	n := 0
	switch {
	case tn.Ptr > 0:
		n = 8
	default:
		if t, ok := castTypes[tn.Name]; ok {
			n = t.Size
		} else if bt, ok := k.c.lookupCType(tn.Name); ok {
			size, err := btf.Sizeof(bt)
			if err != nil {
				return 0, false
			}
			n = size
		} else {
			return 0, false
		}
	}
	if tn.ArrLen > 0 {
		n *= tn.ArrLen
	}
	return n, true
}

// lookupCType finds a named type: the preamble's, the built-in integer
// names (uint64_t), then kernel BTF.
func (c *compiler) lookupCType(name string) (btf.Type, bool) {
	if t, ok := c.userType(name); ok {
		return t, true
	}
	if t, ok := namedInts[name]; ok {
		return t, true
	}
	if t, ok := cIntType(strings.Fields(name)); ok && !strings.ContainsAny(name, "_") {
		return t, true
	}
	return c.kernelType(name)
}

func init() {
	funcs["offsetof"] = funcDef{check: checkOffsetof, emit: emitOffsetof}
}

// offsetof(struct Foo, a.b) or offsetof(expr, a.b): a member's byte offset.
func checkOffsetof(k *checker, e *lang.Call) *Type {
	if !k.nargs(e, 2, 2) {
		return tUint64
	}
	if _, ok := k.offsetof(e, true); !ok {
		return tUint64
	}
	return tUint64
}

func emitOffsetof(g *gen, e *lang.Call) *val {
	off, _ := g.k.offsetof(e, false)
	return imm(int64(off), tUint64)
}

func (k *checker) offsetof(e *lang.Call, report bool) (int, bool) {
	errorf := func(sp lang.Span, format string, args ...any) {
		if report {
			k.errorf(sp, format, args...)
		}
	}
	var container btf.Type
	if tn, ok := e.Args[0].(*lang.TypeName); ok {
		bt, found := k.c.lookupCType(tn.Name)
		if !found || tn.Ptr > 0 {
			errorf(tn.Span, "offsetof() needs a struct or union type, not %s", tn.Name)
			return 0, false
		}
		container = bt
	} else {
		var t *Type
		if report {
			t = k.expr(e.Args[0])
		} else {
			t = k.sc.types[e.Args[0]]
		}
		if t == nil || t.Kind != KStruct && t.Kind != KPtr || t.BTF == nil {
			errorf(e.Args[0].Sp(), "offsetof() needs a struct or union, not %s", t)
			return 0, false
		}
		container = t.BTF
	}
	path, ok := fieldPath(e.Args[1])
	if !ok {
		errorf(e.Args[1].Sp(), "offsetof()'s second argument must be a member name, like a or a.b")
		return 0, false
	}
	off := 0
	for _, name := range path {
		m, bits, found := findMember(container, name)
		if !found {
			errorf(e.Args[1].Sp(), "%s has no member %q", btfTypeName(btf.UnderlyingType(container)), name)
			return 0, false
		}
		if m.BitfieldSize > 0 {
			errorf(e.Args[1].Sp(), "offsetof() of the bitfield %s", name)
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
