#!/usr/bin/env bash
# tests/vm/run.sh — run bpfsh's kernel-probe tests (tests/vm/cases/*.sh) inside a QEMU VM
# booting Debian's stock kernel with emulated USB. `make vmtest` builds ./bpfsh and runs this.
#
#   tests/vm/run.sh [CASE...]      run every case (or the named ones: "11-kprobe-usb-new-device" or "11")
#   tests/vm/run.sh --shell        boot the same VM with a shell on this terminal (Ctrl-A X quits)
#   tests/vm/run.sh --list         list the cases
#
# Why a VM: the build machine's kernel has no kprobes, no fentry/fexit trampolines and no USB
# (../shared/KERNEL.md). The VM runs under TCG (no /dev/kvm), with qemu-xhci + usb-kbd present at
# boot; the host hot-plugs usb-storage/usb-kbd through QMP when a case asks for it.
#
# Host <-> guest:
#   ttyS0 (console)  kernel messages and everything the cases print -> $OUT/console.log
#   ttyS1 (protocol) line protocol, raw mode, guest fd 3:
#     guest -> host  @@INIT <uptime>            init started
#                    @@CASE <name>              a case starts
#                    @@RESULT PASS|FAIL|SKIP <name> <secs> [reason]
#                    @@HOTPLUG <HMP command>    e.g. "device_add usb-storage,bus=xhci.0,drive=stick,id=s1"
#                    @@LOG <text>               printed by the host
#                    @@SCRIPT PASS <path> | @@SCRIPT FAIL <path>: <first error line>  (BPFSH_VM_SCRIPTS)
#                    @@DONE                     all cases ran; the guest powers off
#     host -> guest  @@ACK ok [output] | @@ACK err <message>   (answer to each @@HOTPLUG)
#   A device_del is answered only after QEMU reports DEVICE_DELETED for it.
#
# Environment:
#   BPFSH_VM_CACHE    downloads and extracted packages (default /var/cache/bpfsh-vm, else
#                     ~/.cache/bpfsh-vm); reused between runs; run artefacts in $BPFSH_VM_CACHE/out
#   BPFSH_VM_KERNEL   exact kernel package, or a series: 6.12 (the default: newest cached
#                     linux-image-6.12.*+deb12-amd64, else what linux-image-6.12-amd64 depends
#                     on), 6.1 (bookworm's linux-image-6.1.0-N-amd64) or 5.10 (bullseye's
#                     linux-image-5.10.0-N-amd64, fetched through a private apt state in the
#                     cache: the machine's sources are not touched)
#   BPFSH_VM_CORPUS=1 also run the runtime corpus (tests/runtime/*.test) in the guest with the
#                     tests package's Runner (tests/vmcorpus), one result per corpus case
#   BPFSH_VM_SCRIPTS=DIR  check every *.bt below DIR with `bpfsh --unsafe --dry-run` in the guest
#                     (USB stack loaded, no arguments); prints "PASS rel/path.bt" or "FAIL
#                     rel/path.bt: first error line" for each, and also into $OUT/scripts.txt;
#                     these do not change the exit status (a report on the scripts, not a test)
#   BPFSH_VM_MEMLOCK  the guest's RLIMIT_MEMLOCK in KiB or "unlimited" (default: the kernel's
#                     own, which is what bpfsh meets on a 5.10 machine)
#   BPFSH_VM_OUT      run artefacts (default $BPFSH_VM_CACHE/out); give each concurrent run its own
#   BPFSH_VM_TIMEOUT  bound on the whole VM run in seconds (default 480, 2400 with the corpus)
#   BPFSH_VM_CASE_TIMEOUT  default per-case bound inside the guest (default 60; a case may say
#                     "# vmtest-timeout: N" in its first lines)
#   BPFSH_VM_STRICT=1 a skipped case counts as a failure
#   BPFSH_VM_VERBOSE=1 stream the guest console while running
#   BPFSH_VM_APPEND   more kernel command-line arguments (e.g. "loglevel=7" to see boot messages)
#   BPFSH_VM_QEMU_EXTRA  more QEMU arguments (split on spaces)
#   BPFSH             the static binary to test (default ./bpfsh; build it with `make build`)
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CASEDIR=$HERE/cases

CORPUS=${BPFSH_VM_CORPUS:-0}
SCRIPTS=${BPFSH_VM_SCRIPTS:-}
if [[ $CORPUS == 1 ]]; then TIMEOUT=${BPFSH_VM_TIMEOUT:-2400}; else TIMEOUT=${BPFSH_VM_TIMEOUT:-480}; fi
CASE_TIMEOUT=${BPFSH_VM_CASE_TIMEOUT:-60}
STRICT=${BPFSH_VM_STRICT:-0}
VERBOSE=${BPFSH_VM_VERBOSE:-0}
BPFSH_BIN=${BPFSH:-$REPO/bpfsh}
STICK_MB=16

