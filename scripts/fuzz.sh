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
		if ! go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg"; then
			failed+=("$pkg $t")
		fi
	done
done

echo "fuzz: ran $n targets"
if [[ ${#failed[@]} -gt 0 ]]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
