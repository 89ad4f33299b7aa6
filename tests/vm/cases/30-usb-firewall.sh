# vmtest: usb-firewall.bt denies the stick (46f4:0001): its disk and usbfs node fail with EPERM; an allowed usb-uas disk (46f4:0003), a reused disk name and a keyboard work; all open again after bpfsh exits
# vmtest-timeout: 150
. /cases/lib.sh
need_file /examples/usb-firewall.bt
need_module_btf

usb_up
bpfsh_start --unsafe /examples/usb-firewall.bt 0x46f4 0x0001
expect '^usb-firewall: denying 46f4:0001$'

# the denied stick: enumerated and bound as usual, but no process may open its nodes
stick_add s1
wait_output "^denied 46f4:0001 at /dev/bus/usb/[0-9]{3}/[0-9]{3}$"
wait_output "^denied 8:[0-9]+ $STICK_DISK\$"
node=$(usbfs_node "$STICK_VID" "$STICK_PID") || fail "no usbfs node for the stick"
expect_eperm "$STICK_DEV" "denied stick's disk"
expect_eperm "$node" "denied stick's usbfs node"
usb_bound "$STICK_VID" "$STICK_PID" usb-storage || fail "the denied stick is not bound to usb-storage"
wait_output "^refused dd \\(pid [0-9]+\\) opening 8:"
wait_output "^refused dd \\(pid [0-9]+\\) opening 189:"

# unplugged, its disk name is free: the allowed usb-uas disk may get it and must open
old=$STICK_DISK
stick_del s1
uas_add u1
log "the allowed disk is $UAS_DISK (the denied one was $old)"
expect_read "$UAS_DEV" "allowed usb-uas disk"
dd if="$UAS_DEV" bs=512 count=1 2>/dev/null | grep -q BPFSH-VMTEST-UAS || fail "sector 0 of $UAS_DEV is not stick2's header"
expect_read "$(usbfs_node "$UAS_VID" "$UAS_PID")" "allowed usb-uas usbfs node"

# the stick again (another device number), and a keyboard
stick_add s1
node=$(usbfs_node "$STICK_VID" "$STICK_PID")
expect_eperm "$STICK_DEV" "re-plugged denied stick's disk"
expect_eperm "$node" "re-plugged denied stick's usbfs node"
kbd_add k1
for d in $(usb_dev "$KBD_VID" "$KBD_PID"); do
	expect_read "$(printf '/dev/bus/usb/%03d/%03d' "$(cat "$d/busnum")" "$(cat "$d/devnum")")" "keyboard ${d##*/}"
done
expect_read "$UAS_DEV" "allowed usb-uas disk, still"

bpfsh_stop
expect_rc 0
# after bpfsh exits, the kernel enforces nothing any more
expect_read "$STICK_DEV" "the stick's disk after bpfsh exited"
expect_read "$node" "the stick's usbfs node after bpfsh exited"
