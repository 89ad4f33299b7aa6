#!/usr/bin/env bash
# fuzz.sh [PACKAGES...] runs every Fuzz* target of the given packages (default
# ./...) for FUZZTIME each (default 30s), one after the other. Failing inputs
# are saved by go test under the package's testdata/fuzz/ — commit them as
# regression cases once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}
pkgs=("$@")
[[ ${#pkgs[@]} -eq 0 ]] && pkgs=(./...)

n=0
failed=()
for pkg in $(go list "${pkgs[@]}"); do
	# -list prints matching test names, then "ok <pkg>"; keep the names.
	targets=$(go test -run '^$' -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for t in $targets; do
		n=$((n + 1))
		echo "fuzz: $pkg $t for $fuzztime"
		log=$(mktemp)
		if ! go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
			# Go's fuzzer can end with "context deadline exceeded" when a worker
			# is busy at the deadline; that is no finding (none was saved).
			# A crash or hang it found writes its input: that always fails.
			if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
				echo "fuzz: $pkg $t ended at its deadline without a finding (Go fuzzer shutdown); not a failure"
			else
				failed+=("$pkg $t")
			fi
		fi
		rm -f "$log"
	done
done

echo "fuzz: ran $n targets"
if [[ ${#failed[@]} -gt 0 ]]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
