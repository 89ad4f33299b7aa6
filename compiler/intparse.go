package compiler

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// NumberError is an integer that does not parse, worded as bpftrace words
// it: Msg is "invalid integer", "invalid trailing bytes" or an overflow.
type NumberError struct {
	Msg string
	Num string
}

func (e *NumberError) Error() string { return e.Msg + ": " + e.Num }

// ParseUint parses an unsigned integer as bpftrace reads numbers from the
// command line: decimal, 0x hex, 0b binary, 0 octal, _ separators, an
// optional 1e9-style exponent and a C suffix (u, ul, ull, l, ll) or a
// duration unit (ns, us, ms, s, m, h, d; the value is then in nanoseconds).
func ParseUint(num string) (uint64, error) {
	n := strings.ReplaceAll(num, "_", "")
	base := 10
	switch {
	case len(n) >= 2 && (strings.HasPrefix(n, "0x") || strings.HasPrefix(n, "0X")):
		base, n = 16, n[2:]
	case len(n) >= 2 && (strings.HasPrefix(n, "0b") || strings.HasPrefix(n, "0B")):
		base, n = 2, n[2:]
	case len(n) >= 2 && n[0] == '0' && n[1] >= '0' && n[1] <= '7':
		base, n = 8, n[1:]
	}
	end := 0
	for end < len(n) && digitVal(n[end]) < base {
		end++
	}
	if end == 0 {
		return 0, &NumberError{"invalid integer", num}
	}
	v, err := strconv.ParseUint(n[:end], base, 64)
	if err != nil {
		return 0, &NumberError{fmt.Sprintf("overflow error, maximum value is %d", uint64(math.MaxUint64)), num}
	}
	rest := n[end:]
	if len(rest) >= 2 && (rest[0] == 'e' || rest[0] == 'E') && rest[1] >= '1' && rest[1] <= '9' {
		if v == 0 || v >= 10 {
			return 0, &NumberError{"coefficient part of scientific literal must be 1-9", num}
		}
		e := 1
		for e < len(rest) && rest[e] >= '0' && rest[e] <= '9' {
			e++
		}
		exp, _ := strconv.Atoi(rest[1:e])
		for ; exp > 0; exp-- {
			hi, lo := bits.Mul64(v, 10)
			if hi != 0 {
				return 0, &NumberError{fmt.Sprintf("overflow error, maximum value is %d", uint64(math.MaxUint64)), num}
			}
			v = lo
		}
		rest = rest[e:]
	}
	max, mul := uint64(math.MaxUint64), uint64(1)
	switch rest {
	case "", "ull", "ns":
	case "u":
		max = math.MaxUint32
	case "ul":
		max = math.MaxUint64
	case "l", "ll":
		max = math.MaxInt64
	case "us":
		mul = 1e3
	case "ms":
		mul = 1e6
	case "s":
		mul = 1e9
	case "m":
		mul = 60e9
	case "h":
		mul = 3600e9
	case "d":
		mul = 86400e9
	default:
		return 0, &NumberError{"invalid trailing bytes", num}
	}
	if v > max/mul {
		return 0, &NumberError{fmt.Sprintf("overflow error, maximum value is %d", max), num}
	}
	return v * mul, nil
}

// ParseInt is ParseUint with an optional leading '-'.
func ParseInt(num string) (int64, error) {
	if num == "" {
		return 0, nil
	}
	if num[0] == '-' {
		u, err := ParseUint(num[1:])
		if err != nil {
			if ne, ok := err.(*NumberError); ok {
				ne.Num = num
			}
			return 0, err
		}
		if u > 1<<63 {
			return 0, &NumberError{fmt.Sprintf("overflow error, maximum value is %d", int64(math.MaxInt64)), num}
		}
		return -int64(u), nil
	}
	u, err := ParseUint(num)
	if err != nil {
		return 0, err
	}
	if u > math.MaxInt64 {
		return 0, &NumberError{fmt.Sprintf("overflow error, maximum value is %d", int64(math.MaxInt64)), num}
	}
	return int64(u), nil
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
