# tests/vm/cases/lib.sh — helpers for vmtest cases; a case starts with `. /cases/lib.sh`.
#
# A case is a busybox sh script run by the guest's /init from a scratch directory; its exit status
# is the verdict: 0 PASS, 77 SKIP (skip "why"), anything else FAIL (fail "why"). Everything it
# prints goes to the guest console, which the host shows when the case fails.
#
# Guest layout: bpfsh is /bin/bpfsh, cases and this file are in /cases, the repository's examples/
# in /examples, modules in /modules. fd 3 is the protocol port to the host (ttyS1).
#
# USB: qemu-xhci (bus xhci.0) with a usb-kbd (id kbd0) present at boot; at the start of a case only
# usbcore (+ usb-common) is loaded. usb_up loads the rest (hid, usbhid, sd_mod, usb-storage, xhci).
# The host has a block node "stick" (16 MiB, "BPFSH-VMTEST-STICK" in sector 0) to plug as usb-storage,
# and "stick2" ("BPFSH-VMTEST-UAS") to plug as the disk of a usb-uas device (uas_add).
# QEMU's ids: usb-storage 46f4:0001 "QEMU USB HARDDRIVE", usb-uas 46f4:0003, usb-kbd 0627:0001
# "QEMU USB Keyboard", root hubs 1d6b:0002 / 1d6b:0003.
# usb_more_drivers loads evdev, cdc_ether and snd-usb-audio (modules/usbmore.list); QEMU has an
# audio backend "snd0" for a hot-plugged usb-audio (46f4:0002). QEMU chains a usb-hub of its own
# onto the last free root port when a device is plugged there, and it stays: keep two ports free.

BPFSH=${BPFSH:-/bin/bpfsh}
VT=/tmp/vmtest
mkdir -p "$VT"
# fd 3 is the protocol port (open already when /init runs the case; opened here in a --shell)
[ -e /proc/$$/fd/3 ] || exec 3<>/dev/ttyS1
STICK_VID=46f4 STICK_PID=0001
UAS_VID=46f4 UAS_PID=0003
KBD_VID=0627 KBD_PID=0001

up() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$(up)] $*"; }
fail() { log "FAIL: $*"; echo "$*" >"$VT/reason"; exit 1; }
skip() { log "SKIP: $*"; echo "$*" >"$VT/reason"; exit 77; }
host_log() { echo "@@LOG $*" >&3; }

# wait_until SECS CMD...: run CMD every 0.1 s until it succeeds; 1 when SECS pass first.
wait_until() {
	_wu_end=$(($(cut -d. -f1 /proc/uptime) + $1))
	shift
	while ! "$@"; do
		[ "$(cut -d. -f1 /proc/uptime)" -ge "$_wu_end" ] && return 1
		sleep 0.1
	done
	return 0
}

# hotplug HMP-COMMAND: have the host run a QEMU monitor command (device_add/device_del/...).
# Returns when QEMU has done it (device_del: when QEMU reported DEVICE_DELETED), not when the
# guest kernel has noticed: wait for that separately. HOTPLUG_REPLY holds the host's answer.
hotplug() {
	set -- $*
	while read -r -t 0.05 _stale <&3; do log "hotplug: dropped a stale answer: $_stale"; done
	echo "@@HOTPLUG $*" >&3
	HOTPLUG_REPLY=
	if ! read -r -t 40 HOTPLUG_REPLY <&3; then
		log "hotplug '$*': no answer from the host"
		return 1
	fi
	log "hotplug '$*': ${HOTPLUG_REPLY#@@ACK }"
	case $HOTPLUG_REPLY in "@@ACK ok"*) ;; *) return 1 ;; esac
	# remember what we plugged so that /init unplugs it after the case
	_hp_id=$(echo "$*" | sed -n 's/.*[,[:space:]]id=\([^,[:space:]]*\).*/\1/p')
	case $1 in
	device_add) [ -n "$_hp_id" ] && echo "$_hp_id" >>"$VT/plugged" ;;
	device_del) [ -f "$VT/plugged" ] && { grep -vx "$2" "$VT/plugged" >"$VT/plugged.new"; mv "$VT/plugged.new" "$VT/plugged"; } ;;
	esac
	return 0
}

