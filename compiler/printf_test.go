package compiler

import "testing"

func TestEscapeTrailingPercent(t *testing.T) {
	for in, want := range map[string]string{
		"%5s%\n":   "%5s%%\n",
		"100%":     "100%%",
		"%d%\t \n": "%d%%\t \n",
		"50%%\n":   "50%%\n",
		"%d%%%\n":  "%d%%%%\n",
		"%d\n":     "%d\n",
		"% d\n":    "% d\n",
		"":         "",
	} {
		if got := escapeTrailingPercent(in); got != want {
			t.Errorf("escapeTrailingPercent(%q) = %q, want %q", in, got, want)
		}
		if _, err := ParseFormat(escapeTrailingPercent(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}
