#!/bin/sh
# pid_check.sh TRACER TRIG: checks that `pid` seen by a tracepoint is the pid
# of the process that made the system call, and that `pid` in BEGIN is the
# tracer's own. Prints TRIG-PID-MATCH and BEGIN-PID-MATCH on success.
set -u
tracer=$1 trig=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$tracer" -e 't:syscalls:sys_enter_getppid /comm == "trig"/ { printf("pid=%d\n", pid); } i:s:2 { exit(); }' >"$out" 2>&1 &
b=$!
i=0
until grep -q -e '^Attach' -e '^__BPFTRACE_NOTIFY_PROBES_ATTACHED' "$out"; do
	i=$((i + 1))
	[ $i -gt 200 ] && break
	sleep 0.05
done
"$trig" getppid 1 &
t=$!
wait $t
wait $b
cat "$out"
grep -q "^pid=$t\$" "$out" && echo TRIG-PID-MATCH

"$tracer" -e 'BEGIN { printf("pid=%d\n", pid); exit(); }' >"$out" 2>&1 &
b=$!
wait $b
cat "$out"
grep -q "^pid=$b\$" "$out" && echo BEGIN-PID-MATCH
exit 0
