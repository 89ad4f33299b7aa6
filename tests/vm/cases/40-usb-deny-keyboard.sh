# vmtest: usb:device denies a keyboard by serial: its keys (QEMU sendkey) produce no input event in the guest and it gets no driver, while an allowed keyboard's keys do
# vmtest-timeout: 180
. /cases/lib.sh

usb_up
usb_more_drivers
cat >"$VT/kbd.bt" <<'BT'
usb:device /serial == "evil"/ { deny; }
usb:device { allow; }
BT
bpfsh_start --unsafe "$VT/kbd.bt"

# an allowed keyboard: plugged last, it gets QEMU's keys, and the guest sees them
usb_plug "usb-kbd,bus=xhci.0,id=k1,serial=good" "$KBD_VID" "$KBD_PID"
good=$USB_NEW
wait_until 30 usb_event_node "$good" >/dev/null || fail "the allowed keyboard has no input node: $(usb_list)"
node=$(usb_event_node "$good")
wait_output 'allow device .*serial="good" .*rule=.*kbd.bt:2$'
got=$(key_events a)
log "keys to the allowed keyboard: input on: $got"
echo "$got" | grep -qx "$node" || fail "the allowed keyboard's key produced no event on $node (input on: ${got:-none})"

# a denied one: unauthorized, no driver, no input device; keys sent to it reach nothing
before=$(grep -c 'QEMU USB Keyboard' /proc/bus/input/devices)
usb_plug "usb-kbd,bus=xhci.0,id=k2,serial=evil" "$KBD_VID" "$KBD_PID"
evil=$USB_NEW
wait_output 'deny device .*serial="evil" .*rule=.*kbd.bt:1$'
sleep 1
usb_authorized "$evil" && fail "the denied keyboard is authorized"
usb_has_driver "$evil" && fail "the denied keyboard has a driver"
[ "$(grep -c 'QEMU USB Keyboard' /proc/bus/input/devices)" = "$before" ] || fail "the denied keyboard got an input device"
got=$(key_events b)
[ -z "$got" ] || fail "keys to the denied keyboard produced input on: $got"
log "keys to the denied keyboard: no input event"

# unplugged, the allowed keyboard is the last one again: its keys still arrive
hotplug device_del k2 || fail "device_del k2"
wait_until 30 usb_absent_dir "$evil" || fail "k2 still present"
got=$(key_events c)
echo "$got" | grep -qx "$node" || fail "after the denied keyboard left, no event on $node (input on: ${got:-none})"

bpfsh_stop
expect_rc 0
