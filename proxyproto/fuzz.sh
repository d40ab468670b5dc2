#!/bin/sh
# Runs every proxyproto fuzz target for a bounded budget (default 300000
# execs each), one at a time (go test -fuzz takes one target):
#
#	proxyproto/fuzz.sh [fuzztime]        e.g. proxyproto/fuzz.sh 2000000x
#
# A count, not a duration, as in codec/fuzz.sh (golang/go#75804). New failing
# inputs land in proxyproto/testdata/fuzz/<Target>/ and replay in go test.
set -eu
fuzztime=${1:-300000x}
cd "$(dirname "$0")/.."
for target in $(go test ./proxyproto/ -list '^Fuzz' | grep '^Fuzz'); do
	echo "== $target ($fuzztime)"
	go test ./proxyproto -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -timeout 5m
done
