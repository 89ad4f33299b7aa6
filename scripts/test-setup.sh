#!/usr/bin/env bash
# test-setup.sh is the first step of `make test`: it prepares this machine
# for the tests, so that the README's test command is all a new machine
# needs. As root on Debian or Ubuntu it installs the test prerequisites that
# are missing, with apt-get (nothing when all are there), and mounts tracefs
# and bpffs. Elsewhere, or without root, it says what is missing and carries
# on: the tests that need it skip, and fail under BPFSH_REQUIRE_PRIV=1.
set -euo pipefail

# package → a command it provides: the oracle (bpftrace) and inspector
# (bpftool), the sockops tests' firewall and capture (nft, tcpdump) and
# network namespaces (ip), the compilers of the test programs, the checks
# of what make install lays out (the systemd unit: systemd-analyze; the man
# page: groff), the container image (podman, which builds and runs it with
# runc), the Kubernetes manifests (kubectl, offline) and --metrics (a
# Prometheus server scrapes it; the package has promtool too).
declare -A provides=(
	[bpftrace]=bpftrace [bpftool]=bpftool [nftables]=nft [tcpdump]=tcpdump
	[iproute2]=ip [gcc]=gcc [g++]=g++
	[systemd]=systemd-analyze [groff-base]=groff
	[podman]=podman [runc]=runc [kubernetes-client]=kubectl
	[prometheus]=promtool
)
# package → a file it provides: the system headers the #include cases of
# the runtime corpus read (tests/runtime/includes.test).
declare -A files=(
	[linux-libc-dev]=/usr/include/linux/icmp.h [libc6-dev]=/usr/include/dirent.h
)
export PATH=$PATH:/usr/sbin:/sbin

root=false
[[ $(id -u) == 0 ]] && root=true

missing=()
for p in "${!provides[@]}"; do
	command -v "${provides[$p]}" >/dev/null 2>&1 || missing+=("$p")
done
for p in "${!files[@]}"; do
	[[ -e ${files[$p]} ]] || missing+=("$p")
done
# A kernel header tree (/lib/modules/RELEASE/build, as Debian's
# linux-headers packages lay it out): lang/cpp's test reads real kernel
# headers through it (whichever release; the running kernel's rarely has a
# package on a test machine).
if command -v dpkg >/dev/null 2>&1 && ! compgen -G '/lib/modules/*/build/include' >/dev/null &&
	! compgen -G '/lib/modules/*/source/include' >/dev/null; then
	missing+=("linux-headers-$(dpkg --print-architecture)")
fi
if ((${#missing[@]})); then
	if $root && command -v apt-get >/dev/null 2>&1; then
		echo "test-setup: installing ${missing[*]}"
		# A fresh machine may be installing something in the background:
		# wait for apt's lock rather than fail.
		apt=(apt-get -q -y -o DPkg::Lock::Timeout=900
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
		export DEBIAN_FRONTEND=noninteractive
		"${apt[@]}" update >/dev/null
		"${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "test-setup: missing ${missing[*]} (install them as root with your package manager; the tests that need them skip)" >&2
	fi
fi

# tracefs: tracepoint formats and ids; bpffs: pinned policies. bpfsh mounts
# both itself when it needs them, but the tests also read them directly.
mounted() { [[ -e $1 ]] && mountpoint -q "$1"; }
if [[ -z $(ls -A /sys/kernel/tracing 2>/dev/null) && -z $(ls -A /sys/kernel/debug/tracing 2>/dev/null) ]]; then
	if $root; then
		mount -t tracefs nodev /sys/kernel/tracing && echo "test-setup: mounted tracefs at /sys/kernel/tracing"
	else
		echo "test-setup: tracefs is not mounted (as root: mount -t tracefs nodev /sys/kernel/tracing)" >&2
	fi
fi
# debugfs: bpftrace's own runtime tests (the opt-in TestBpftraceCompat)
# read debugf()'s output from /sys/kernel/debug/tracing/trace.
if ! mounted /sys/kernel/debug && $root; then
	mount -t debugfs nodev /sys/kernel/debug && echo "test-setup: mounted debugfs at /sys/kernel/debug"
fi
if ! mounted /sys/fs/bpf; then
	if $root; then
		mkdir -p /sys/fs/bpf
		mount -t bpf bpf /sys/fs/bpf && echo "test-setup: mounted bpffs at /sys/fs/bpf"
	else
		echo "test-setup: bpffs is not mounted (as root: mount -t bpf bpf /sys/fs/bpf)" >&2
	fi
fi
exit 0