T_START=${EPOCHREALTIME/./}
since() { local n=${EPOCHREALTIME/./} d; d=$(((n - $1) / 10000)); printf '%d.%02d' $((d / 100)) $((d % 100)); }
say() { echo "[vmtest +$(since "$T_START")s] $*"; }
die() { echo "vmtest: $*" >&2; exit 1; }

MODE=run
WANT=()
for a in "$@"; do
	case $a in
	--shell) MODE=shell ;;
	--list) MODE=list ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $a (see --help)" ;;
	*) WANT+=("$a") ;;
	esac
done

# ------------------------------------------------------------------ which cases
ALL=()
for f in "$CASEDIR"/*.sh; do
	n=$(basename "$f" .sh)
	[[ $n == lib ]] || ALL+=("$n")
done
if [[ $MODE == list ]]; then
	for n in "${ALL[@]}"; do printf '%-32s %s\n' "$n" "$(sed -n 's/^# vmtest: //p' "$CASEDIR/$n.sh" | head -1)"; done
	exit 0
fi
CASES=()
if ((${#WANT[@]})); then
	for w in "${WANT[@]}"; do
		w=${w%.sh}; w=${w##*/}; hit=
		for n in "${ALL[@]}"; do [[ $n == "$w" || $n == "$w"-* ]] && { CASES+=("$n"); hit=1; }; done
		[[ -n $hit ]] || die "no case named $w (try --list)"
	done
else
	CASES=("${ALL[@]}")
fi

# ------------------------------------------------------------------ cache directory (outside the repo)
if [[ -n ${BPFSH_VM_CACHE:-} ]]; then
	CACHE=$BPFSH_VM_CACHE
elif mkdir -p /var/cache/bpfsh-vm 2>/dev/null && [[ -w /var/cache/bpfsh-vm ]]; then
	CACHE=/var/cache/bpfsh-vm
else
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/bpfsh-vm
fi
mkdir -p "$CACHE/debs"
# The cache lock covers downloads and unpacking only; each run's artefacts have their own lock, so
# that runs with different BPFSH_VM_OUT (the kernel matrix) share the cache and boot in parallel.
exec 9>"$CACHE/lock"
flock -w 600 9 || die "another vmtest holds $CACHE/lock"
OUT=${BPFSH_VM_OUT:-$CACHE/out}
if [[ -n $SCRIPTS ]]; then
	[[ -d $SCRIPTS ]] || die "BPFSH_VM_SCRIPTS=$SCRIPTS is not a directory"
	SCRIPTS=$(cd "$SCRIPTS" && pwd)
fi

[[ -x $BPFSH_BIN ]] || die "$BPFSH_BIN is missing: run 'make build' first (or make vmtest)"
if grep -q 'ld-linux' <(head -c 8192 "$BPFSH_BIN" | tr -c '[:print:]' '\n'); then
	die "$BPFSH_BIN is dynamically linked; the guest has no libc: build it with CGO_ENABLED=0 (make build)"
fi

