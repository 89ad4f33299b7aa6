# vmtest: fentry/fexit on usb_new_device read BTF-typed fields: QEMU's vendor:product ids and product string
. /cases/lib.sh
need_module_btf

usb_up
bpfsh_start -e '
fentry:usb_new_device { printf("fentry %04x:%04x\n", args.udev->descriptor.idVendor, args.udev->descriptor.idProduct); }
fexit:usb_new_device { printf("fexit %04x:%04x %s ret %d\n", args.udev->descriptor.idVendor, args.udev->descriptor.idProduct, str(args.udev->product), retval); }'
stick_add s1
wait_output '^fexit 46f4:0001'
kbd_add k1
wait_output '^fexit 0627:0001'
bpfsh_stop
expect_rc 0
expect '^fentry 46f4:0001$'
expect '^fentry 0627:0001$'
# udev->product is read during usb_new_device, so fexit sees it
expect '^fexit 46f4:0001 QEMU USB HARDDRIVE ret 0$'
expect '^fexit 0627:0001 QEMU USB Keyboard ret 0$'
[ "$(grep -c '^fentry' "$BPFSH_OUT")" = 2 ] || fail "want exactly 2 fentry lines"
