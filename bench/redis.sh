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
# Environment: ROUNDS (3), REQUESTS (200000), CLIENTS ("50 500"), PIPELINES
# ("1 16"), TESTS (ping_inline,set,get), KV_LOOPS (1), KV_FLAGS (extra kv
# flags, e.g. "-cpuprofile /tmp/kv.pprof"), REDIS_PORT (6390), KV_PORT (6380).
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
redis_pid=
kv_pid=
cleanup() {
	for pid in $kv_pid $redis_pid; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $kv_pid $redis_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in "$REDIS_PORT" "$KV_PORT"; do
	if redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1; then
		echo "something already answers on $HOST:$port; stop it or set REDIS_PORT/KV_PORT" >&2
		exit 1
	fi
done

echo "building examples/kv" >&2
go build -o "$work/kv" ./examples/kv

redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize no --logfile "$work/redis.log" --dir "$work" &
redis_pid=$!

# shellcheck disable=SC2086 # KV_FLAGS is a list of flags
"$work/kv" -addr "tcp://$HOST:$KV_PORT" -loops "$KV_LOOPS" $KV_FLAGS >"$work/kv.out" 2>"$work/kv.err" &
kv_pid=$!

# Wait for both: kv prints its listening line, redis answers PING.
i=0
until grep -q '^listening ' "$work/kv.out" 2>/dev/null &&
	redis-cli -h "$HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$kv_pid" 2>/dev/null || ! kill -0 "$redis_pid" 2>/dev/null; then
		echo "servers did not start:" >&2
		cat "$work/kv.err" "$work/redis.log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on :$REDIS_PORT, kv (-loops $KV_LOOPS) on :$KV_PORT" >&2

# bench SERVER PORT PIPELINE ROUND CLIENTS appends "server clients/pipeline
# test rps" lines to results. redis-benchmark -q redraws progress with '\r';
# keep the final lines only.
bench() {
	if [ "$1" = kv ]; then pid=$kv_pid; else pid=$redis_pid; fi
	t=$(echo "$TESTS" | tr ',' ' ')
	for test in $t; do
		cpu0=$(cpu_ticks "$pid")
		line=$(redis-benchmark -h "$HOST" -p "$2" -t "$test" -c "$5" -n "$REQUESTS" -q -P "$3" 2>&1 |
			tr '\r' '\n' | grep 'requests per second')
		cpu1=$(cpu_ticks "$pid")
		echo "$line" | awk -v s="$1" -v p="$3" -v r="$4" -v c="$5" -v ticks=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$REQUESTS" \
			'{ sub(":", "", $1); us = ticks * 1e6 / hz / n; print s, c "/" p, $1, $2, r, us; printf "  round %s  %-6s -c %-4s -P %-3s %-12s %12.0f rps %7.2f us/req\n", r, s, c, p, $1, $2, us > "/dev/stderr" }' \
			>>"$work/results"
	done
}

# cpu_ticks PID is the process's user+system CPU time in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

: >"$work/results"
round=1
while [ "$round" -le "$ROUNDS" ]; do
	for c in $CLIENTS; do
		for p in $PIPELINES; do
			if [ $((round % 2)) -eq 1 ]; then
				bench redis "$REDIS_PORT" "$p" "$round" "$c"
				bench kv "$KV_PORT" "$p" "$round" "$c"
			else
				bench kv "$KV_PORT" "$p" "$round" "$c"
				bench redis "$REDIS_PORT" "$p" "$round" "$c"
			fi
		done
	done
	round=$((round + 1))
done

if ! kill -0 "$kv_pid" 2>/dev/null; then
	echo "kv exited during the benchmark:" >&2
	cat "$work/kv.err" >&2
	exit 1
fi

echo
echo "median requests/s and server CPU per request over $ROUNDS rounds (-n $REQUESTS, kv -loops $KV_LOOPS; CPU in ${HZ} Hz ticks)"
printf '%-12s %8s %14s %14s %9s %12s %12s\n' test c/P redis kv kv/redis "redis us/req" "kv us/req"
# Medians per (clients/pipeline, test, server), of rps and of CPU per
# request separately; then one row per (clients/pipeline, test).
sort -k2,2V -k3,3 -k1,1 "$work/results" | awk '
	{ key = $2 " " $3 " " $1; n[key]++; v[key, n[key]] = $4; u[key, n[key]] = $6; if (!(($2 " " $3) in seen)) { seen[$2 " " $3] = 1; order[++rows] = $2 " " $3 } }
	function median(a, key,   c, i, j, t, x) {
		c = n[key]
		if (c == 0) return 0
		for (i = 1; i <= c; i++) x[i] = a[key, i]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
		return c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
	}
	END {
		for (i = 1; i <= rows; i++) {
			split(order[i], f, " ")
			r = median(v, order[i] " redis"); k = median(v, order[i] " kv")
			printf "%-12s %8s %14.0f %14.0f %9.2f %12.2f %12.2f\n", f[2], f[1], r, k, r ? k / r : 0, median(u, order[i] " redis"), median(u, order[i] " kv")
		}
	}'