# ---------------------------------------------------------------- USB

# usb_up: load the USB stack (idempotent) and wait for the boot keyboard to be bound to usbhid.
# xhci-pci comes last: loading it makes the controller appear and enumerates the keyboard.
usb_up() {
	_was_up=1
	usb_is_up || _was_up=
	usb_load_drivers
	_usb_insmod $(grep -E '/xhci[-_]pci\.ko' /modules/usb.list)
	wait_until 60 usb_bound "$KBD_VID" "$KBD_PID" usbhid || fail "boot usb-kbd not bound to usbhid within 60s: $(usb_list)"
	[ -n "$_was_up" ] || log "USB stack up: $(usb_list)"
}
# usb_is_up: the host controller driver is loaded (so the boot keyboard has been enumerated).
usb_is_up() { [ -d /sys/module/xhci_pci ]; }
# usb_load_drivers: every USB module but xhci-pci (so nothing is enumerated yet; the xhci-hcd
# tracepoints exist from here on).
usb_load_drivers() {
	while read -r ko params; do
		case $ko in */xhci-pci.ko | */xhci_pci.ko | "") continue ;; esac
		_usb_insmod "$ko" $params
	done </modules/usb.list
}
_usb_insmod() { # FILE [PARAMS]: insmod unless loaded
	_m=${1##*/}; _m=${_m%.ko}; _m=$(echo "$_m" | tr - _)
	[ -d "/sys/module/$_m" ] && return 0
	_f=$1; shift
	insmod "$_f" "$@" || fail "insmod $_f $*"
}

# usb_list: one word per USB device, "BUS-PORT=vid:pid".
usb_list() {
	for d in /sys/bus/usb/devices/*; do
		[ -f "$d/idVendor" ] && printf '%s=%s:%s ' "${d##*/}" "$(cat "$d/idVendor")" "$(cat "$d/idProduct")"
	done
	echo
}

