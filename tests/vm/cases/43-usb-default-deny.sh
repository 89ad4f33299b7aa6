# vmtest: usb-guard.bt (default deny): the unknown stick (46f4:0001) stays unauthorized with no driver and no disk; the allowed usb-uas disk works; after exit (SIGINT, SIGTERM) the authorization defaults are as before; after SIGKILL they stay 0 (fail-closed)
# vmtest-timeout: 180
. /cases/lib.sh
need_file /examples/usb-guard.bt

usb_up
before=$(usb_defaults)
log "defaults before: $before"
bpfsh_start --unsafe /examples/usb-guard.bt
# the boot keyboard, present at start, is judged and allowed
wait_output '^usb [0-9:]+ allow device port="[0-9.-]+" vendor=0627 product=0001 .* rule=/examples/usb-guard.bt:[0-9]+$'
[ "$(usb_defaults)" != "$before" ] || fail "the defaults did not change while bpfsh runs: $before"

usb_plug "usb-storage,bus=xhci.0,drive=stick,id=s1" "$STICK_VID" "$STICK_PID"
wait_output '^usb [0-9:]+ deny device port="[0-9.-]+" vendor=46f4 product=0001 .* rule=default$'
wait_output '^usb-guard: blocked 46f4:0001 "QEMU USB HARDDRIVE"'
sleep 2
usb_authorized "$USB_NEW" && fail "the unknown stick is authorized"
usb_has_driver "$USB_NEW" && fail "the unknown stick has a driver"
usb_disk "$STICK_VID" "$STICK_PID" >/dev/null && fail "the unknown stick has a disk"
log "the unknown stick: unauthorized, no driver, no disk"

uas_add u1
expect_read "$UAS_DEV" "allowed usb-uas disk"
expect '^usb [0-9:]+ allow device port="[0-9.-]+" vendor=46f4 product=0003 .* rule=/examples/usb-guard.bt:[0-9]+$'
expect '^usb [0-9:]+ allow interface port="[0-9.:-]+" vendor=46f4 product=0003 .*ifclass=08 .* rule=/examples/usb-guard.bt:[0-9]+$'

bpfsh_stop
expect_rc 0
after=$(usb_defaults)
[ "$after" = "$before" ] || fail "defaults after exit: $after, before: $before"
log "defaults after exit: $after"

# SIGTERM restores them too; SIGKILL leaves them 0: fail-closed, as documented
bpfsh_start --unsafe --usb-present=keep /examples/usb-guard.bt
kill -TERM "$BPFSH_PID"
_bpfsh_reap 30 " of SIGTERM"
[ "$(usb_defaults)" = "$before" ] || fail "defaults after SIGTERM: $(usb_defaults), before: $before"
bpfsh_start --unsafe --usb-present=keep /examples/usb-guard.bt
kill -KILL "$BPFSH_PID"
wait "$BPFSH_PID" 2>/dev/null
killed=$(usb_defaults)
echo "$killed" | grep -Eq '^(usb[0-9]+=0/0 )+$' || fail "defaults after SIGKILL: $killed, want 0/0 on every root hub"
log "after SIGKILL: $killed (fail-closed)"
usb_auth_reset
