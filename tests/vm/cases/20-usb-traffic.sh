# vmtest: examples/usb-traffic.bt reports the bytes of a 1 MiB dd from the USB stick (within URB rounding)
# vmtest-timeout: 90
. /cases/lib.sh

need_file /examples/usb-traffic.bt
usb_up
stick_add s1
bpfsh_start /examples/usb-traffic.bt
# 256 direct reads of 4096 bytes: each is one SCSI READ(10) -> a 31-byte CBW out, 4096 bytes in,
# a 13-byte CSW in; the page cache and readahead are out of the way (iflag=direct).
dd if="$STICK_DEV" of=/dev/null bs=4096 count=256 iflag=direct
bpfsh_stop
expect_rc 0

# The stick's line(s): name it by its ids (46f4:0001) or product string; some plain integer on them
# must be the byte count: >= 1 MiB (the data) and < 1 MiB + 128 KiB (CBW/CSW and control URBs).
lines=$(grep -Ei '46f4:0001|QEMU USB HARDDRIVE' "$BPFSH_OUT")
[ -n "$lines" ] || fail "usb-traffic.bt printed no line naming the stick (46f4:0001 / QEMU USB HARDDRIVE)"
ok=$(echo "$lines" | tr -c '0-9\n' ' ' | tr ' ' '\n' | awk '$1 >= 1048576 && $1 < 1048576 + 131072 { print; exit }')
[ -n "$ok" ] || fail "no byte count in [1048576, 1179648) on the stick's lines: $(echo "$lines" | tr '\n' ' ')"
log "bytes for the stick: $ok (1 MiB of data = 1048576)"
