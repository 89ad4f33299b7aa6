# vmtest: override(): fmod_ret, and kprobe/fentry turned into fmod_ret, change security_file_open's return value (seen by fexit and cat); bpf_modify_return_test loads; usb_new_device is refused before loading
# vmtest-timeout: 120
. /cases/lib.sh

# fmod_ret replaces the return value; fexit sees what the caller gets
bpfsh_start --unsafe -e '
fmod_ret:security_file_open /comm == "cat"/ { override(EACCES); }
fexit:security_file_open /comm == "cat"/ { printf("cat: security_file_open returned %d\n", retval); }'
out=$(cat /etc/vmtest/env 2>&1) && fail "cat read the file under fmod_ret: $out"
case $out in *"Permission denied"*) ;; *) fail "cat: want EACCES, got: $out" ;; esac
wait_output '^cat: security_file_open returned -13$'
bpfsh_stop
expect_rc 0
cat /etc/vmtest/env >/dev/null || fail "cat fails after bpfsh exited"

# kprobe and fentry with override(): no bpf_override_return in Debian's kernel, so bpfsh uses fmod_ret
bpfsh_start --unsafe -e '
kprobe:security_file_open /comm == "head"/ { override(EPERM); }
fentry:security_file_open /comm == "wc"/ { override(-ENOENT); }
fexit:security_file_open /comm == "head" || comm == "wc"/ { printf("%s: %d\n", comm, retval); }'
expect '^Attached 3 probes'
out=$(head -1 /etc/vmtest/env 2>&1) && fail "head read the file: $out"
case $out in *"Operation not permitted"*) ;; *) fail "head: want EPERM, got: $out" ;; esac
out=$(wc -l /etc/vmtest/env 2>&1) && fail "wc read the file: $out"
case $out in *"No such file or directory"*) ;; *) fail "wc: want ENOENT, got: $out" ;; esac
wait_output '^head: -1$'
wait_output '^wc: -2$'
cat /etc/vmtest/env >/dev/null || fail "cat was refused too"
bpfsh_stop
expect_rc 0
head -1 /etc/vmtest/env >/dev/null || fail "head fails after bpfsh exited"

# a function the kernel marks modifiable for its own tests: loads and attaches
# Before 6.2 a function is modifiable only through the error-injection list, which Debian's
# kernels lack (no CONFIG_FUNCTION_ERROR_INJECTION); 6.2 added the fmod_ret BTF id set that
# admits bpf_modify_return_test.
if kernel_at_least 6.2; then
	bpfsh_run --unsafe --dry-run -e 'fmod_ret:bpf_modify_return_test { override(1234); }'
	expect_rc 0
else
	log "fmod_ret:bpf_modify_return_test not checked: modifiable only from Linux 6.2 on Debian's kernels"
fi

# lsm with a computed errno: positive values are errnos (where the BPF LSM is active: Debian's
# 5.10 boots without it)
if grep -qw bpf /sys/kernel/security/lsm; then
	bpfsh_start --unsafe -e 'lsm:file_open /comm == "cat"/ { $e = 13; override($e); }'
	out=$(cat /etc/vmtest/env 2>&1) && fail "cat read the file under lsm: $out"
	case $out in *"Permission denied"*) ;; *) fail "cat under lsm: want EACCES, got: $out" ;; esac
	bpfsh_stop
	expect_rc 0
else
	log "lsm:file_open not checked: the BPF LSM is not active (lsm=$(cat /sys/kernel/security/lsm))"
fi

# not overridable: refused before anything is loaded, with how to list what is
bpfsh_run --unsafe -e 'kprobe:usb_new_device { override(EPERM); }'
[ "$BPFSH_RC" != 0 ] || fail "override on usb_new_device was accepted"
expect "error: the kernel does not let BPF replace what usb_new_device returns: .*list them with: bpfsh -l 'override:\*usb\*'"
expect_not '^Attach(ing|ed) '
bpfsh_run --unsafe -e 'fmod_ret:usbcore:usb_probe_interface { override(-1); }'
[ "$BPFSH_RC" != 0 ] || fail "fmod_ret on usb_probe_interface was accepted"
expect "does not let BPF replace what usb_probe_interface returns"
# without --unsafe, the statement that needs it is named
bpfsh_run -e 'fmod_ret:security_file_open { override(EPERM); }'
expect "^stdin:1:31: error: override\(\) is a destructive action: run bpfsh with --unsafe to allow it"

# the listing: nothing for usb, security_file_open through fmod_ret, hooks for lsm
bpfsh_run -l 'override:*usb*'
expect_rc 0
[ ! -s "$BPFSH_OUT" ] || fail "override:*usb* listed something"
bpfsh_run -l 'override:security_file_*'
expect '^fmod_ret:security_file_open$'
expect_not '^kprobe:'
bpfsh_run -lv 'lsm:file_open'
expect '^lsm:file_open$'
expect '^    struct file \* file$'
