package compiler

import (
	"strings"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfsh/bpfsh/lang"
)

// Kernel data typed by BTF: pointers to structs (curtask, raw tracepoint
// arguments, casts like (struct task_struct *)x), member access with -> and
// ., read with bpf_probe_read_kernel. Only the types a script names are
// looked up; the kernel's BTF is loaded on first use.

// memberInfo records where a member lives relative to its container.
type memberInfo struct {
	off     int // bytes
	bitOff  int // bit offset within the loaded bytes (bitfields)
	bitSize int // 0 unless a bitfield
}

// btfValueType maps a BTF type to the bpfsh type of a value read from memory.
func btfValueType(t btf.Type, strlen int) (*Type, bool) {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return intType(int(u.Size), u.Encoding == btf.Signed || u.Encoding == btf.Char), true
	case *btf.Enum:
		t := intType(int(u.Size), u.Signed)
		t.Enum = u
		return t, true
	case *btf.Pointer:
		return &Type{Kind: KPtr, Size: 8, BTF: u.Target, Char: isChar(u.Target)}, true
	case *btf.Array:
		if isChar(u.Type) {
			return strType(int(u.Nelems)), true
		}
	case *btf.Struct, *btf.Union:
		size, _ := btf.Sizeof(u)
		return &Type{Kind: KStruct, Size: size, BTF: u}, true
	}
	return nil, false
}

func isChar(t btf.Type) bool {
	if t == nil {
		return false
	}
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1
}

// findMember looks a member up by name, descending into anonymous structs and unions.
func findMember(t btf.Type, name string) (*btf.Member, int, bool) {
	var members []btf.Member
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		members = u.Members
	case *btf.Union:
		members = u.Members
	default:
		return nil, 0, false
	}
	for i := range members {
		m := &members[i]
		if m.Name == name {
			return m, int(m.Offset), true
		}
		if m.Name == "" {
			if inner, off, ok := findMember(m.Type, name); ok {
				return inner, int(m.Offset) + off, true
			}
		}
	}
	return nil, 0, false
}

func btfTypeName(t btf.Type) string {
	if t == nil {
		return "void"
	}
	switch u := t.(type) {
	case *btf.Struct:
		return "struct " + u.Name
	case *btf.Union:
		return "union " + u.Name
	}
	return t.TypeName()
}

// structField checks x->name or x.name on kernel data.
func (k *checker) structField(e *lang.Field, xt *Type) *Type {
	var container btf.Type
	switch xt.Kind {
	case KPtr:
		container = xt.BTF
	case KStruct:
		container = xt.BTF
	}
	if container == nil {
		k.errorf(e.Span, "cannot access field %q of %s", e.Name, xt)
		return tInt64
	}
	if _, ok := btf.UnderlyingType(container).(*btf.Pointer); ok && xt.Kind == KPtr {
		k.errorf(e.Span, "%s is a pointer to a pointer: dereference it first", lang.ExprString(e.X))
		return tInt64
	}
	m, bitOff, ok := findMember(container, e.Name)
	if !ok {
		k.errorf(e.Span, "%s has no field %q", btfTypeName(btf.UnderlyingType(container)), e.Name)
		return tInt64
	}
	t, ok := btfValueType(m.Type, k.c.strlen)
	if !ok {
		k.errorf(e.Span, "not supported yet: field %s of type %s", e.Name, btfTypeName(m.Type))
		return tInt64
	}
	t = userMember(xt, t)
	info := memberInfo{off: bitOff / 8}
	if m.BitfieldSize > 0 {
		info.bitOff = bitOff % 8
		info.bitSize = int(m.BitfieldSize)
	}
	k.sc.members[e] = info
	return t
}

// btfCast resolves (struct NAME *) and (TYPEDEF *) casts through BTF.
func (k *checker) btfCast(tn *lang.TypeName) (*Type, bool) {
	env := k.c.opts.Env
	name := tn.Name
	var target btf.Type
	// The script's own definitions come first (they may redefine the kernel's).
	user, isUser := k.c.cdefs.types[name]
	if _, err := env.KernelBTF(); err != nil && !isUser {
		k.errorf(tn.Span, "%v", err)
		return tInt64, true
	}
	switch {
	case isUser:
		target = user
	case strings.HasPrefix(name, "struct "):
		var s *btf.Struct
		if err := env.FindType(strings.TrimPrefix(name, "struct "), &s); err != nil {
			return nil, false
		}
		target = s
	case strings.HasPrefix(name, "union "):
		var u *btf.Union
		if err := env.FindType(strings.TrimPrefix(name, "union "), &u); err != nil {
			return nil, false
		}
		target = u
	default:
		var td *btf.Typedef
		if err := env.FindType(name, &td); err != nil {
			return nil, false
		}
		target = td
	}
	if tn.Ptr == 0 {
		k.errorf(tn.Span, "cannot cast to %s by value: cast to a pointer (%s *)", name, name)
		return tInt64, true
	}
	t := &Type{Kind: KPtr, Size: 8, BTF: target}
	for i := 1; i < tn.Ptr; i++ {
		t = &Type{Kind: KPtr, Size: 8, BTF: &btf.Pointer{Target: t.BTF}}
	}
	return t, true
}

