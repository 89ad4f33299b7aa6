# vmtest: -l lists kernel functions for kprobes and fentry; -lv prints a function's BTF-typed arguments (module BTF too)
. /cases/lib.sh

out=$VT/list.txt
bpfsh -l 'kprobe:usb_new_dev*' >"$out" 2>&1 || fail "bpfsh -l kprobe failed: $(cat "$out")"
grep -q '^kprobe:.*usb_new_device$' "$out" || fail "-l kprobe:usb_new_dev* does not list usb_new_device: $(cat "$out")"
need_module_btf
bpfsh -lv 'fentry:usb_new_device' >"$out" 2>&1 || fail "bpfsh -lv fentry failed: $(cat "$out")"
grep -q 'fentry:.*usb_new_device' "$out" || fail "-lv does not name the function: $(cat "$out")"
grep -Eq '^    struct usb_device \* udev$' "$out" || fail "-lv does not show the typed argument: $(cat "$out")"
bpfsh -lv 'fexit:vfs_read' >"$out" 2>&1 || fail "bpfsh -lv fexit failed: $(cat "$out")"
grep -Eq '^    .* retval$' "$out" || fail "-lv fexit shows no retval: $(cat "$out")"
exit 0
