# vmtest: bpfsh runs in the guest: BEGIN, a syscall tracepoint; the kernel has what the other cases need
. /cases/lib.sh

log "kernel $(uname -r)"
case $(uname -r) in 6.12.*) ;; *) log "note: not a 6.12 kernel" ;; esac

bpfsh_run -e 'BEGIN { printf("hello from %s\n", "the vm"); exit(); }'
expect_rc 0
expect '^hello from the vm$'

# A tracepoint counts the read(2)s of a cat. ">>": busybox cat tries sendfile(2) first, which
# refuses an O_APPEND output, so it falls back to read(2) (to /dev/null it would never read(2)).
bpfsh_start -e 'tracepoint:syscalls:sys_enter_read /comm == "cat"/ { @reads = count(); }'
cat /cases/lib.sh >>"$VT/sink"
bpfsh_stop
expect_rc 0
n=$(map_value reads)
[ "${n:-0}" -ge 2 ] || fail "@reads is '${n:-<not printed>}', want >= 2 (data + EOF)"

# What the kernel-probe cases rely on.
kernel_has kprobes || fail "no /sys/kernel/tracing/kprobe_events"
kernel_has btf:vmlinux || fail "no vmlinux BTF"
# Module BTF came in 5.11: older kernels skip the cases that need it (need_module_btf).
kernel_has btf:usbcore || kernel_at_least 5.11 || log "no module BTF before Linux 5.11: the fentry cases on usbcore skip"
kernel_has btf:usbcore || ! kernel_at_least 5.11 || fail "no usbcore module BTF (/sys/kernel/btf/usbcore)"
grep -q '^usb_new_device \[usbcore\]' /sys/kernel/tracing/available_filter_functions ||
	fail "usb_new_device is not in available_filter_functions"
