# vmtest: a host controller hot-plugged while usb:device rules run is taken over: its root hubs' authorization defaults are 0 while bpfsh runs and as before after it exits, and a keyboard plugged into it is judged (denied: no driver)
# vmtest-timeout: 180
. /cases/lib.sh

usb_up
cat >"$VT/guard.bt" <<'BT'
usb:device /serial == "evil"/ { deny; }
usb:device { allow; }
BT
hubs_before=$(ls -d /sys/bus/usb/devices/usb* | sort)
bpfsh_start --unsafe "$VT/guard.bt"

# a second xHCI controller on the PCI bus: two new root hubs (USB 2 and 3)
hotplug device_add "qemu-xhci,id=xhci2" || fail "device_add qemu-xhci"
_new_hubs() {
	NEW_HUBS=$(ls -d /sys/bus/usb/devices/usb* | sort | grep -vxF "$hubs_before")
	[ "$(echo "$NEW_HUBS" | grep -c usb)" -ge 2 ]
}
wait_until 60 _new_hubs || fail "no two new root hubs within 60s of plugging a host controller: $(usb_defaults)"
log "new root hubs: $NEW_HUBS"
_taken() { for h in $NEW_HUBS; do [ "$(cat "$h/authorized_default")" = 0 ] || return 1; done; }
wait_until 10 _taken || fail "the new root hubs' defaults while bpfsh runs: $(usb_defaults)"
log "defaults while bpfsh runs: $(usb_defaults)"

# a keyboard on the new controller is judged like any other
usb_plug "usb-kbd,bus=xhci2.0,id=k9,serial=evil" "$KBD_VID" "$KBD_PID"
evil=$USB_NEW
on_new=
for h in $NEW_HUBS; do
	case $(readlink -f "$evil") in "$(readlink -f "$h")"/*) on_new=${h##*/} ;; esac
done
[ -n "$on_new" ] || fail "the keyboard is not on a new root hub: $(readlink -f "$evil")"
wait_output 'deny device .*serial="evil" .*rule=.*guard.bt:1$'
sleep 1
usb_authorized "$evil" && fail "the denied keyboard on the new controller is authorized"
usb_has_driver "$evil" && fail "the denied keyboard on the new controller has a driver"
log "the keyboard on the new controller: unauthorized, no driver"

bpfsh_stop
expect_rc 0
for h in $NEW_HUBS; do
	[ "$(cat "$h/authorized_default")" = 0 ] && fail "${h##*/}: authorized_default still 0 after exit: $(usb_defaults)"
done
log "defaults after exit: $(usb_defaults)"

# unplug the keyboard, then the controller (QEMU's PCI unplug waits for the guest's ACPI)
hotplug device_del k9 || fail "device_del k9"
wait_until 30 usb_absent_dir "$evil" || fail "k9 still present"
hotplug device_del xhci2 || log "device_del xhci2: $HOTPLUG_REPLY"
_hubs_gone() { for h in $NEW_HUBS; do [ -e "$h" ] && return 1; done; return 0; }
wait_until 30 _hubs_gone || fail "the new root hubs are still there 30s after device_del xhci2"
# gone from the guest (QEMU's DEVICE_DELETED may come after hotplug's 10 s): nothing left to unplug
grep -vx xhci2 "$VT/plugged" >"$VT/plugged.new"
mv "$VT/plugged.new" "$VT/plugged"
