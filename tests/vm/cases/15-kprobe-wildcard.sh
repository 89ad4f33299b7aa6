# vmtest: kprobe/kretprobe wildcards attach one program to every match (kprobe_multi) and func names the function
. /cases/lib.sh

bpfsh_start -e '
kprobe:vfs_rea* /comm == "cat"/ { @k[func] = count(); }
kretprobe:vfs_rea* /comm == "cat"/ { @r[func] = count(); }
tracepoint:syscalls:sys_enter_read /comm == "cat"/ { @tracepoint = count(); }'
cat /cases/lib.sh >>"$VT/sink"
bpfsh_stop
expect_rc 0
tp=$(map_value tracepoint)
[ "${tp:-0}" -ge 2 ] || fail "the tracepoint saw ${tp:-no} read(2)s of cat, want >= 2"
expect "^@k\[vfs_read\]: $tp\$"
expect "^@r\[vfs_read\]: $tp\$"
