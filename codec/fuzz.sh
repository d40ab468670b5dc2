#!/bin/sh
# Runs each codec fuzz target for a bounded time (default 10s each):
#
#	codec/fuzz.sh [fuzztime]        e.g. codec/fuzz.sh 30s, codec/fuzz.sh 100000x
#
# One target at a time, because go test -fuzz accepts only one. New failing
# inputs land in codec/testdata/fuzz/<Target>/ and replay in plain go test.
set -eu
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
for target in FuzzLine FuzzDelimiter FuzzFixed FuzzLengthField FuzzRESP; do
	echo "== $target ($fuzztime)"
	go test ./codec -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
done
