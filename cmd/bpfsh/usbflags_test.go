package main

import (
	"strings"
	"testing"
)

func TestUSBFlags(t *testing.T) {
	for _, c := range []struct {
		args               []string
		keepPresent, keepX bool
		err                string
	}{
		{args: []string{"--usb-present=keep", "-e", "BEGIN{}"}, keepPresent: true},
		{args: []string{"--usb-present", "judge", "--usb-exit", "keep", "-e", "BEGIN{}"}, keepX: true},
		{args: []string{"--usb-exit=restore", "-e", "BEGIN{}"}},
		{args: []string{"--usb-exit=forever", "-e", "BEGIN{}"}, err: `--usb-exit takes restore or keep, not "forever"`},
		{args: []string{"--usb-present"}, err: "option --usb-present needs a value"},
	} {
		cfg, err := parseArgs(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if cfg.usb.KeepPresent != c.keepPresent || cfg.usb.KeepDefaults != c.keepX {
			t.Errorf("%q: %+v", c.args, cfg.usb)
		}
	}
}
