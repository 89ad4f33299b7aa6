#!/bin/sh
# Builds tests/testprogs/utarget.c into /tmp/bpfsh_utarget for the uprobe
# tests (a SETUP line: `sh testprogs/build.sh`, run in tests/). Rebuilds only
# when the source is newer; the rename makes a concurrent run see either the
# old binary or the new one, never a half-written file. BPFSH_TESTPROGS_OUT
# builds into another directory (tests/vm/run.sh builds them for the VM guest,
# which has no compiler).
set -e
dir=${BPFSH_TESTPROGS_OUT:-/tmp}
src=$(dirname "$0")/utarget.c
out=$dir/bpfsh_utarget
if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
	cc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$out.$$" "$src"
	mv -f "$out.$$" "$out"
fi
# usdt.c: USDT probes written with inline asm (tests/runtime/usdt.test).
src=$(dirname "$0")/usdt.c
out=$dir/bpfsh_usdt
if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
	cc -O1 -g -fno-omit-frame-pointer -o "$out.$$" "$src"
	mv -f "$out.$$" "$out"
fi
# throw.cc: fires libstdc++'s own USDT probes; only where g++ is.
src=$(dirname "$0")/throw.cc
out=$dir/bpfsh_throw
if command -v g++ >/dev/null && { [ ! -x "$out" ] || [ "$src" -nt "$out" ]; }; then
	g++ -O1 -o "$out.$$" "$src"
	mv -f "$out.$$" "$out"
fi
