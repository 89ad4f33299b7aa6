# vmtest: write_user() rewrites a path in the traced process's memory (bpf_probe_write_user;
# the build machine's kernel is in lockdown and refuses the helper)
. /cases/lib.sh

cd "$VT" || fail "no $VT"
echo original >aaaa
echo redirected >bbbb
bpfsh_start --unsafe -e 't:syscalls:sys_enter_openat /comm == "cat" && str(args.filename) == "aaaa"/ { $len = pid > 0 ? 4 : 0; if (write_user(args.filename, "bbbb", $len)) { @wrote = count(); } }'
out=$(cat aaaa)
bpfsh_stop
expect_rc 0
[ "$out" = redirected ] || fail "cat read '$out', want redirected"
expect_map wrote 1

# A constant length, and an integer written as its 8 bytes (here to a bad address: false).
bpfsh_run --unsafe -e 't:syscalls:sys_enter_openat /comm == "cat" && str(args.filename) == "aaaa"/ { @ok = write_user(args.filename, "bbbb", 4); @bad = write_user(0, 5, 8); exit(); }' -c 'cat aaaa'
expect_rc 0
expect '^redirected$'
expect_map ok true
expect_map bad false
