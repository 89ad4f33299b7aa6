// Package lang turns bpftrace-language source text into an AST with spans,
// collecting every diagnostic instead of stopping at the first.
package lang

// Pos is a position in the source: a byte offset plus the 1-based line and
// column the user sees (columns count runes, tabs expanded to 8).
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// Span covers source text from Start up to, not including, End. Exp is set
// on code copied out of a macro's body by ExpandMacros: Start and End are
// then positions in the macro's source, and Exp names the call the copy
// replaced.
type Span struct {
	Start, End Pos
	Exp        *Expansion
}

// Expansion is one use of a macro: the call (or bare name) that the copy of
// the macro's body replaced. Call may itself lie inside another expansion.
// An Expansion without Macro only says which file a span is in (a library
// macro's definition).
type Expansion struct {
	Macro string
	Call  Span
	File  string // the file of the macro's body; "" for the program's own
	Src   []byte // its text (nil for the program's own)
}

// Origin returns the file and text that sp's positions refer to: those of
// the macro's source for expanded code, else file and src.
func (s Span) Origin(file string, src []byte) (string, []byte) {
	if s.Exp != nil && s.Exp.Src != nil {
		return s.Exp.File, s.Exp.Src
	}
	return file, src
}

// Root is the span in the program's own text that sp came from: sp itself,
// or the outermost macro call its code was expanded from.
func (s Span) Root() Span {
	for s.Exp != nil && s.Exp.Macro != "" {
		s = s.Exp.Call
	}
	return s
}

// Sp returns the span itself, so embedding a Span gives a node its Span method.
func (s Span) Sp() Span { return s }

// setSpan lets the parser widen a node's span, e.g. over parentheses.
func (s *Span) setSpan(sp Span) { *s = sp }

// Node is any syntax tree node.
type Node interface {
	Sp() Span
}

// Program is a whole script.
type Program struct {
	Span
	File     string // name used in diagnostics ("stdin", "-e" or a path)
	Src      []byte
	Shebang  string     // the text of a leading #! line, if any
	Preamble []*CDecl   // #include, #define and C struct/union/enum definitions, kept verbatim
	Imports  []*Import  // import "path";
	Config   []*Assign  // config = { key = value; ... } entries (LHS is *Ident)
	MapDecls []*MapDecl // let @m = hash(N);
	Macros   []*Macro
	Probes   []*Probe
}

// CDecl is a preprocessor line or a C type definition, kept as text.
type CDecl struct {
	Span
	Text string
}

// Import is `import "path";` at the top level.
type Import struct {
	Span
	Path string
}

// MapDecl declares a map's kind and size: `let @name = hash(1024);`.
type MapDecl struct {
	Span
	Name string // without '@'
	Kind string // hash, lruhash, percpuhash, percpulruhash, percpuarray...
	Args []Expr
}

// Macro is `macro name(params) { body }`.
type Macro struct {
	Span
	Name   string
	Params []Expr // *Var, *MapRef or *Ident
	Body   *Block
	Head   Span     // "macro name(params)"
	Lib    *Library // the library it comes from; nil for the program's own
}

// Probe is `spec[, spec...] [/predicate/] { body }`.
type Probe struct {
	Span
	Specs []*ProbeSpec
	Pred  Expr // nil when absent
	Body  *Block
}

// ProbeSpec is one attach point as written, split on ':' outside quotes.
// "t:syscalls:sys_enter_openat" has Provider "t" and Parts
// ["syscalls", "sys_enter_openat"]; BEGIN has Provider "BEGIN" and no Parts.
// Wildcards are kept in the parts. Providers and aliases are resolved later.
type ProbeSpec struct {
	Span
	Raw      string
	Provider string
	Parts    []string
}

// Stmt is a statement.
type Stmt interface {
	Node
	stmt()
}

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// Block is `{ stmt; ... }`. A block is also an expression (`@x = { $a = 1;
// $a + 1 }`): its value is the last statement when Trailing is set, i.e. when
// that statement is an *ExprStmt, *If or *Block written without a ';'.
type Block struct {
	Span
	Stmts    []Stmt
	Trailing bool
}

// ExprStmt is an expression used as a statement, like a call.
type ExprStmt struct {
	Span
	X Expr
}

// Assign is `lhs op rhs` where Op is "=", "+=", "-=", "*=", "/=", "%=",
// "&=", "|=", "^=", "<<=" or ">>=". LHS is a *Var, *MapRef, *Ident
// (e.g. `reply` in sockops, or a config key), or *Field/*Index.
type Assign struct {
	Span
	LHS Expr
	Op  string
	RHS Expr
}

// VarDecl is `let $x [: type] [= value];`.
type VarDecl struct {
	Span
	Var   *Var
	Type  *TypeName // nil when absent
	Value Expr      // nil when absent
}

// If is `if (cond) { } [else { } | else if ...]`. It is also an expression
// (`print(if ($x) { 1 } else { 2 })`), valued by the blocks' trailing statements.
type If struct {
	Span
	Cond Expr
	Then *Block
	Else Stmt // nil, *Block or *If
}