# usb_dev VID PID: print the sysfs directory of every device with these ids.
usb_dev() {
	for d in /sys/bus/usb/devices/*; do
		[ -f "$d/idVendor" ] || continue
		[ "$(cat "$d/idVendor" 2>/dev/null)" = "$1" ] && [ "$(cat "$d/idProduct" 2>/dev/null)" = "$2" ] && echo "$d"
	done
	return 0
}
usb_count() { usb_dev "$1" "$2" | wc -l; }
usb_present() { [ -n "$(usb_dev "$1" "$2")" ]; }
usb_absent() { [ -z "$(usb_dev "$1" "$2")" ]; }
# usb_bound VID PID DRIVER: an interface of such a device is bound to DRIVER.
usb_bound() {
	for d in $(usb_dev "$1" "$2"); do
		for i in "$d"/*:*; do
			[ -e "$i/driver" ] && [ "$(basename "$(readlink "$i/driver")")" = "$3" ] && return 0
		done
	done
	return 1
}

# stick_add [ID]: hot-plug the usb-storage stick (default id s1) and wait for its disk;
# sets STICK_DISK (e.g. sda) and STICK_DEV (/dev/sda).
stick_add() {
	_id=${1:-s1}
	hotplug device_add "usb-storage,bus=xhci.0,drive=stick,id=$_id" || fail "device_add usb-storage"
	wait_until 60 stick_disk_ready || fail "no USB disk appeared within 60s: $(usb_list)"
	log "stick: /dev/$STICK_DISK, $(cat /sys/block/$STICK_DISK/size) sectors, ids $STICK_VID:$STICK_PID"
}
stick_disk_ready() { STICK_DISK=$(usb_disk "$STICK_VID" "$STICK_PID") && STICK_DEV=/dev/$STICK_DISK; }
# usb_disk VID PID: print the disk (sdX, with a size and a node) of the USB device with these ids.
usb_disk() {
	for b in /sys/block/sd*; do
		[ -e "$b" ] || continue
		_ud=$(readlink -f "$b/device")
		while [ -n "$_ud" ] && [ ! -f "$_ud/idVendor" ]; do _ud=${_ud%/*}; done
		[ -n "$_ud" ] && [ "$(cat "$_ud/idVendor")" = "$1" ] && [ "$(cat "$_ud/idProduct")" = "$2" ] || continue
		[ "$(cat "$b/size")" -gt 0 ] 2>/dev/null || continue
		[ -b "/dev/${b##*/}" ] || continue
		echo "${b##*/}"
		return 0
	done
	return 1
}
# usbfs_node VID PID: print the usbfs node (/dev/bus/usb/BBB/DDD) of the first device with these ids.
usbfs_node() {
	_un=$(usb_dev "$1" "$2" | head -1)
	[ -n "$_un" ] || return 1
	printf '/dev/bus/usb/%03d/%03d\n' "$(cat "$_un/busnum")" "$(cat "$_un/devnum")"
}
# stick_del [ID]: unplug it and wait until the kernel has let go of the device.
stick_del() {
	hotplug device_del "${1:-s1}" || fail "device_del ${1:-s1}"
	wait_until 30 usb_absent "$STICK_VID" "$STICK_PID" || fail "usb-storage still present 30s after device_del"
}
# uas_add [ID]: hot-plug a usb-uas device (default id u1; ids 46f4:0003, unlike the stick's) whose
# disk is the host's "stick2", and wait for the disk; sets UAS_DISK and UAS_DEV. QEMU attaches a
# hot-plugged usb-uas to the bus only when told to, once its disk is added.
uas_add() {
	_id=${1:-u1}
	hotplug device_add "usb-uas,bus=xhci.0,id=$_id" || fail "device_add usb-uas"
	hotplug device_add "scsi-hd,bus=$_id.0,scsi-id=0,lun=0,drive=stick2" || fail "device_add scsi-hd on $_id"
	hotplug qom-set "$_id" attached true || fail "qom-set $_id attached true"
	wait_until 60 uas_disk_ready || fail "no usb-uas disk appeared within 60s: $(usb_list)"
	log "uas: /dev/$UAS_DISK, ids $UAS_VID:$UAS_PID"
}
uas_disk_ready() { UAS_DISK=$(usb_disk "$UAS_VID" "$UAS_PID") && UAS_DEV=/dev/$UAS_DISK; }
uas_del() {
	hotplug device_del "${1:-u1}" || fail "device_del ${1:-u1}"
	wait_until 30 usb_absent "$UAS_VID" "$UAS_PID" || fail "usb-uas still present 30s after device_del"
}
# kbd_add ID / kbd_del ID: a second keyboard (the boot one is kbd0).
kbd_add() {
	_kn=$(usb_count "$KBD_VID" "$KBD_PID")
	hotplug device_add "usb-kbd,bus=xhci.0,id=${1:-k1}" || fail "device_add usb-kbd"
	wait_until 60 _kbds_more || fail "hot-plugged usb-kbd not enumerated within 60s: $(usb_list)"
	wait_until 30 _kbds_bound || fail "hot-plugged usb-kbd not bound to usbhid within 30s"
}
kbd_del() {
	_kn=$(usb_count "$KBD_VID" "$KBD_PID")
	hotplug device_del "${1:-k1}" || fail "device_del usb-kbd"
	wait_until 30 _kbds_fewer || fail "usb-kbd still present 30s after device_del: $(usb_list)"
}
_clean() { usb_absent "$STICK_VID" "$STICK_PID" && usb_absent "$UAS_VID" "$UAS_PID" && [ "$(usb_count "$KBD_VID" "$KBD_PID")" -le 1 ]; }
_kbds_more() { [ "$(usb_count "$KBD_VID" "$KBD_PID")" -gt "$_kn" ]; }
_kbds_fewer() { [ "$(usb_count "$KBD_VID" "$KBD_PID")" -lt "$_kn" ]; }
_kbds_bound() { # every keyboard has an interface bound to usbhid
	for d in $(usb_dev "$KBD_VID" "$KBD_PID"); do
		[ -e "$d/${d##*/}:1.0/driver" ] || return 1
	done
}

# ---------------------------------------------------------------- bpfsh

