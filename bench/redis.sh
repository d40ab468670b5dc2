#!/bin/sh
# Compares examples/kv with a real redis-server under redis-benchmark, on
# loopback only:
#
#	bench/redis.sh
#
# It installs redis-server and redis-tools from the distribution (Debian,
# apt-get) if they are missing, builds examples/kv, starts redis-server on
# 127.0.0.1:6390 (no persistence) and kv on 127.0.0.1:6380, and runs
#
#	redis-benchmark -h 127.0.0.1 -p PORT -t ping_inline,set,get -c {50,500} -n 200000 -q -P {1,16}
#
# against each (one redis-benchmark per test, so that each server's CPU time
# can be read from /proc around it), alternating which server goes first,
# for ROUNDS rounds. It prints the median requests per second of each test,
# the ratio kv/redis and each server's median CPU time per request (user +
# system), then stops both servers. CPU per request moves less than
# throughput on a shared machine.
#
# kv runs one loop by default, as redis-server runs one event-loop thread:
# redis-benchmark is single-threaded too and needs the other core of a
# 2-core machine. With -loops 2 the server's second loop competes with the
# client for that core and both servers lose throughput to context switches.
#
# Environment: ROUNDS (3), REQUESTS (200000 per pipeline depth: -P 16 runs
# send 3,200,000), CLIENTS ("50 500"), PIPELINES ("1 16"), TESTS
# (ping_inline,set,get), KV_LOOPS (1), KV_FLAGS (extra kv flags, e.g.
# "-busy-poll 50us" or "-cpuprofile /tmp/kv.pprof"), PIN (0; 1: servers on
# CPU 1, redis-benchmark on CPU 0), REDIS_PORT (6390), KV_PORT (6380).
set -eu

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-"50 500"}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-ping_inline,set,get}
KV_LOOPS=${KV_LOOPS:-1}
KV_FLAGS=${KV_FLAGS:-}
REDIS_PORT=${REDIS_PORT:-6390}
KV_PORT=${KV_PORT:-6380}
HOST=127.0.0.1

cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1 ||
	! command -v redis-cli >/dev/null 2>&1; then
	sudo=
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	fi
	echo "installing redis-server and redis-tools" >&2
	$sudo apt-get update
	$sudo apt-get install -y redis-tools redis-server
fi

work=$(mktemp -d)
. bench/redis-rounds.sh

for port in "$REDIS_PORT" "$KV_PORT"; do
	if redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1; then
		echo "something already answers on $HOST:$port; stop it or set REDIS_PORT/KV_PORT" >&2
		exit 1
	fi
done

echo "building examples/kv" >&2
go build -o "$work/kv" ./examples/kv

# shellcheck disable=SC2086 # SERVER_PIN is a command and its flags
$SERVER_PIN redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize no --logfile "$work/redis.log" --dir "$work" &
redis_pid=$!

# shellcheck disable=SC2086 # KV_FLAGS is a list of flags
$SERVER_PIN "$work/kv" -addr "tcp://$HOST:$KV_PORT" -loops "$KV_LOOPS" $KV_FLAGS >"$work/kv.out" 2>"$work/kv.err" &
kv_pid=$!

wait_servers 'listening ' redis-cli -h "$HOST" -p "$REDIS_PORT" ping
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on :$REDIS_PORT, kv (-loops $KV_LOOPS) on :$KV_PORT" >&2

run_rounds

echo
echo "median requests/s and server CPU per request over $ROUNDS rounds (-n $REQUESTS × P, kv -loops $KV_LOOPS; CPU in ${HZ} Hz ticks)"
medians
