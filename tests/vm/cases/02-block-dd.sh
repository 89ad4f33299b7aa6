# vmtest: a block tracepoint counts exactly the 2048 sectors of a 1 MiB direct dd from the USB stick
. /cases/lib.sh

usb_up
stick_add s1
dd if="$STICK_DEV" bs=512 count=1 2>/dev/null | grep -q BPFSH-VMTEST-STICK || fail "sector 0 of $STICK_DEV is not the stick's header"
log "stick model: $(cat /sys/block/"$STICK_DISK"/device/model)"
# the kernel's dev_t: major << 20 | minor
dev=$(cat /sys/block/"$STICK_DISK"/dev)
devt=$(((${dev%%:*} << 20) | ${dev#*:}))
bpfsh_start -e "tracepoint:block:block_rq_complete /args.dev == $devt/ { @sectors = sum(args.nr_sector); @requests = count(); }"
dd if="$STICK_DEV" of=/dev/null bs=4096 count=256 iflag=direct
bpfsh_stop
expect_rc 0
expect_map sectors 2048
expect_map requests 256
