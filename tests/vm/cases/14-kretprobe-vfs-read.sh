# vmtest: kretprobe:vfs_read sums retval over a cat of a file to the file's size
. /cases/lib.sh

size=$(wc -c </cases/lib.sh)
bpfsh_start -e 'kretprobe:vfs_read /comm == "cat"/ { @bytes = sum(retval); }'
# ">>" so that busybox cat uses read(2) (sendfile(2) refuses an O_APPEND output)
cat /cases/lib.sh >>"$VT/sink"
bpfsh_stop
expect_rc 0
expect_map bytes "$size"
