#!/usr/bin/env bash
# tests/vm/matrix.sh — `make vmtest-matrix`: the VM cases and the runtime corpus on each kernel
# series in KERNELS (default "5.10 6.1 6.12": Debian's newest of each), as one
# `make vmtest KERNEL=K VMTEST_CORPUS=1` per kernel, JOBS (default 2) VMs at a time: under TCG a
# VM keeps one host CPU busy, and CI machines have two.
#
# Each kernel's whole output goes to $BPFSH_VM_CACHE/matrix/K.log and its artefacts to
# $BPFSH_VM_CACHE/out-K. At the end it prints each run's failed cases and then one line per
# kernel, "kernel VERSION: N passed, N failed, N skipped"; the exit status is 1 when a kernel
# had a failure or no summary. The top-level make has built ./bpfsh once (the runs don't rebuild
# it, so that parallel runs never copy a binary being written).
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KERNELS=${KERNELS:-5.10 6.1 6.12}
JOBS=${JOBS:-2}
MAKE=${MAKE:-make}
if [[ -n ${BPFSH_VM_CACHE:-} ]]; then
	CACHE=$BPFSH_VM_CACHE
elif mkdir -p /var/cache/bpfsh-vm 2>/dev/null && [[ -w /var/cache/bpfsh-vm ]]; then
	CACHE=/var/cache/bpfsh-vm
else
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/bpfsh-vm
fi
export BPFSH_VM_CACHE=$CACHE
mkdir -p "$CACHE/matrix"

start=$SECONDS
running=0
declare -A T0=()
for k in $KERNELS; do
	if ((running >= JOBS)); then
		wait -n
		running=$((running - 1))
	fi
	echo "[matrix +$((SECONDS - start))s] kernel $k: make vmtest KERNEL=$k VMTEST_CORPUS=1 (log $CACHE/matrix/$k.log)"
	T0[$k]=$SECONDS
	(
		t0=$SECONDS
		BPFSH_VM_OUT=$CACHE/out-$k "$MAKE" -C "$REPO" --no-print-directory vmtest KERNEL="$k" VMTEST_CORPUS=1 VMTEST_NOBUILD=1 \
			</dev/null >"$CACHE/matrix/$k.log" 2>&1
		rc=$?
		echo "[matrix +$((SECONDS - start))s] kernel $k done in $((SECONDS - t0))s (status $rc)"
	) &
	running=$((running + 1))
done
wait

rc=0
for k in $KERNELS; do
	log=$CACHE/matrix/$k.log
	# The run's own per-case lines for what did not pass, so the summary below is explained.
	grep -E '^\[vmtest \+[0-9.]+s\] (FAIL|SKIP) ' "$log" | sed "s/^\[vmtest [^]]*\] /  $k: /"
done
echo "matrix: $((SECONDS - start))s for $KERNELS ($JOBS at a time)"
for k in $KERNELS; do
	line=$(grep -E '^kernel [^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$CACHE/matrix/$k.log" | tail -1)
	if [[ -z $line ]]; then
		echo "kernel $k: no summary (see $CACHE/matrix/$k.log)"
		tail -n 5 "$CACHE/matrix/$k.log" | sed 's/^/  /'
		rc=1
		continue
	fi
	echo "$line"
	[[ $line == *" 0 failed,"* ]] || rc=1
done
exit $rc
