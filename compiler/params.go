package compiler

import (
	"strconv"

	"github.com/bpfsh/bpfsh/lang"
)

// Positional parameters are known when bpfsh compiles, so str($1) is the
// parameter's text even when it looks like a number, and str($1 + n) skips
// n bytes of it (bpftrace treats a parameter given to str() as a string
// literal, and adding to it as pointer arithmetic on that literal). A
// missing parameter is "".

// strParam returns the text str(e) stands for when e is $N or $N + const.
func (c *compiler) strParam(e lang.Expr) (string, bool) {
	switch e := e.(type) {
	case *lang.PosParam:
		if e.Count {
			return "", false
		}
		v, _ := c.param(e.N)
		return v, true
	case *lang.Binary:
		if e.Op != "+" {
			return "", false
		}
		s, ok := c.strParam(e.X)
		if !ok {
			return "", false
		}
		n, ok := c.constInt(e.Y)
		if !ok || n < 0 {
			return "", false
		}
		if int(n) >= len(s) {
			return "", true
		}
		return s[n:], true
	}
	return "", false
}

// parseIntParam reads a positional parameter used as a number: decimal, 0x
// hex, 0 octal; values above INT64_MAX (0xffffffffffffffff) wrap, as
// unsigned.
func parseIntParam(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 0, 64)
	if err == nil {
		return n, nil
	}
	u, uerr := strconv.ParseUint(s, 0, 64)
	if uerr != nil {
		return 0, err
	}
	return int64(u), nil
}

// paramIsUnsigned reports whether a numeric parameter only fits uint64.
func paramIsUnsigned(s string) bool {
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return false
	}
	_, err := strconv.ParseUint(s, 0, 64)
	return err == nil
}
