# vmtest: bpfsh --info says which kernel probe types work, and each one it lists attaches exactly when it says so
# vmtest-timeout: 180
. /cases/lib.sh

bpfsh --info >"$VT/info" 2>&1 || fail "bpfsh --info: $(cat "$VT/info")"
cat "$VT/info"
grep -q '^  kprobe: *yes' "$VT/info" || fail "a stock kernel has kprobes, --info says otherwise"
for probe in 'kprobe:vfs_read' 'kretprobe:vfs_read' 'fentry:vfs_read' 'fexit:vfs_read' 'tracepoint:sched:sched_switch' 'rawtracepoint:sched_switch'; do
	kind=${probe%%:*}
	if grep -q "^  $kind: *yes" "$VT/info"; then want=0; else want=1; fi
	got=0
	bpfsh --dry-run -e "$probe { }" >"$VT/out" 2>&1 || got=1
	[ "$got" = "$want" ] || fail "--info on $kind disagrees with --dry-run -e '$probe { }': $(cat "$VT/out")"
done