# bpfsh_start ARGS...: run bpfsh in the background (output in $BPFSH_OUT, pid $BPFSH_PID) and
# wait until it says "Attached N probes" (printed once every probe is attached).
_bpfsh_n=0
bpfsh_start() {
	_bpfsh_n=$((_bpfsh_n + 1))
	BPFSH_OUT=$VT/bpfsh.$_bpfsh_n.out
	log "bpfsh $*"
	"$BPFSH" "$@" >"$BPFSH_OUT" 2>&1 </dev/null 3>&- &
	BPFSH_PID=$!
	echo "$BPFSH_PID" >>"$VT/pids"
	if ! wait_until "${BPFSH_ATTACH_TIMEOUT:-60}" _bpfsh_attached; then
		kill -KILL "$BPFSH_PID" 2>/dev/null
		wait "$BPFSH_PID" 2>/dev/null
		bpfsh_show
		fail "bpfsh did not attach within ${BPFSH_ATTACH_TIMEOUT:-60}s"
	fi
	if ! _alive "$BPFSH_PID"; then
		wait "$BPFSH_PID"
		BPFSH_RC=$?
		bpfsh_show
		fail "bpfsh exited (status $BPFSH_RC) before attaching: $(grep -v '^$' "$BPFSH_OUT" | head -1)"
	fi
	log "bpfsh attached (pid $BPFSH_PID)"
}
_alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
_bpfsh_attached() { grep -q '^Attached ' "$BPFSH_OUT" 2>/dev/null || ! _alive "$BPFSH_PID"; }

# bpfsh_stop: SIGINT (as Ctrl-C), wait for it to print its maps and exit; BPFSH_RC is its status.
bpfsh_stop() {
	kill -INT "$BPFSH_PID" 2>/dev/null
	_bpfsh_reap "${BPFSH_STOP_TIMEOUT:-30}" " of SIGINT"
}
# bpfsh_wait [SECS]: wait for a bpfsh that ends by itself (exit(), -c), KILL after SECS (30).
bpfsh_wait() { _bpfsh_reap "${1:-30}" ""; }
# _bpfsh_reap SECS WHY: wait for bpfsh to exit, KILL it after SECS and fail (WHY ends the reason).
_bpfsh_reap() {
	( sleep "$1"; kill -KILL "$BPFSH_PID" 2>/dev/null ) &
	_wd=$!
	wait "$BPFSH_PID"
	BPFSH_RC=$?
	kill "$_wd" 2>/dev/null
	bpfsh_show
	[ "$BPFSH_RC" = 137 ] && fail "bpfsh did not exit within ${1}s$2"
	return 0
}
bpfsh_show() {
	echo "--- bpfsh output (status ${BPFSH_RC:-?}) ---"
	cat "$BPFSH_OUT"
	echo "--- end of bpfsh output ---"
}
# bpfsh_run ARGS...: run bpfsh in the foreground (must end by itself); output in $BPFSH_OUT.
bpfsh_run() {
	_bpfsh_n=$((_bpfsh_n + 1))
	BPFSH_OUT=$VT/bpfsh.$_bpfsh_n.out
	log "bpfsh $*"
	timeout -s KILL "${BPFSH_RUN_TIMEOUT:-60}" "$BPFSH" "$@" >"$BPFSH_OUT" 2>&1 </dev/null 3>&-
	BPFSH_RC=$?
	bpfsh_show
	[ "$BPFSH_RC" = 137 ] && fail "bpfsh did not exit within ${BPFSH_RUN_TIMEOUT:-60}s"
	return 0
}

# try_read FILE: open FILE and read a block; prints "ok", or dd's error ("... Operation not permitted").
try_read() {
	if dd if="$1" of=/dev/null bs=512 count=1 2>"$VT/dd.err"; then echo ok; else grep -v records "$VT/dd.err" | head -1; fi
}
# expect_read FILE WHAT / expect_eperm FILE WHAT: opening FILE works / fails with EPERM.
expect_read() {
	_tr=$(try_read "$1")
	[ "$_tr" = ok ] || fail "$2: reading $1 failed: $_tr"
	log "$2: $1 opens"
}
expect_eperm() {
	_tr=$(try_read "$1")
	case $_tr in *"Operation not permitted"*) ;; *) fail "$2: opening $1: want EPERM, got: $_tr" ;; esac
	log "$2: $1 refused: $_tr"
}

