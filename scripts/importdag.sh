#!/usr/bin/env bash
# importdag.sh checks that package imports follow the layering of
# ../shared/DESIGN.md (non-test imports only):
#
#   lang        → stdlib (lang/cpp, the preprocessor of #include, too: compiler uses it)
#   probes      → stdlib, golang.org/x/sys, github.com/cilium/ebpf
#   compiler    → stdlib, lang, probes, github.com/cilium/ebpf
#   runtime     → stdlib, compiler, probes, lang, github.com/cilium/ebpf, golang.org/x/sys,
#                 github.com/prometheus/client_golang (--metrics: the maps are read and served
#                 where they are loaded, by the Prometheus client rather than a format of our own)
#   session     → stdlib, lang, compiler, runtime
#   cmd/bpfsh   → stdlib, anything in the module, github.com/chzyer/readline
#   internal/*  → stdlib, golang.org/x/sys (privtest makes one bpf(2) call)
#   tests       → stdlib, internal/*;  tests/* (helper programs) → stdlib, golang.org/x/sys, internal/*
#   tests/vmcorpus → also tests (it runs the corpus with the tests package's Runner in the VM)
#   bench, examples → anything
#
# A package may always import its own subpackages. Any other package of the
# module is an error until a rule is added here. Prints each violation and
# exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

mod=$(go list -m)

is_std() { # import path → true if it is in the standard library
	local first=${1%%/*}
	[[ $first != *.* && $1 != "$mod" && $1 != "$mod"/* ]]
}

under() { # path prefix → true if $imp is prefix or below it
	[[ $imp == "$1" || $imp == "$1"/* ]]
}

allowed() { # $rel (package, relative to module) imports $imp
	is_std "$imp" && return 0
	under "$mod/$rel" && return 0
	case $rel in
	lang | lang/*)
		return 1 ;;
	probes | probes/*)
		under golang.org/x/sys || under github.com/cilium/ebpf ;;
	compiler | compiler/*)
		under "$mod/lang" || under "$mod/probes" || under github.com/cilium/ebpf ;;
	runtime | runtime/*)
		under "$mod/compiler" || under "$mod/probes" || under "$mod/lang" ||
			under github.com/cilium/ebpf || under golang.org/x/sys ||
			under github.com/prometheus/client_golang ;;
	session | session/*)
		under "$mod/lang" || under "$mod/compiler" || under "$mod/runtime" ;;
	cmd/bpfsh | cmd/bpfsh/*)
		under "$mod" || under github.com/chzyer/readline ;;
	internal/*)
		under golang.org/x/sys ;;
	tests)
		under "$mod/internal" ;;
	tests/vmcorpus)
		[[ $imp == "$mod/tests" ]] || under golang.org/x/sys || under "$mod/internal" ;;
	tests/*)
		under golang.org/x/sys || under "$mod/internal" ;;
	bench | bench/* | examples | examples/*)
		return 0 ;;
	*)
		echo "importdag: no rule for package $mod/$rel: add one to $0" >&2
		return 1 ;;
	esac
}

bad=0
# -e: report what can be read even when a package does not build.
while read -r pkg imports; do
	[[ -z $pkg ]] && continue
	if [[ $pkg == "$mod" ]]; then rel=. ; else rel=${pkg#"$mod"/}; fi
	for imp in $imports; do
		if ! allowed; then
			echo "importdag: $pkg must not import $imp"
			bad=1
		fi
	done
done < <(go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./...)

if [[ $bad != 0 ]]; then
	echo "importdag: import rules violated (see scripts/importdag.sh)" >&2
	exit 1
fi
echo "importdag: ok"
