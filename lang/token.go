package lang

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tIllegal         // a character or sequence the lexer rejected (already reported)

	tIdent      // pid, printf, struct, my_const
	tInt        // 42, 0x2a, 1_000, 1e6, 100ms
	tString     // "text" (Str holds the decoded value)
	tVar        // $name (Str holds the name)
	tPosParam   // $1 (Int holds the number)
	tParamCount // $#
	tMap        // @name or @ (Str holds the name, "" for @)
	tShebang    // #! line (valid only at the very start of the input)
	tPreproc    // #include / #define ... line

	// Operators and punctuation.
	tAdd       // +
	tSub       // -
	tMul       // *
	tDiv       // /
	tMod       // %
	tAnd       // &
	tOr        // |
	tXor       // ^
	tShl       // <<
	tShr       // >>
	tLAnd      // &&
	tLOr       // ||
	tNot       // !
	tTilde     // ~
	tEq        // ==
	tNe        // !=
	tLt        // <
	tLe        // <=
	tGt        // >
	tGe        // >=
	tAssign    // =
	tAddAssign // +=
	tSubAssign // -=
	tMulAssign // *=
	tDivAssign // /=
	tModAssign // %=
	tAndAssign // &=
	tOrAssign  // |=
	tXorAssign // ^=
	tShlAssign // <<=
	tShrAssign // >>=
	tInc       // ++
	tDec       // --
	tQuestion  // ?
	tColon     // :
	tArrow     // ->
	tDot       // .
	tDotDot    // ..
	tComma     // ,
	tSemi      // ;
	tLParen    // (
	tRParen    // )
	tLBrack    // [
	tRBrack    // ]
	tLBrace    // {
	tRBrace    // }

	// Keywords. Other words with a special meaning in some places (config,
	// macro, import, struct, sizeof, true, ...) are identifiers, so they stay
	// usable as names elsewhere.
	tIf
	tElse
	tWhile
	tUnroll
	tFor
	tBreak
	tContinue
	tReturn
	tLet

	numKinds
)

var kindText = [numKinds]string{
	tEOF:        "end of input",
	tIllegal:    "invalid token",
	tIdent:      "identifier",
	tInt:        "integer",
	tString:     "string",
	tVar:        "variable",
	tPosParam:   "positional parameter",
	tParamCount: "$#",
	tMap:        "map",
	tShebang:    "#! line",
	tPreproc:    "preprocessor directive",

	tAdd:       "+",
	tSub:       "-",
	tMul:       "*",
	tDiv:       "/",
	tMod:       "%",
	tAnd:       "&",
	tOr:        "|",
	tXor:       "^",
	tShl:       "<<",
	tShr:       ">>",
	tLAnd:      "&&",
	tLOr:       "||",
	tNot:       "!",
	tTilde:     "~",
	tEq:        "==",
	tNe:        "!=",
	tLt:        "<",
	tLe:        "<=",
	tGt:        ">",
	tGe:        ">=",
	tAssign:    "=",
	tAddAssign: "+=",
	tSubAssign: "-=",
	tMulAssign: "*=",
	tDivAssign: "/=",
	tModAssign: "%=",
	tAndAssign: "&=",
	tOrAssign:  "|=",
	tXorAssign: "^=",
	tShlAssign: "<<=",
	tShrAssign: ">>=",
	tInc:       "++",
	tDec:       "--",
	tQuestion:  "?",
	tColon:     ":",
	tArrow:     "->",
	tDot:       ".",
	tDotDot:    "..",
	tComma:     ",",
	tSemi:      ";",
	tLParen:    "(",
	tRParen:    ")",
	tLBrack:    "[",
	tRBrack:    "]",
	tLBrace:    "{",
	tRBrace:    "}",

	tIf:       "if",
	tElse:     "else",
	tWhile:    "while",
	tUnroll:   "unroll",
	tFor:      "for",
	tBreak:    "break",
	tContinue: "continue",
	tReturn:   "return",
	tLet:      "let",
}

func (k tokKind) String() string {
	if k < numKinds {
		return kindText[k]
	}
	return "token?"
}

// isOp reports whether k is an operator or punctuation, rendered as its text.
func (k tokKind) isOp() bool { return k >= tAdd && k <= tRBrace }

// isKeyword reports whether k is a reserved word.
func (k tokKind) isKeyword() bool { return k >= tIf && k < numKinds }

// keyword returns the keyword kind of an identifier, or tIdent.
func keyword(s string) tokKind {
	for k := tIf; k < numKinds; k++ {
		if kindText[k] == s {
			return k
		}
	}
	return tIdent
}

// isAssign reports whether k is "=" or a compound assignment ("+=", ...):
// Assign.Op holds its text.
func (k tokKind) isAssign() bool { return k >= tAssign && k <= tShrAssign }

// binaryPrec gives the binding power of binary operators, C style: higher
// binds tighter; 0 means not a binary operator. The ternary sits below all.
var binaryPrec = [numKinds]int{
	tLOr:  1,
	tLAnd: 2,
	tOr:   3,
	tXor:  4,
	tAnd:  5,
	tEq:   6, tNe: 6,
	tLt: 7, tLe: 7, tGt: 7, tGe: 7,
	tShl: 8, tShr: 8,
	tAdd: 9, tSub: 9,
	tMul: 10, tDiv: 10, tMod: 10,
}

// token is one lexical token. Text is the source as written; the other
// fields hold decoded values for the kinds that have them.
type token struct {
	kind tokKind
	sp   Span
	text string
	str  string // tString: decoded value; tVar/tMap: name without sigil
	num  uint64 // tInt: value in Unit's count; tPosParam: the number
	unit string // tInt: duration unit, if any
}

// describe renders a token for "unexpected X" messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		return "identifier '" + t.text + "'"
	case tInt:
		return "integer " + t.text
	case tString:
		s := t.text
		if len(s) > 24 {
			s = s[:20] + "...\""
		}
		return "string " + s
	case tVar:
		return "variable " + t.text
	case tPosParam, tParamCount:
		return "positional parameter " + t.text
	case tMap:
		return "map " + t.text
	case tIllegal:
		return "'" + t.text + "'"
	case tShebang, tPreproc:
		return t.kind.String()
	}
	if t.kind.isKeyword() {
		return "keyword '" + t.text + "'"
	}
	return "'" + t.kind.String() + "'"
}
