# vmtest: syscall-firewall.bt: socket(2) fails with EPERM for processes named nc, not for others; works again after bpfsh exits
. /cases/lib.sh
need_file /examples/syscall-firewall.bt
# Debian's 5.10 boots without the BPF LSM in lsm= (its 6.x kernels have it).
grep -qw bpf /sys/kernel/security/lsm || skip "the BPF LSM is not active (lsm=$(cat /sys/kernel/security/lsm))"

# nothing listens on port 9: a working socket(2) ends in "Connection refused"
nc_out() { "$@" 127.0.0.1 9 </dev/null 2>&1; }
out=$(nc_out nc)
case $out in *"Connection refused"*) ;; *) fail "before: nc said: $out" ;; esac

bpfsh_start --unsafe /examples/syscall-firewall.bt nc
expect '^syscall-firewall: socket\(2\) fails with EPERM for processes named nc$'
out=$(nc_out nc)
case $out in *"Operation not permitted"*) log "nc: $out" ;; *) fail "nc under the firewall: want EPERM, got: $out" ;; esac
# the same program under another name (comm "busybox") is untouched
out=$(nc_out busybox nc)
case $out in *"Connection refused"*) ;; *) fail "busybox nc under the firewall: $out" ;; esac
wait_output '^refused socket\(2, 1, 0\) to nc \(pid [0-9]+\)$'
bpfsh_stop
expect_rc 0
[ "$(grep -c '^refused' "$BPFSH_OUT")" = 1 ] || fail "want exactly one refusal"

out=$(nc_out nc)
case $out in *"Connection refused"*) ;; *) fail "after bpfsh exited: nc said: $out" ;; esac
