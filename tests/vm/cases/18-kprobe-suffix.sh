# vmtest: kprobe:F attaches to F's compiler clone (finish_task_switch.isra.0, copy_strings.isra.0) and fires, named as written; an absent F is a positioned error with the nearest names
. /cases/lib.sh

# A function the kernel can trace only under a GCC suffix and that this case surely triggers:
# finish_task_switch (every context switch; .isra.0 on 6.1 and 6.12), copy_strings (every
# execve; .isra.0 on 5.10), link_path_walk (every path lookup). The first one that is suffixed
# only on this kernel; not just any such function, most never run in this guest.
aff=/sys/kernel/tracing/available_filter_functions
fn=
for f in finish_task_switch copy_strings link_path_walk; do
	if ! grep -q "^$f\$" $aff && grep -q "^$f\.[a-z]" $aff; then fn=$f; break; fi
done
[ -n "$fn" ] || skip "none of finish_task_switch, copy_strings, link_path_walk is traceable only under a compiler suffix here"
log "function only suffixed: $fn ($(grep -m1 "^$fn\." $aff))"
bpfsh_start -e "kprobe:$fn { @[probe] = count(); } kretprobe:$fn { @r = count(); }"
for i in 1 2 3; do cat /proc/self/stat >/dev/null; sleep 0.2; done
bpfsh_stop
expect_rc 0
n=$(map_value "" "kprobe:$fn")
[ "${n:-0}" -ge 1 ] || fail "@[kprobe:$fn] is '${n:-<not printed>}', want >= 1"

# A typo: the error is positioned and suggests the real name.
bpfsh_run --dry-run -e 'BEGIN { }
kprobe:vfs_reed { }'
expect_rc 1
expect "^stdin:2:1: error: no function vfs_reed in the kernel's traceable functions\$"
expect '^\^~~~~~~~~~~~~~~$'
expect '^hint: did you mean vfs_read'
