package probes

import (
	"strconv"
	"strings"
)

// ParseCount reads a probe's count or rate as bpftrace writes them: an
// integer, optionally with _ separators or in scientific notation (1e6).
func ParseCount(s string) (uint64, error) {
	s = strings.ReplaceAll(s, "_", "")
	mant, exp, sci := strings.Cut(strings.ToLower(s), "e")
	if !sci {
		return strconv.ParseUint(s, 10, 64)
	}
	m, err := strconv.ParseUint(mant, 10, 64)
	if err != nil {
		return 0, err
	}
	e, err := strconv.ParseUint(exp, 10, 8)
	if err != nil || e > 19 {
		return 0, strconv.ErrRange
	}
	for ; e > 0; e-- {
		if m > ^uint64(0)/10 {
			return 0, strconv.ErrRange
		}
		m *= 10
	}
	return m, nil
}
