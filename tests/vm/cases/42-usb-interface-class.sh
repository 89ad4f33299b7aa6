# vmtest: usb:interface rules: class 03 (HID) leaves every keyboard's interface unbound while a stick works; on usb-audio, denying the streaming interface (01/02) leaves it unbound and the control interface bound
# vmtest-timeout: 200
. /cases/lib.sh

usb_up
usb_more_drivers
cat >"$VT/ifc.bt" <<'BT'
usb:interface /ifclass == 0x03/ { deny; }
usb:interface /ifclass == 0x01 && ifsubclass == 0x02/ { deny; }
usb:interface { allow; }
BT
kbd0=$(usb_dev "$KBD_VID" "$KBD_PID")
bpfsh_start --unsafe "$VT/ifc.bt"
# the boot keyboard's HID interface, present at start, is unbound
wait_output 'deny interface port="[0-9.-]+:1.0" vendor=0627 product=0001 .*ifclass=03 .*rule=.*ifc.bt:1$'
wait_until 30 _unbound "$kbd0/${kbd0##*/}:1.0" || fail "the boot keyboard's HID interface is still bound"
usb_authorized "$kbd0" || fail "the keyboard device itself was de-authorized (only its interface is denied)"

# a hot-plugged keyboard: its HID interface gets no driver
usb_plug "usb-kbd,bus=xhci.0,id=k1" "$KBD_VID" "$KBD_PID"
k1=$USB_NEW
wait_output "deny interface port=\"${k1##*/}:1.0\" .*ifclass=03 "
sleep 1
usb_has_driver "$k1" && fail "the hot-plugged keyboard's HID interface has a driver"
log "keyboards: HID interfaces unbound"

# a stick works
stick_add s1
expect_read "$STICK_DEV" "the stick's disk"
expect 'allow interface port="[0-9.:-]+" vendor=46f4 product=0001 .*ifclass=08 .*rule=.*ifc.bt:3$'

# usb-audio: control (01/01) and streaming (01/02) interfaces; the streaming one is denied.
# (Two root ports free first: QEMU chains a hub of its own onto the last free one, and it stays.)
stick_del s1
kbd_del k1
hotplug device_add "usb-audio,bus=xhci.0,id=a1,audiodev=snd0" || fail "device_add usb-audio"
wait_until 60 _audio_dev || fail "usb-audio not enumerated: $(usb_list)"
wait_output 'deny interface port="[0-9.:-]+" vendor=46f4 product=0002 .*ifclass=01 ifsubclass=02 .*rule=.*ifc.bt:2$'
wait_until 30 _audio_ctl_bound || { ls -l "$AUDIO"/*:*/; fail "usb-audio's control interface is not bound to snd-usb-audio"; }
for i in "$AUDIO"/*:*; do
	[ "$(cat "$i/bInterfaceSubClass")" = 02 ] || continue
	[ -e "$i/driver" ] && fail "usb-audio's streaming interface ${i##*/} is bound"
	usb_authorized "$i" && fail "usb-audio's streaming interface ${i##*/} is authorized"
done
log "usb-audio: control interface bound, streaming interfaces unbound"

bpfsh_stop
expect_rc 0
