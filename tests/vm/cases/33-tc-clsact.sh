# vmtest: tc:lo:ingress drops ping's ICMP; without tcx links (before 6.6: 5.10, 6.1) through a clsact qdisc that bpfsh adds and removes (BPFSH_TC_CLSACT=1 takes that path on 6.6+ too)
. /cases/lib.sh

# busybox's tc and ping; lo is up (/init). No modprobe here: load what clsact needs.
tc_modules
clsact() { tc qdisc show dev lo | grep -q ' clsact '; }
ping_lo() { ping -c "$1" -W 1 127.0.0.1 >"$VT/ping.out" 2>&1; }
ping_lo 1 || fail "ping 127.0.0.1 fails before bpfsh: $(tail -2 "$VT/ping.out")"
clsact && fail "lo has a clsact qdisc before bpfsh: $(tc qdisc show dev lo)"

# tc_drop HOW: bpfsh drops ICMP at lo's ingress; HOW is tcx or clsact, the attachment expected.
tc_drop() {
	bpfsh_start --unsafe -e 'tc:lo:ingress /ip.proto == 1/ { @dropped = count(); drop; }'
	if clsact; then _how=clsact; else _how=tcx; fi
	ping_lo 2 && _got=replies || _got=
	bpfsh_stop
	expect_rc 0
	[ "$_how" = "$1" ] || fail "attached through $_how, want $1: $(tc qdisc show dev lo)"
	[ -z "$_got" ] || fail "ping got replies through the drop ($1): $(tail -2 "$VT/ping.out")"
	n=$(map_value dropped)
	[ "${n:-0}" -ge 2 ] || fail "@dropped is '${n:-<not printed>}', want >= 2 ($1)"
	clsact && fail "bpfsh left the clsact qdisc on lo ($1): $(tc qdisc show dev lo)"
	ping_lo 1 || fail "ping 127.0.0.1 fails after bpfsh exited ($1): $(tail -2 "$VT/ping.out")"
	log "dropped $n ICMP packets through $1, lo as it was afterwards"
}

if kernel_at_least 6.6; then
	tc_drop tcx
	export BPFSH_TC_CLSACT=1
	tc_drop clsact
	unset BPFSH_TC_CLSACT
else
	tc_drop clsact
fi