# ------------------------------------------------------------------ host tools
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo -n "$@"; fi; }
APT_UPDATED=
apt_update() {
	[[ -n $APT_UPDATED ]] && return
	say "apt-get update"
	as_root apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null || say "apt-get update failed (continuing)"
	APT_UPDATED=1
}
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v xz >/dev/null || need+=(xz-utils)
command -v dpkg-deb >/dev/null || need+=(dpkg)
if ((${#need[@]})); then
	say "installing ${need[*]}"
	apt-cache policy "${need[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]' || apt_update
	DEBIAN_FRONTEND=noninteractive as_root apt-get -q -y -o DPkg::Lock::Timeout=600 \
		install --no-install-recommends "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
fi

# apt-get download into the cache ("unsandboxed" warnings are noise when root owns the cache).
# APT_OPTS points apt at another suite's private state (bullseye for 5.10); empty: the machine's.
APT_OPTS=()
download() { (cd "$CACHE/debs" && apt-get -q "${APT_OPTS[@]}" download "$@" 2>&1 | grep -v -e 'unsandboxed' -e '^Get:' -e '^Fetched' || true); }

# Bullseye (Debian 11) is the suite with 5.10 kernels. apt sees it only through these options:
# its own sources list, no sources.list.d, and lists and caches inside $CACHE, so the machine's
# sources, lists and package cache stay as they are.
BULLSEYE_UPDATED=
use_bullseye() {
	local a=$CACHE/apt-bullseye
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
	cat >"$a/sources.list" <<-EOF
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
	EOF
	APT_OPTS=(-o "Dir::Etc::sourcelist=$a/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$a/lists"
		-o "Dir::Cache=$a/cache" -o Acquire::Languages=none)
}
bullseye_update() {
	[[ -n $BULLSEYE_UPDATED ]] && return
	say "apt-get update (bullseye, private lists in $CACHE/apt-bullseye)"
	apt-get -q "${APT_OPTS[@]}" update >/dev/null || say "apt-get update (bullseye) failed (continuing)"
	BULLSEYE_UPDATED=1
}
update() { if ((${#APT_OPTS[@]})); then bullseye_update; else apt_update; fi; }

# ------------------------------------------------------------------ kernel package
# A series (6.12, 6.1, 5.10) names the newest kernel of that series Debian has: the newest cached
# one, else the one the series' meta package depends on, else the newest apt knows.
KPKG=${BPFSH_VM_KERNEL:-6.12}
case $KPKG in
6.12) META=linux-image-6.12-amd64 RE='linux-image-6\.12\.[0-9]+\+deb12-amd64' GLOB='linux-image-6.12.*+deb12-amd64' ;;
6.1) META=linux-image-amd64 RE='linux-image-6\.1\.0-[0-9]+-amd64' GLOB='linux-image-6.1.0-*-amd64' ;;
5.10) META=linux-image-amd64 RE='linux-image-5\.10\.0-[0-9]+-amd64' GLOB='linux-image-5.10.0-*-amd64'; use_bullseye ;;
linux-image-5.10.*) META= ; use_bullseye ;;
*) META= ;;
esac
if [[ -n $META ]]; then
	cached=$(ls "$CACHE"/debs/${GLOB}_*.deb 2>/dev/null | sort -V | tail -1 || true)
	if [[ -n $cached ]]; then
		KPKG=$(basename "$cached"); KPKG=${KPKG%%_*}
	else
		pick() { apt-cache "${APT_OPTS[@]}" depends "$META" 2>/dev/null | awk -v re="^$RE\$" '$1 == "Depends:" && $2 ~ re {print $2; exit}'; }
		if ((${#APT_OPTS[@]})) && ! compgen -G "$CACHE/apt-bullseye/lists/*_Packages*" >/dev/null; then bullseye_update; fi
		series=$KPKG
		KPKG=$(pick)
		[[ -n $KPKG ]] || { update; KPKG=$(pick); }
		if [[ -z $KPKG ]]; then
			KPKG=$(apt-cache "${APT_OPTS[@]}" search --names-only "^$RE\$" | awk '{print $1}' | sort -V | tail -1)
		fi
		[[ -n $KPKG ]] || die "no $series kernel package ($RE) known to apt (set BPFSH_VM_KERNEL to a package)"
	fi
fi
if ! ls "$CACHE/debs/${KPKG}_"*.deb >/dev/null 2>&1; then
	say "apt-get download $KPKG"
	download "$KPKG"
	if ! ls "$CACHE/debs/${KPKG}_"*.deb >/dev/null 2>&1; then update; download "$KPKG"; fi
	ls "$CACHE/debs/${KPKG}_"*.deb >/dev/null 2>&1 || die "could not download $KPKG"
fi
if ! ls "$CACHE"/debs/busybox-static_*.deb >/dev/null 2>&1; then
	say "apt-get download busybox-static"
	APT_OPTS=()
	download busybox-static
	if ! ls "$CACHE"/debs/busybox-static_*.deb >/dev/null 2>&1; then apt_update; download busybox-static; fi
	ls "$CACHE"/debs/busybox-static_*.deb >/dev/null 2>&1 || die "could not download busybox-static"
fi
KDEB=$(ls "$CACHE/debs/${KPKG}_"*.deb | sort -V | tail -1)
# The upstream release the package carries: linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb -> 6.1.192
KUPSTREAM=$(basename "$KDEB"); KUPSTREAM=${KUPSTREAM#*_}; KUPSTREAM=${KUPSTREAM%%_*}; KUPSTREAM=${KUPSTREAM%%-*}
BBDEB=$(ls "$CACHE"/debs/busybox-static_*.deb | sort -V | tail -1)

extract() { # deb dir: unpack once, atomically
	[[ -e $2/.done ]] && return
	say "extracting $(basename "$1")"
	rm -rf "$2.tmp" && mkdir -p "$2.tmp" && dpkg-deb -x "$1" "$2.tmp" && touch "$2.tmp/.done" && rm -rf "$2" && mv "$2.tmp" "$2"
}
KROOT=$CACHE/kernel/$KPKG
extract "$KDEB" "$KROOT"
BBROOT=$CACHE/busybox/$(basename "$BBDEB" .deb)
extract "$BBDEB" "$BBROOT"
BB=$BBROOT/bin/busybox
VMLINUZ=$(ls "$KROOT"/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KROOT/lib/modules/$KVER

# ------------------------------------------------------------------ modules and their dependencies
# The package has no modules.dep (depmod makes it on install), so dependencies come from each
# module's .modinfo "depends=" string, which is what modinfo prints.
KOCACHE=$CACHE/ko/$KVER
mkdir -p "$KOCACHE"
declare -A KOPATH=() BUILTIN=()
while IFS= read -r f; do
	b=${f##*/}; b=${b%.xz}; b=${b%.zst}; b=${b%.ko}
	KOPATH[${b//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko*')
while IFS= read -r f; do b=${f##*/}; b=${b%.ko}; BUILTIN[${b//-/_}]=1; done <"$MODDIR/modules.builtin"
ko() { _ko "$@"; }
_ko() { # module name -> decompressed file in the cache (prints nothing for a built-in)
	local k=${1//-/_} f out
	[[ -n ${BUILTIN[$k]:-} ]] && return 0
	f=${KOPATH[$k]:-}
	[[ -n $f ]] || die "module $1 is not in $KPKG"
	out=$KOCACHE/$(basename "${f%.xz}"); out=${out%.zst}
	if [[ ! -s $out ]]; then
		case $f in
		*.xz) xz -dc "$f" >"$out.tmp" ;;
		*.zst) zstd -qdc "$f" >"$out.tmp" ;;
		*) cp "$f" "$out.tmp" ;;
		esac
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}
declare -A SEEN=()
ORDER=()
resolve() { # depth first, dependencies before the module
	local k=${1//-/_} f d
	[[ -n ${SEEN[$k]:-} ]] && return 0
	SEEN[$k]=1
	f=$(ko "$1")
	[[ -n $f ]] || return 0
	for d in $(grep -a -o -m1 'depends=[A-Za-z0-9_,-]*' "$f" | head -1 | sed 's/^depends=//; s/,/ /g'); do resolve "$d"; done
	ORDER+=("$f")
}
# Module parameters, applied by the guest's insmod.
declare -A MODPARAM=([usb_storage]="delay_use=0")

# ------------------------------------------------------------------ initramfs
mkdir -p "$(dirname "$OUT")"
exec 8>"$OUT.lock"
flock -w 600 8 || die "another vmtest holds $OUT.lock (set BPFSH_VM_OUT)"
rm -rf "$OUT" && mkdir -p "$OUT"
ROOT=$OUT/initramfs
mkdir -p "$ROOT"/{bin,modules,cases,examples,etc/vmtest,proc,sys,dev,tmp,run,mnt,root}
cp "$BB" "$ROOT/bin/busybox"
cp "$BPFSH_BIN" "$ROOT/bin/bpfsh"

# Host programs at their host paths, with the shared libraries they load: scripts name uprobes on
# /bin/bash and libc by path, and the corpus's uprobe target is a dynamic C program. The guest
# gets the host's merged-/usr layout (/lib -> usr/lib) so that both spellings of a path work.
for d in sbin lib lib32 lib64 libx32; do
	[[ -L /$d && ! -e $ROOT/$d ]] || continue
	mkdir -p "$ROOT/$(readlink "/$d")"
	ln -s "$(readlink "/$d")" "$ROOT/$d"
done
host_copy() { # PATH: the file at the same path in the guest (symbolic links kept as links)
	local p=$1 t
	[[ -e $ROOT$p || -L $ROOT$p ]] && return 0
	mkdir -p "$ROOT$(dirname "$p")"
	if [[ -L $p ]]; then
		t=$(readlink "$p")
		ln -s "$t" "$ROOT$p"
		[[ $t == /* ]] || t=$(dirname "$p")/$t
		host_copy "$t"
	else
		cp "$p" "$ROOT$p"
	fi
}
host_prog() { # PATH: the program and every library ldd lists for it
	local p=$1 lib
	[[ -e $p ]] || return 0
	host_copy "$p"
	for lib in $(ldd "$p" 2>/dev/null | grep -o '/[^ ]*'); do host_copy "$lib"; done
}
# /bin is busybox's directory in the guest (the host's is a link to usr/bin): bash goes into it
# as a file, and at its /usr/bin path too.
if [[ -x /bin/bash ]]; then
	cp "$(readlink -f /bin/bash)" "$ROOT/bin/bash"
	host_prog "$(readlink -f /bin/bash)"
fi
# env at /usr/bin/env for scripts' #! lines; with the corpus, what its shell lines call that
# busybox lacks (the guest's PATH puts /usr/bin first; busybox sh still runs its own applets,
# such as setpriv, before any program on PATH).
host_prog /usr/bin/env
if [[ $CORPUS == 1 ]]; then
	for p in /usr/bin/ldd /usr/bin/getconf /usr/bin/nm; do host_prog "$p"; done
fi
# Users for username/uid lookups (bpfsh's username builtin reads /etc/passwd).
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
modlist() { # list-file module...
	local list=$1 f b k
	shift
	ORDER=()
	for m in "$@"; do resolve "$m"; done
	: >"$ROOT/modules/$list"
	for f in "${ORDER[@]}"; do
		b=$(basename "$f"); k=${b%.ko}; k=${k//-/_}
		cp "$f" "$ROOT/modules/$b"
		echo "/modules/$b ${MODPARAM[$k]:-}" >>"$ROOT/modules/$list"
	done
}
# usbcore alone first, so probes can attach to usbcore before any device is enumerated; then the
# class drivers, and the host controller last so that the boot-present keyboard gets bound.
modlist usbcore.list usbcore
modlist usb.list hid hid-generic usbhid scsi_mod sd_mod usb-storage uas xhci-hcd xhci-pci
modlist usbmore.list evdev usbnet cdc_ether snd-usb-audio
# tc without tcx links (before 6.6): the clsact qdisc (sch_ingress) and its bpf filter (cls_bpf).
modlist net.list sch_ingress cls_bpf
cp "$HERE/init" "$ROOT/init"
chmod 755 "$ROOT/init"
cp "$CASEDIR"/*.sh "$ROOT/cases/"
if compgen -G "$REPO/examples/*" >/dev/null; then cp -r "$REPO"/examples/. "$ROOT/examples/"; fi
printf '%s\n' "${CASES[@]}" >"$ROOT/etc/vmtest/cases"
cat >"$ROOT/etc/vmtest/env" <<EOF
VMTEST_KERNEL_PKG=$KPKG
VMTEST_CASE_TIMEOUT=$CASE_TIMEOUT
VMTEST_STICK_BYTES=$((STICK_MB << 20))
VMTEST_MEMLOCK=${BPFSH_VM_MEMLOCK:-}
EOF

gobuild() { # PKG OUT: a static build (no Go program in the guest may need a libc)
	(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -o "$2" "$1") || die "go build $1 failed"
}
# The runtime corpus: tests/runtime (with outputs), scripts and testprogs at /tests (the Runner's
# directory, as tests/ is TestRuntime's), vmcorpus and trig in /bin, and the C test programs built
# here (the guest has no compiler) for testprogs/build.sh to find in /tmp.
if [[ $CORPUS == 1 ]]; then
	say "building vmcorpus, trig and the test programs"
	gobuild ./tests/vmcorpus "$ROOT/bin/vmcorpus"
	gobuild ./tests/trig "$ROOT/bin/trig"
	mkdir -p "$ROOT/tests" "$ROOT/opt/testprogs"
	cp -r "$REPO/tests/runtime" "$REPO/tests/scripts" "$REPO/tests/testprogs" "$ROOT/tests/"
	command -v cc >/dev/null || die "BPFSH_VM_CORPUS=1 needs a C compiler (cc) for tests/testprogs"
	BPFSH_TESTPROGS_OUT=$ROOT/opt/testprogs sh "$REPO/tests/testprogs/build.sh" || die "tests/testprogs/build.sh failed"
	touch "$ROOT/etc/vmtest/corpus"
fi
# Scripts to check with --dry-run, under /scripts with their paths relative to SCRIPTS.
if [[ -n $SCRIPTS ]]; then
	mkdir -p "$ROOT/scripts"
	(cd "$SCRIPTS" && find . -name '*.bt' \( -type f -o -type l \) | LC_ALL=C sort | sed 's#^\./##') >"$ROOT/etc/vmtest/scripts"
	while IFS= read -r f; do
		mkdir -p "$ROOT/scripts/$(dirname "$f")"
		cp -L "$SCRIPTS/$f" "$ROOT/scripts/$f"
	done <"$ROOT/etc/vmtest/scripts"
	say "scripts: $(wc -l <"$ROOT/etc/vmtest/scripts") *.bt below $SCRIPTS"
	# Modules whose functions bpftrace's tools probe (mdflush: md_mod), loaded before the
	# scripts run (absent or built in: skipped). Not xfs: its libcrc32c needs the crypto
	# API's crc32c, which insmod does not load.
	ko() { # (the same, without dying on a module the package lacks)
		local k=${1//-/_}
		[[ -z ${BUILTIN[$k]:-} && -n ${KOPATH[$k]:-} ]] && _ko "$1"
		return 0
	}
	modlist scripts.list md-mod
fi
# The system headers that scripts and the corpus (includes.test) #include (<sys/socket.h>,
# <linux/*.h>: libc6-dev and linux-libc-dev), as on a machine that has them: the C library's
# and the kernel's UAPI, not the rest of /usr/include (13 of 130 MiB).
if [[ (-n $SCRIPTS || $CORPUS == 1) && -d /usr/include/linux ]]; then
	mkdir -p "$ROOT/usr/include"
	(cd /usr/include && find . -maxdepth 1 -type f; printf "%s\n" linux asm-generic netinet net arpa "$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)") |
		while read -r h; do [[ -e /usr/include/$h ]] && echo "$h"; done |
		(cd /usr/include && xargs cp -a --parents -t "$ROOT/usr/include" 2>/dev/null || true)
fi
INITRD=$OUT/initramfs.cpio
(cd "$ROOT" && find . | LC_ALL=C sort | "$BB" cpio -o -H newc 2>/dev/null) >"$INITRD"
flock -u 9 # the cache is not touched from here on

# The stick: STICK_MB MiB, a header in sector 0, a marker at 1 MiB, zeros elsewhere. stick2 (for
# usb-uas, other USB ids) is the same size with its own header.
STICK=$OUT/stick.img
truncate -s "${STICK_MB}M" "$STICK"
printf 'BPFSH-VMTEST-STICK size=%d\n' $((STICK_MB << 20)) | dd of="$STICK" conv=notrunc status=none
printf 'BPFSH-VMTEST-1MIB\n' | dd of="$STICK" bs=1M seek=1 conv=notrunc status=none
STICK2=$OUT/stick2.img
truncate -s "${STICK_MB}M" "$STICK2"
printf 'BPFSH-VMTEST-UAS size=%d\n' $((STICK_MB << 20)) | dd of="$STICK2" conv=notrunc status=none

say "kernel $KVER ($KPKG), initramfs $(($(stat -c %s "$INITRD") >> 20)) MiB, cases: ${CASES[*]}"
say "modules: $(sed 's#^/modules/##; s#\.ko##' "$ROOT/modules/usbcore.list" | tr '\n' ' ')| $(sed 's#^/modules/##; s#\.ko##' "$ROOT/modules/usb.list" | tr '\n' ' ')"

# ------------------------------------------------------------------ QEMU
mkfifo "$OUT/proto.in" "$OUT/proto.out" "$OUT/qmp.in" "$OUT/qmp.out"
APPEND="console=ttyS0 rdinit=/init panic=-1 quiet loglevel=4"
[[ $MODE == shell ]] && APPEND+=" vmtest.shell"
APPEND+=${BPFSH_VM_APPEND:+ $BPFSH_VM_APPEND}
# One host thread runs both vCPUs (thread=single): with a thread per vCPU,
# the guest kernel's live patching of its own code (text_poke_bp: an int3,
# then the new bytes, as a tracepoint is enabled) once left a stale int3 for
# the other vCPU to hit (Oops: int3 in syscall_trace_enter) on a loaded host.
QEMU=(qemu-system-x86_64 -nodefaults -no-reboot -display none -M pc
	-accel tcg,thread=single -cpu max -smp 2 -m 1G
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND"
	-chardev pipe,id=proto,path="$OUT/proto" -chardev pipe,id=qmp,path="$OUT/qmp"
	-mon chardev=qmp,mode=control
	-device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0,id=kbd0 -audiodev none,id=snd0
	-blockdev driver=raw,node-name=stick,file.driver=file,file.filename="$STICK"
	-blockdev driver=raw,node-name=stick2,file.driver=file,file.filename="$STICK2")
if [[ $MODE == shell ]]; then
	QEMU+=(-serial mon:stdio -serial chardev:proto)
else
	QEMU+=(-chardev file,id=con,path="$OUT/console.log" -serial chardev:con -serial chardev:proto)
fi
# shellcheck disable=SC2206
[[ -n ${BPFSH_VM_QEMU_EXTRA:-} ]] && QEMU+=($BPFSH_VM_QEMU_EXTRA)
printf '%q ' "${QEMU[@]}" >"$OUT/qemu-cmdline.txt"

# Open our ends of the FIFOs read-write so that no open blocks (QEMU opens them read-write too).
exec {PIN}<>"$OUT/proto.in" {POUT}<>"$OUT/proto.out" {QIN}<>"$OUT/qmp.in" {QOUT}<>"$OUT/qmp.out"

QPID=
TAILPID=
cleanup() {
	if [[ -n $TAILPID ]]; then kill "$TAILPID" 2>/dev/null || true; TAILPID=; fi
	if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$QPID" 2>/dev/null || true
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

Q0=${EPOCHREALTIME/./}
[[ $MODE == shell ]] && TIMEOUT=86400
# timeout(1) bounds QEMU even if this script is killed without its traps running.
if [[ $MODE == shell ]]; then
	"${QEMU[@]}" </dev/tty &
else
	timeout -k 5 $((TIMEOUT + 30)) "${QEMU[@]}" </dev/null >"$OUT/qemu.stderr" 2>&1 9>&- &
fi
QPID=$!
if [[ $VERBOSE == 1 && $MODE != shell ]]; then
	touch "$OUT/console.log"
	tail -n +1 -F --pid="$QPID" "$OUT/console.log" 2>/dev/null | sed -u 's/\r$//; s/^/  | /' &
	TAILPID=$!
fi
rel() { since "$Q0"; }
DEADLINE=$((SECONDS + TIMEOUT))

# ------------------------------------------------------------------ QMP
declare -A DELETED=()
QPART=
qmp_read() { # read one QMP line into QLINE within $1 seconds; note events
	QLINE=
	if ! IFS= read -r -t "$1" -u "$QOUT" QLINE; then
		QPART+=$QLINE # a timed-out read keeps a partial line: keep it for the next call
		return 1
	fi
	QLINE=$QPART${QLINE%$'\r'} QPART=
	echo "[$(rel)] < $QLINE" >>"$OUT/qmp.log"
	if [[ $QLINE == *'"event": "DEVICE_DELETED"'* ]]; then
		local dev
		dev=$(sed -n 's/.*"device": "\([^"]*\)".*/\1/p' <<<"$QLINE")
		[[ -n $dev ]] && DELETED[$dev]=1
	fi
	return 0
}
qmp_exec() { # JSON command -> QRESP (the "return"/"error" line)
	echo "[$(rel)] > $1" >>"$OUT/qmp.log"
	printf '%s\n' "$1" >&"$QIN"
	local end=$((SECONDS + 30))
	while ((SECONDS < end)); do
		qmp_read 5 || continue
		if [[ $QLINE == '{"return"'* || $QLINE == '{"error"'* ]]; then QRESP=$QLINE; return 0; fi
	done
	QRESP='{"error": {"desc": "no answer from QMP in 30s"}}'
	return 1
}
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
qmp_ready=
qmp_init() {
	local end=$((SECONDS + 30))
	while ((SECONDS < end)); do
		qmp_read 1 || { kill -0 "$QPID" 2>/dev/null || return 1; continue; }
		[[ $QLINE == *'"QMP"'* ]] && break
	done
	qmp_exec '{"execute": "qmp_capabilities"}' && [[ $QRESP == '{"return"'* ]] && qmp_ready=1
}
hotplug() { # HMP command -> reply line for the guest
	local cmd=$1 out id
	[[ -n $qmp_ready ]] || qmp_init || { REPLY_LINE="@@ACK err QMP not ready"; return; }
	if ! qmp_exec "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": $(json_str "$cmd")}}"; then
		REPLY_LINE="@@ACK err no answer from QEMU"
		return
	fi
	if [[ $QRESP == '{"error"'* ]]; then
		REPLY_LINE="@@ACK err $(sed -n 's/.*"desc": "\(.*\)".*/\1/p' <<<"$QRESP")"
		return
	fi
	out=$(sed -n 's/^{"return": "\(.*\)"}$/\1/p' <<<"$QRESP")
	out=${out//\\r/}; out=${out//\\n/ | }; out=${out% | }
	if [[ $out == Error* || $out == *"Error:"* ]]; then REPLY_LINE="@@ACK err $out"; return; fi
	if [[ $cmd =~ ^device_del[[:space:]]+([^[:space:]]+) ]]; then
		id=${BASH_REMATCH[1]}
		local end=$((SECONDS + 10))
		while [[ -z ${DELETED[$id]:-} ]] && ((SECONDS < end)); do qmp_read 1 || true; done
		[[ -n ${DELETED[$id]:-} ]] || { REPLY_LINE="@@ACK err no DEVICE_DELETED event for $id within 10s"; return; }
		unset "DELETED[$id]"
	fi
	REPLY_LINE="@@ACK ok${out:+ $out}"
}

# ------------------------------------------------------------------ the run
declare -A RESULT=() REASON=()
SCRIPT_LINES=()
INIT_AT='' DONE='' CUR=''
PASSED=0 FAILED=0 SKIPPED=0
say "qemu started (pid $QPID; console $OUT/console.log)"
qmp_init || say "QMP handshake failed"
partial=
while :; do
	# A timed-out read keeps what it got of a line (the UART delivers a line a few bytes at a
	# time): hold on to it and prepend it to the rest.
	if ! IFS= read -r -t 1 -u "$POUT" line; then
		partial+=$line
		kill -0 "$QPID" 2>/dev/null || break
		if ((SECONDS >= DEADLINE)); then
			say "TIMEOUT: the VM run exceeded ${TIMEOUT}s${CUR:+ (in case $CUR)}"
			break
		fi
		continue
	fi
	line=$partial$line partial=
	line=${line%$'\r'}
	echo "[$(rel)] $line" >>"$OUT/proto.log"
	[[ $line == *@@* ]] && line=@@${line#*@@} # drop any noise before the marker
	case $line in
	"@@INIT "*)
		INIT_AT=$(rel)
		say "guest init reached ${INIT_AT}s after qemu start (guest uptime ${line#@@INIT }s)"
		;;
	"@@CASE "*) CUR=${line#@@CASE } ;;
	"@@HOTPLUG "*)
		hotplug "${line#@@HOTPLUG }"
		printf '%s\n' "$REPLY_LINE" >&"$PIN"
		say "  hotplug: ${line#@@HOTPLUG } -> ${REPLY_LINE#@@ACK }"
		;;
	"@@LOG "*) say "  ${line#@@LOG }" ;;
	"@@RESULT "*)
		read -r _ verdict name secs reason <<<"$line"
		RESULT[$name]=$verdict REASON[$name]=${reason:-}
		case $verdict in PASS) PASSED=$((PASSED + 1)) ;; SKIP) SKIPPED=$((SKIPPED + 1)) ;; *) FAILED=$((FAILED + 1)) ;; esac
		# Corpus cases ("FILE.test:LINE") are many: their passes are counted, not shown.
		if [[ $name != *.test:* || $verdict != PASS || $VERBOSE == 1 ]]; then
			printf '[vmtest +%ss] %s %-34s %6ss %s\n' "$(since "$T_START")" "$verdict" "$name" "$secs" "${reason:-}"
		fi
		CUR=
		;;
	"@@SCRIPT "*)
		# The line the user asked for, exactly: "PASS rel/path.bt" or "FAIL rel/path.bt: error".
		SCRIPT_LINES+=("${line#@@SCRIPT }")
		echo "${line#@@SCRIPT }"
		;;
	"@@DONE"*) DONE=$(rel) ;;
	esac
	if ((SECONDS >= DEADLINE)); then
		say "TIMEOUT: the VM run exceeded ${TIMEOUT}s${CUR:+ (in case $CUR)}"
		break
	fi
done
# The guest powers off after @@DONE; give QEMU a moment, then end it.
if [[ -n $DONE ]]; then
	for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
fi
QEND=$(rel)
cleanup
QPID=
[[ $MODE == shell ]] && exit 0

# ------------------------------------------------------------------ report
missing=0
for n in "${CASES[@]}"; do
	if [[ -z ${RESULT[$n]:-} ]]; then
		RESULT[$n]=FAIL REASON[$n]="no result (guest stopped or timed out)"
		FAILED=$((FAILED + 1)); missing=1
		printf '[vmtest +%ss] FAIL %-34s %6s  %s\n' "$(since "$T_START")" "$n" "-" "${REASON[$n]}"
	fi
done
if [[ $STRICT == 1 && $SKIPPED -gt 0 ]]; then
	say "BPFSH_VM_STRICT=1: $SKIPPED skipped case(s) count as failures"
	FAILED=$((FAILED + SKIPPED)) SKIPPED=0
fi
{
	echo "kernel=$KPKG"
	echo "init_s=${INIT_AT:-}"
	echo "done_s=${DONE:-}"
	echo "qemu_exit_s=$QEND"
	echo "total_s=$(since "$T_START")"
} >"$OUT/timing.txt"
if [[ -n $SCRIPTS ]]; then
	printf '%s\n' "${SCRIPT_LINES[@]}" >"$OUT/scripts.txt"
	want=$(wc -l <"$ROOT/etc/vmtest/scripts")
	((${#SCRIPT_LINES[@]} == want)) || say "scripts: only ${#SCRIPT_LINES[@]} of $want checked (guest stopped or timed out)"
fi
con() { sed 's/\r$//' "$OUT/console.log" 2>/dev/null; }
if ((FAILED > 0)); then
	whole=
	if [[ -z $DONE || $missing == 1 ]]; then
		whole=1
		echo "----- guest console (last 250 lines of $OUT/console.log) -----"
		con | tail -n 250
		[[ -s $OUT/qemu.stderr ]] && { echo "----- qemu stderr -----"; cat "$OUT/qemu.stderr"; }
	fi
	[[ -n $whole ]] || for n in "${CASES[@]}"; do
		[[ ${RESULT[$n]} == FAIL && ${REASON[$n]} != "no result"* ]] || continue
		echo "----- guest console for $n -----"
		# awk reads to the end (no early exit): sed must not die of SIGPIPE under pipefail.
		con | awk -v c="===== CASE $n =====" '!done && index($0, c) { on = 1 } on && /^===== (CASE|END) / && !index($0, c) { on = 0; done = 1 } on' | tail -n 150
	done
	# Failed corpus cases' reports (command, output) as vmcorpus printed them: 40 lines of each of
	# the first 30 (the whole console is in $OUT). awk reads to the end: no SIGPIPE under pipefail.
	[[ -n $whole ]] || con | awk '
		/^===== CORPUS FAIL / { n++; on = n <= 30; lines = 0 }
		/^=====/ && !/^===== CORPUS FAIL / { on = 0 }
		on && lines++ < 40 { print }
		END { if (n > 30) printf("... and %d more failed corpus cases in the console log\n", n - 30) }'
	echo "-----"
fi
say "boot to guest init ${INIT_AT:-?}s, all cases done ${DONE:-?}s after qemu start; artefacts in $OUT"
echo "vmtest: $PASSED passed, $FAILED failed, $SKIPPED skipped"
# The kernel matrix (make vmtest-matrix) collects this line from each kernel's run.
echo "kernel $KUPSTREAM: $PASSED passed, $FAILED failed, $SKIPPED skipped" | tee "$OUT/summary.txt"
((FAILED == 0))
