# vmtest: kprobe:usb_new_device (usbcore) counts one hot-plugged usb-storage; kprobe:usb_disconnect its removal
. /cases/lib.sh

usb_up
bpfsh_start -e '
kprobe:usb_new_device { @new = count(); }
kprobe:usb_disconnect { @gone = count(); }'
stick_add s1
stick_del s1
bpfsh_stop
expect_rc 0
expect_map new 1
expect_map gone 1
