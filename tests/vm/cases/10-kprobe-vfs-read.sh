# vmtest: kprobe:vfs_read counts the reads of a cat (a syscall tracepoint is the oracle)
. /cases/lib.sh

bpfsh_start -e '
kprobe:vfs_read /comm == "cat"/ { @kprobe = count(); }
tracepoint:syscalls:sys_enter_read /comm == "cat"/ { @tracepoint = count(); }'
# ">>" so that busybox cat uses read(2) (sendfile(2) refuses an O_APPEND output), each one vfs_read
cat /cases/lib.sh >>"$VT/sink"
bpfsh_stop
expect_rc 0
tp=$(map_value tracepoint)
kp=$(map_value kprobe)
[ "${tp:-0}" -ge 2 ] || fail "the tracepoint saw ${tp:-no} read(2)s of cat, want >= 2"
[ "$kp" = "$tp" ] || fail "@kprobe is '${kp:-<not printed>}', want $tp (= read(2)s of cat)"