# wait_output REGEX [SECS]: wait until bpfsh (still running) has printed a line matching REGEX.
wait_output() {
	wait_until "${2:-30}" grep -Eq -- "$1" "$BPFSH_OUT" || { bpfsh_show; fail "bpfsh printed no line matching /$1/ within ${2:-30}s"; }
}

# expect REGEX [WHAT]: bpfsh's output has a line matching the extended regular expression.
expect() {
	grep -Eq -- "$1" "$BPFSH_OUT" || fail "${2:-bpfsh output} has no line matching /$1/"
}
# expect_not REGEX [WHAT]
expect_not() {
	! grep -Eq -- "$1" "$BPFSH_OUT" || fail "${2:-bpfsh output} has a line matching /$1/: $(grep -Em1 -- "$1" "$BPFSH_OUT")"
}
# expect_rc N: bpfsh's exit status.
expect_rc() {
	[ "$BPFSH_RC" = "$1" ] || fail "bpfsh exited with status $BPFSH_RC, want $1: $(grep -v '^$' "$BPFSH_OUT" | tail -1)"
}
# map_value NAME [KEY]: the value printed for @NAME (or @NAME[KEY]) at exit, e.g. "@new: 1".
map_value() {
	if [ $# -ge 2 ]; then
		sed -n "s/^@$1\[$2\]: *//p" "$BPFSH_OUT" | tail -1
	else
		sed -n "s/^@$1: *//p" "$BPFSH_OUT" | tail -1
	fi
}
# expect_map NAME [KEY] VALUE: @NAME[KEY] printed with exactly VALUE.
expect_map() {
	if [ $# -ge 3 ]; then _k="[$2]" _v=$(map_value "$1" "$2") _want=$3; else _k='' _v=$(map_value "$1") _want=$2; fi
	[ "$_v" = "$_want" ] || fail "@$1$_k is '${_v:-<not printed>}', want $_want"
}

# need_file PATH: skip the case when PATH (an example someone is still writing) is missing.
need_file() { [ -e "$1" ] || skip "$1 is missing (not written yet)"; }

# kernel_at_least X.Y: the running kernel's release is X.Y or later.
kernel_at_least() {
	_kr=$(uname -r)
	_kmaj=${_kr%%.*} _kmin=${_kr#*.}; _kmin=${_kmin%%[!0-9]*}
	[ "$_kmaj" -gt "${1%%.*}" ] || { [ "$_kmaj" -eq "${1%%.*}" ] && [ "$_kmin" -ge "${1#*.}" ]; }
}
# need_module_btf: skip the case where modules have no BTF (fentry/fexit and typed args on usbcore
# functions need /sys/kernel/btf/usbcore: CONFIG_DEBUG_INFO_BTF_MODULES, Linux 5.11).
need_module_btf() {
	kernel_has btf:usbcore || skip "no module BTF (/sys/kernel/btf/usbcore: CONFIG_DEBUG_INFO_BTF_MODULES, Linux 5.11)"
}

# kernel_has WHAT: a capability of the running kernel ("kprobes", "fentry", "btf:MODULE", "tp:CAT:NAME").
kernel_has() {
	case $1 in
	kprobes) [ -e /sys/kernel/tracing/kprobe_events ] ;;
	btf:*) [ -e "/sys/kernel/btf/${1#btf:}" ] ;;
	tp:*) _t=${1#tp:}; [ -d "/sys/kernel/tracing/events/${_t%%:*}/${_t#*:}" ] ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- USB authorization

# usb_defaults: every root hub's "authorized_default interface_authorized_default", one word each.
usb_defaults() {
	for h in /sys/bus/usb/devices/usb*; do
		[ -f "$h/authorized_default" ] && printf '%s=%s/%s ' "${h##*/}" "$(cat "$h/authorized_default")" "$(cat "$h/interface_authorized_default")"
	done
	echo
}
# usb_auth_reset: authorize every root hub's new devices and interfaces, and every device and
# interface left unauthorized (after a case).
usb_auth_reset() {
	for h in /sys/bus/usb/devices/usb*; do
		[ -f "$h/authorized_default" ] || continue
		[ "$(cat "$h/authorized_default")" = 0 ] && echo 1 >"$h/authorized_default"
		[ "$(cat "$h/interface_authorized_default")" = 0 ] && echo 1 >"$h/interface_authorized_default"
	done
	for a in /sys/bus/usb/devices/*/authorized; do
		[ "$(cat "$a" 2>/dev/null)" = 0 ] || continue
		echo 1 >"$a"
		case ${a%/authorized} in *:*) echo "${a%/authorized}" | sed 's#.*/##' >/sys/bus/usb/drivers_probe ;; esac
	done 2>/dev/null
	return 0
}
# usb_more_drivers: evdev (/dev/input/event*), cdc_ether and snd-usb-audio, for the authorization cases.
usb_more_drivers() {
	while read -r ko params; do
		[ -n "$ko" ] && _usb_insmod "$ko" $params
	done </modules/usbmore.list
}
# tc_modules: sch_ingress (the clsact qdisc) and cls_bpf, which tc probes need without tcx links.
tc_modules() {
	while read -r ko params; do
		[ -n "$ko" ] && _usb_insmod "$ko" $params
	done </modules/net.list
}
# usb_plug QEMU-DEVICE,ID...: hot-plug a device that may get no driver; wait until the kernel has
# it (a device with its ids, VID PID given) and print its sysfs directory in USB_NEW.
usb_plug() {
	_up_n=$(usb_count "$2" "$3")
	hotplug device_add "$1" || fail "device_add $1"
	wait_until 60 _usb_more "$2" "$3" || fail "$1: not enumerated within 60s: $(usb_list)"
	USB_NEW=$(_usb_newest "$2" "$3")
}
_usb_more() { [ "$(usb_count "$1" "$2")" -gt "$_up_n" ]; }
_usb_newest() { # the device with these ids the kernel numbered last
	for d in $(usb_dev "$1" "$2"); do echo "$(cat "$d/devnum") $d"; done | sort -n | tail -1 | cut -d' ' -f2
}
# usb_authorized DIR: the device or interface is authorized; usb_has_driver DIR: an interface
# of the device (or the interface DIR) has a driver.
usb_authorized() { [ "$(cat "$1/authorized" 2>/dev/null)" = 1 ]; }
usb_has_driver() {
	case ${1##*/} in *:*) [ -e "$1/driver" ]; return ;; esac
	for i in "$1"/*:*; do [ -e "$i/driver" ] && return 0; done
	return 1
}
# key_events KEY: have QEMU type KEY (sendkey: the keyboard plugged last gets it) while every
# /dev/input/event* node is read; print the nodes that produced input, one per line.
key_events() {
	_ke_pids=
	for n in /dev/input/event*; do
		[ -e "$n" ] || continue
		cat "$n" >"$VT/keys.${n##*/}" 2>/dev/null &
		_ke_pids="$_ke_pids $!"
	done
	sleep 0.5
	hotplug sendkey "$1" >/dev/null || fail "sendkey $1"
	sleep 2
	for p in $_ke_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for f in "$VT"/keys.event*; do
		[ -s "$f" ] && echo "${f##*/keys.}"
		rm -f "$f"
	done
	return 0
}
# usb_event_node DIR: the evdev node (eventN) of the keyboard at sysfs DIR.
usb_event_node() {
	for e in "$1"/*:1.0/*/input/input*/event*; do [ -e "$e" ] && echo "${e##*/}" && return 0; done
	return 1
}
usb_absent_dir() { [ ! -e "$1" ]; }
_no_stick_disk() { ! usb_disk "$STICK_VID" "$STICK_PID" >/dev/null; }
_unbound() { [ ! -e "$1/driver" ]; }
_audio_dev() { AUDIO=$(usb_dev 46f4 0002); [ -n "$AUDIO" ]; }
_audio_ctl_bound() { # the audio control interface (01/01) of $AUDIO is bound to snd-usb-audio
	for i in "$AUDIO"/*:*; do
		[ "$(cat "$i/bInterfaceClass")/$(cat "$i/bInterfaceSubClass")" = 01/01 ] || continue
		[ "$(basename "$(readlink "$i/driver")" 2>/dev/null)" = snd-usb-audio ] && return 0
	done
	return 1
}
