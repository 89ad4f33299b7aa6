# vmtest: kprobe:F attaches to F's compiler clone (finish_task_switch.isra.0) and fires, named as written; an absent F is a positioned error with the nearest names
. /cases/lib.sh

# A function the kernel can trace only under a GCC suffix (finish_task_switch.isra.0 on 6.12).
aff=/sys/kernel/tracing/available_filter_functions
fn=finish_task_switch
if grep -q "^$fn\$" $aff || ! grep -q "^$fn\.[a-z]" $aff; then
	fn=$(sed -n 's/^\([a-z_0-9]*\)\.isra\.0$/\1/p' $aff | while read -r f; do
		grep -q "^$f\$" $aff || { echo "$f"; break; }
	done)
	[ -n "$fn" ] || skip "no traceable function exists only as NAME.isra.0"
fi
log "function only suffixed: $fn ($(grep -m1 "^$fn\." $aff))"
bpfsh_start -e "kprobe:$fn { @[probe] = count(); } kretprobe:$fn { @r = count(); }"
sleep 1
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