// Unroll is `unroll (N) { }`.
type Unroll struct {
	Span
	Count Expr
	Body  *Block
}

// While is `while (cond) { }`.
type While struct {
	Span
	Cond Expr
	Body *Block
}

// For is `for ($kv : @map) { }` (Map set) or `for ($i : lo..hi) { }` (Lo, Hi set).
type For struct {
	Span
	Var  *Var
	Map  *MapRef // for ($kv : @m); nil for a range
	Lo   Expr
	Hi   Expr
	Body *Block
}

// Jump is `break`, `continue` or `return [value]`.
type Jump struct {
	Span
	Kind  string // "break", "continue", "return"
	Value Expr   // only for return; nil when absent
}

// IntLit is an integer literal; duration literals (1s, 100ms, 5us, 10ns,
// 2m, 1h, 1d) keep their unit and have Val in the unit's own count.
type IntLit struct {
	Span
	Val  uint64
	Text string // as written
	Unit string // "" or ns, us, ms, s, m, h, d
}

// StrLit is a string literal with escapes already decoded.
type StrLit struct {
	Span
	Val string
}

// BoolLit is true or false.
type BoolLit struct {
	Span
	Val bool
}

// Ident is a bare name: a builtin (pid, comm, args, curtask), a constant
// (EPERM, TIMEOUT_INIT), a probe-specific name (reply, drop) or an enum.
type Ident struct {
	Span
	Name string
}

// PosParam is $1..$N (N >= 1), or $# (Count set).
type PosParam struct {
	Span
	N     int
	Count bool
}

// Var is a scratch variable $name (without '$').
type Var struct {
	Span
	Name string
}

// MapRef is @name or @name[k1, k2]; Name is "" for the anonymous map @.
// Keys is nil for a scalar map.
type MapRef struct {
	Span
	Name string
	Keys []Expr
}

// Call is name(args...). Type-taking calls (sizeof, offsetof) may have a
// *TypeName argument.
type Call struct {
	Span
	Name string
	Args []Expr
}

// Binary is X Op Y for arithmetic, comparison, bitwise and logical operators.
// Op "?:" is the short ternary `X ?: Y` (X if it is non-zero, else Y).
type Binary struct {
	Span
	Op   string
	X, Y Expr
}

// Unary is a prefix (!, ~, -, *, &, ++, --) or postfix (++, --) operator.
type Unary struct {
	Span
	Op      string
	X       Expr
	Postfix bool
}

// Ternary is Cond ? Then : Else.
type Ternary struct {
	Span
	Cond, Then, Else Expr
}

// Field is X.Name or X->Name (Arrow set).
type Field struct {
	Span
	X     Expr
	Name  string
	Arrow bool
}

// Index is X[Index] on a non-map value (arrays, pointers).
type Index struct {
	Span
	X     Expr
	Index Expr
}

// Cast is (Type)X.
type Cast struct {
	Span
	Type *TypeName
	X    Expr
}

// Tuple is (a, b, ...), usually with at least two elements; `()` and `(a,)`
// are the empty and one-element tuples. A record `(x = 1, y = "a")` is a
// tuple with Names set (one per element); Names is nil for a plain tuple.
type Tuple struct {
	Span
	Elems []Expr
	Names []string
}

// TypeName is a type as written: "int64", "struct task_struct", "uint8",
// "string", with pointer depth and an optional array length ("char[16]").
// `typeof(x)` has Name "typeof" and the expression (or *TypeName) in TypeOf.
// A pointer array is written `struct foo *[4]` (Ptr 1, ArrLen 4).
type TypeName struct {
	Span
	Name   string // e.g. "uint32", "struct sock", "unsigned int"
	Ptr    int    // number of '*'
	ArrLen int    // 0 when not an array; -1 for `[]` (length from the value)
	TypeOf Expr   // for typeof(...): an expression or *TypeName; nil otherwise
}

func (*ExprStmt) stmt() {}
func (*Assign) stmt()   {}
func (*VarDecl) stmt()  {}
func (*If) stmt()       {}
func (*Unroll) stmt()   {}
func (*While) stmt()    {}
func (*For) stmt()      {}
func (*Jump) stmt()     {}
func (*Block) stmt()    {}

func (*IntLit) expr()   {}
func (*StrLit) expr()   {}
func (*BoolLit) expr()  {}
func (*Ident) expr()    {}
func (*PosParam) expr() {}
func (*Var) expr()      {}
func (*MapRef) expr()   {}
func (*Call) expr()     {}
func (*Binary) expr()   {}
func (*Unary) expr()    {}
func (*Ternary) expr()  {}
func (*Field) expr()    {}
func (*Index) expr()    {}
func (*Cast) expr()     {}
func (*Tuple) expr()    {}
func (*TypeName) expr() {}
func (*Block) expr()    {}
func (*If) expr()       {}
