# vmtest: xhci-hcd tracepoints see the boot keyboard and a hot-plugged stick come and go; sysfs has their ids
. /cases/lib.sh

# Run first (before any case has called usb_up), this case also sees the boot-present keyboard
# being enumerated: the drivers are loaded, bpfsh attaches, then xhci-pci brings the controller up.
boot=
usb_is_up || boot=1
usb_load_drivers
kernel_has tp:xhci-hcd:xhci_alloc_dev || fail "no xhci-hcd:xhci_alloc_dev tracepoint"
bpfsh_start -e '
tracepoint:xhci-hcd:xhci_alloc_dev { @alloc = count(); printf("xhci slot allocated\n"); }
tracepoint:xhci-hcd:xhci_free_dev { @free = count(); printf("xhci slot freed\n"); }
tracepoint:module:module_load { printf("module %s loaded\n", str(args.name)); }'
usb_up
stick_add s1
stick_del s1
wait_output 'xhci slot freed'
bpfsh_stop
expect_rc 0

if [ -n "$boot" ]; then
	expect '^module xhci_pci loaded$'
	expect_map alloc 2 # the boot keyboard and the stick
else
	log "the USB stack was up before this case: only the hot-plug is seen"
	expect_map alloc 1
fi
expect_map free 1

# sysfs: QEMU's ids and names (the boot keyboard is still there)
k=$(usb_dev "$KBD_VID" "$KBD_PID" | head -1)
[ -n "$k" ] || fail "no $KBD_VID:$KBD_PID device: $(usb_list)"
[ "$(cat "$k/product")" = "QEMU USB Keyboard" ] || fail "keyboard product is '$(cat "$k/product")'"
