#!/bin/sh
# Restart under load: builds examples/echo and bench/restartload, then keeps
# 200 conns echoing and new conns dialing while the server upgrades itself
# 5 times by SIGHUP. Prints connects refused, resets, bytes lost and
# requests unanswered (the target is 0 for each: the old server drains) and
# the time each upgrade took. Needs only Go.
#
#	bench/restart.sh [restartload flags, e.g. -conns 500 -upgrades 10]
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/echo" ./examples/echo
go build -o "$tmp/restartload" ./bench/restartload
"$tmp/restartload" -bin "$tmp/echo" -conns 200 -upgrades 5 "$@"