// curtaskType is a pointer to the kernel's struct task_struct.
func (k *checker) curtaskType(sp lang.Span) *Type {
	t, ok := k.btfCast(&lang.TypeName{Span: sp, Name: "struct task_struct", Ptr: 1})
	if !ok {
		k.errorf(sp, "struct task_struct not found in kernel BTF")
		return tUint64
	}
	return t
}

// structRead emits x->name / x.name.
func (g *gen) structRead(e *lang.Field) *val {
	t := g.sc.types[e]
	info := g.sc.members[e]
	read := asm.FnProbeReadKernel
	if g.sc.types[e.X].User {
		read = asm.FnProbeReadUser
	}
	base := g.toTemp(g.expr(e.X))
	if info.off != 0 {
		g.emit(asm.Add.Imm(base.reg, int32(info.off)))
	}
	switch t.Kind {
	case KStruct:
		base.t = t
		return base
	case KString:
		buf := g.buffer(t.Size, t)
		g.helperCall(read, false, buf, imm(int64(t.Size), tInt64), base)
		g.countReadFault()
		return buf
	}
	size := t.Size
	if info.bitSize > 0 {
		size = (info.bitOff + info.bitSize + 7) / 8
	}
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	g.emit(storeImm(asm.R10, slot.off, 0, asm.DWord))
	g.helperCall(read, false, slot, imm(int64(size), tInt64), base)
	g.countReadFault()
	dst := g.newTemp(t)
	g.emit(asm.LoadMem(dst.reg, asm.R10, slot.off, asm.DWord))
	if info.bitSize > 0 {
		if info.bitOff > 0 {
			g.emit(asm.RSh.Imm(dst.reg, int32(info.bitOff)))
		}
		if info.bitSize < 32 {
			g.emit(asm.And.Imm(dst.reg, int32(1<<info.bitSize)-1))
		}
		return dst
	}
	if t.Kind == KInt && t.Signed {
		g.extend(dst.reg, t.Size, true)
	}
	return dst
}

// deref emits *p for a pointer to an integer or pointer.
// userAddr reports whether a value of type t addresses user memory: a
// user pointer, or an integer in a probe whose pointers are the user's
// (uprobes, syscall tracepoints).
func (g *gen) userAddr(t *Type) bool {
	return t.User || (t.Kind == KInt && g.sc.ctx != nil && g.sc.ctx.UserPtrs)
}

func (g *gen) deref(e *lang.Unary) *val {
	t := g.sc.types[e]
	p := g.expr(e.X)
	if t.Kind == KStruct {
		// A struct is held by its address: *p is p, typed as the struct.
		p = g.toTemp(p)
		p.t = t
		return p
	}
	if t.InMemory() {
		// *p of a string or tuple (p = &$s): copy the value out.
		buf := g.buffer(t.MemSize(), t)
		fn := asm.FnProbeReadKernel
		if pt := g.sc.types[e.X]; pt.User {
			fn = asm.FnProbeReadUser
		}
		g.helperCall(fn, false, buf, imm(int64(t.MemSize()), tInt64), p)
		g.countReadFault()
		return buf
	}
	slot := &val{kind: vMem, off: g.alloc(8), size: 8}
	g.emit(storeImm(asm.R10, slot.off, 0, asm.DWord))
	fn := asm.FnProbeReadKernel
	if g.userAddr(g.sc.types[e.X]) {
		fn = asm.FnProbeReadUser
	}
	g.helperCall(fn, false, slot, imm(int64(t.Size), tInt64), p)
	g.countReadFault()
	dst := g.newTemp(t)
	g.emit(asm.LoadMem(dst.reg, asm.R10, slot.off, asm.DWord))
	if t.Kind == KInt && t.Signed {
		g.extend(dst.reg, t.Size, true)
	}
	return dst
}
