#!/bin/sh
# Runs every fuzz target in the module for a bounded budget, one at a time
# (go test -fuzz takes one package and one target):
#
#	sh fuzz.sh [fuzztime]        e.g. sh fuzz.sh 1000000x, sh fuzz.sh 30s
#
# The default is 150000 execs per target; targets whose execs are costly
# (a TLS handshake each) get a tenth. New failing inputs land in
# <package dir>/testdata/fuzz/<Target>/ and replay in plain go test.
#
# A count, not a duration: on Go 1.26 a duration races the fuzz
# coordinator's own deadline and can fail a clean run with "context deadline
# exceeded" (golang/go#75804, fixed in Go 1.27). A count has no deadline to
# race; -timeout still bounds each run.
set -eu
fuzztime=${1:-150000x}
cd "$(dirname "$0")"
grep -l '^func Fuzz' $(git ls-files '*_test.go') | xargs -n1 dirname | sort -u | while read -r dir; do
	for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		budget=$fuzztime
		case "$target:$fuzztime" in
		FuzzTLS*:*x) budget=$(( ${fuzztime%x} / 10 ))x ;;
		esac
		echo "== ./$dir $target ($budget)"
		go test "./$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" -timeout 5m
	done
done
