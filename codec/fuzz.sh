#!/bin/sh
# Runs every fuzz target of every codec package (codec, codec/resp, ...) for a
# bounded budget (default 150000 execs each):
#
#	codec/fuzz.sh [fuzztime]        e.g. codec/fuzz.sh 1000000x, codec/fuzz.sh 30s
#
# One target at a time, because go test -fuzz accepts only one package and
# one target. New failing inputs land in <package dir>/testdata/fuzz/<Target>/
# and replay in plain go test.
#
# The default is an execution count, not a duration: on Go 1.26 a duration
# races the fuzz coordinator's own deadline and can fail a clean run with
# "context deadline exceeded" (golang/go#75804, fixed in Go 1.27). A count has
# no deadline to race; -timeout still bounds each run.
set -eu
fuzztime=${1:-150000x}
cd "$(dirname "$0")/.."
for pkg in $(go list ./codec/...); do
	for target in $(go test "$pkg" -list '^Fuzz' | grep '^Fuzz'); do
		echo "== $pkg $target ($fuzztime)"
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -timeout 5m
	done
done
