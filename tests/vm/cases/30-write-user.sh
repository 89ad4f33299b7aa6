# vmtest: write_user() rewrites a path in the traced process's memory (bpf_probe_write_user;
# the build machine's kernel is in lockdown and refuses the helper)
. /cases/lib.sh

# The path is one the traced shell wrote itself (a redirection's word, expanded into its heap),
# not an argv string: bpf_probe_write_user cannot take a page fault, and before Linux 5.19 exec's
# mprotect of the new stack leaves argv's page read-only until the process writes to it. Whether
# `cat aaaa` wrote that page depends on the random gap below the strings (12 of 20 on 5.10).
cd "$VT" || fail "no $VT"
echo original >aaaa
echo redirected >bbbb
bpfsh_start --unsafe -e 't:syscalls:sys_enter_openat /comm == "sh" && str(args.filename) == "aaaa"/ { $len = pid > 0 ? 4 : 0; if (write_user(args.filename, "bbbb", $len)) { @wrote = count(); } }'
out=$(sh -c 'read -r x <aaaa; echo "$x"')
bpfsh_stop
expect_rc 0
[ "$out" = redirected ] || fail "the shell read '$out', want redirected"
expect_map wrote 1

# A constant length, and an integer written as its 8 bytes (here to a bad address: false).
bpfsh_run --unsafe -e 't:syscalls:sys_enter_openat /comm == "sh" && str(args.filename) == "aaaa"/ { @ok = write_user(args.filename, "bbbb", 4); @bad = write_user(0, 5, 8); exit(); }' -c "sh -c 'read -r x <aaaa; echo \$x'"
expect_rc 0
expect '^redirected$'
expect_map ok true
expect_map bad false
