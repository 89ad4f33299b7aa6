# vmtest: kretprobe:usb_new_device sees retval 0 for one hot-plugged usb-storage
. /cases/lib.sh

usb_up
bpfsh_start -e 'kretprobe:usb_new_device { @ret[retval] = count(); }'
stick_add s1
bpfsh_stop
expect_rc 0
expect_map ret 0 1
