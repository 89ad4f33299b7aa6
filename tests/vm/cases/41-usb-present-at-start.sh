# vmtest: a stick plugged in before bpfsh starts is judged: denied, it loses its driver and its disk (the allowed boot keyboard keeps its driver); with --usb-present=keep it is left as it is
# vmtest-timeout: 180
. /cases/lib.sh

usb_up
stick_add s1
stick=$(usb_dev "$STICK_VID" "$STICK_PID")
cat >"$VT/present.bt" <<'BT'
usb:device /vendor == 0x46f4 && product == 0x0001/ { deny; }
usb:device { allow; }
BT
bpfsh_start --unsafe "$VT/present.bt"
wait_output 'deny device port="[0-9.-]+" vendor=46f4 product=0001 .*rule=.*present.bt:1$'
wait_until 30 _no_stick_disk || fail "the denied stick still has its disk $(usb_disk "$STICK_VID" "$STICK_PID")"
usb_authorized "$stick" && fail "the denied stick is authorized"
usb_has_driver "$stick" && fail "the denied stick still has a driver"
log "the stick present at start: denied, no driver, no disk"
expect 'allow device port="[0-9.-]+" vendor=0627 product=0001 .*rule=.*present.bt:2$'
usb_bound "$KBD_VID" "$KBD_PID" usbhid || fail "the allowed boot keyboard lost usbhid"
bpfsh_stop
expect_rc 0
usb_authorized "$stick" && fail "the denied stick was authorized again at exit"

# authorized again by hand, the stick comes back; bpfsh --usb-present=keep leaves it so
echo 1 >"$stick/authorized"
wait_until 60 stick_disk_ready || fail "the re-authorized stick got no disk"
bpfsh_start --unsafe --usb-present=keep "$VT/present.bt"
sleep 3
expect_not 'vendor=46f4 product=0001' "with --usb-present=keep, the output"
usb_authorized "$stick" || fail "--usb-present=keep: the stick was de-authorized"
expect_read "$STICK_DEV" "--usb-present=keep: the stick's disk"
bpfsh_stop
expect_rc 0
