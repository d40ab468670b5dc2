# Shared by bench/redis.sh and bench/redis-tls.sh (sourced with ".", not
# run): the server processes' cleanup, the wait for both servers, the
# alternating rounds of redis-benchmark, each server's CPU time per request,
# and the table of medians. The sourcing script sets work, HOST, ROUNDS,
# CLIENTS, PIPELINES, TESTS, REQUESTS, REDIS_PORT and KV_PORT first (and
# RB_ARGS: extra redis-benchmark flags, e.g. for TLS), then starts the
# servers into redis_pid and kv_pid.

redis_pid=
kv_pid=
RB_ARGS=${RB_ARGS:-}

# PIN=1 runs the servers on CPU 1 and redis-benchmark on CPU 0 (taskset):
# on this 2-core machine the scheduler otherwise moves them about, and
# where the client lands moves its throughput more than either server does.
# Each server then has one CPU, as redis-server's one event-loop thread
# uses; kv's runtime sees one CPU too (GOMAXPROCS 1).
SERVER_PIN=
CLIENT_PIN=
if [ "${PIN:-0}" = 1 ]; then
	SERVER_PIN="taskset -c 1"
	CLIENT_PIN="taskset -c 0"
fi
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

# wait_servers KV_LINE REDIS_READY...: waits until kv has printed a line
# starting with KV_LINE on $work/kv.out and the command REDIS_READY succeeds.
wait_servers() {
	kv_line=$1
	shift
	i=0
	until grep -q "^$kv_line" "$work/kv.out" 2>/dev/null && "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$kv_pid" 2>/dev/null || ! kill -0 "$redis_pid" 2>/dev/null; then
			echo "servers did not start:" >&2
			cat "$work/kv.err" "$work/redis.log" >&2 2>/dev/null || true
			exit 1
		fi
		sleep 0.1
	done
}

# cpu_ticks PID is the process's user+system CPU time in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# bench SERVER PORT PIPELINE ROUND CLIENTS appends "SERVER CLIENTS/PIPELINE
# TEST RPS ROUND US_PER_REQUEST" lines to $work/results: one redis-benchmark
# per test, so that the server's CPU time can be read from /proc around it.
# redis-benchmark -q redraws progress with '\r'; keep the final lines only.
# A run at -P p sends REQUESTS*p requests, so that runs at every depth last
# about as long: at -P 16 REQUESTS alone took a fifth of a second, of which
# connecting (over TLS, 50 handshakes) was a good part.
bench() {
	if [ "$1" = kv ]; then pid=$kv_pid; else pid=$redis_pid; fi
	n=$((REQUESTS * $3))
	for test in $(echo "$TESTS" | tr ',' ' '); do
		cpu0=$(cpu_ticks "$pid")
		# shellcheck disable=SC2086 # RB_ARGS and CLIENT_PIN are lists of words
		line=$($CLIENT_PIN redis-benchmark $RB_ARGS -h "$HOST" -p "$2" -t "$test" -c "$5" -n "$n" -q -P "$3" 2>&1 |
			tr '\r' '\n' | grep 'requests per second')
		cpu1=$(cpu_ticks "$pid")
		echo "$line" | awk -v s="$1" -v p="$3" -v r="$4" -v c="$5" -v ticks=$((cpu1 - cpu0)) -v hz="$HZ" -v n="$n" \
			'{ sub(":", "", $1); us = ticks * 1e6 / hz / n; print s, c "/" p, $1, $2, r, us; printf "  round %s  %-6s -c %-4s -P %-3s %-12s %12.0f rps %7.2f us/req\n", r, s, c, p, $1, $2, us > "/dev/stderr" }' \
			>>"$work/results"
	done
}

# run_rounds runs bench for every round, client count and pipeline depth,
# alternating which server goes first, then checks kv is still up.
run_rounds() {
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
}

# medians prints, for each (CLIENTS/PIPELINE, TEST) of the results, in
# order, the median rps of redis and of kv, their ratio, each server's
# median CPU time per request, the median of the per-round ratios and the
# rounds kv was at or above redis: a header and one line each.
medians() {
	printf '%-12s %8s %14s %14s %9s %12s %12s %7s %6s\n' test c/P redis kv kv/redis "redis us/req" "kv us/req" paired "kv>=r"
	sort -k2,2V -k3,3 -k1,1 "$work/results" | awk '
		{ key = $2 " " $3 " " $1; n[key]++; v[key, n[key]] = $4; u[key, n[key]] = $6; if (!(($2 " " $3) in seen)) { seen[$2 " " $3] = 1; order[++rows] = $2 " " $3 }
		  rps[$2 " " $3, $5, $1] = $4; if ($5 > maxround) maxround = $5 }
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
				# paired: the median over rounds of kv ÷ redis in the same
				# round, run back to back, which cancels the drift of the host
				# between rounds; kv>=r counts the rounds kv was not behind.
				pk = order[i] " paired"; wins = 0
				for (j = 1; j <= maxround; j++) {
					if ((order[i], j, "redis") in rps && (order[i], j, "kv") in rps && rps[order[i], j, "redis"] > 0) {
						q = rps[order[i], j, "kv"] / rps[order[i], j, "redis"]
						n[pk]++; v[pk, n[pk]] = q; if (q >= 1) wins++
					}
				}
				printf "%-12s %8s %14.0f %14.0f %9.2f %12.2f %12.2f %7.2f %3d/%-2d\n", f[2], f[1], r, k, r ? k / r : 0, median(u, order[i] " redis"), median(u, order[i] " kv"), median(v, pk), wins, n[pk]
			}
		}'
}
