# vmtest: examples/usb-events.bt prints the arrival and the removal of a hot-plugged usb-kbd
. /cases/lib.sh

need_file /examples/usb-events.bt
usb_up
bpfsh_start /examples/usb-events.bt
kbd_add k1
wait_output '0627:0001|QEMU USB Keyboard'
kbd_del k1
sleep 1
bpfsh_stop
expect_rc 0

# Two lines name the keyboard (ids 0627:0001 or "QEMU USB Keyboard"): one says it arrived, a later
# one that it was removed.
gone='remov|disconnect|detach|unplug|gone|left|depart'
kb=$(grep -Ei '0627:0001|QEMU USB Keyboard' "$BPFSH_OUT")
arrive=$(echo "$kb" | grep -Evi "$gone" | head -1)
leave=$(echo "$kb" | grep -Ei "$gone" | head -1)
[ -n "$arrive" ] || fail "no arrival line for the keyboard"
[ -n "$leave" ] || fail "no removal line for the keyboard (a line naming it with one of: $gone)"
a=$(grep -nF -- "$arrive" "$BPFSH_OUT" | head -1 | cut -d: -f1)
l=$(grep -nF -- "$leave" "$BPFSH_OUT" | head -1 | cut -d: -f1)
[ "$a" -lt "$l" ] || fail "the removal line comes before the arrival line"
