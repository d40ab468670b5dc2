# Shared by bench/redis.sh and bench/redis-tls.sh (sourced with ".", not
# run): the server processes' cleanup, the wait for both servers, the
# alternating rounds of redis-benchmark and the table of medians. The
# sourcing script sets work, HOST, ROUNDS, CLIENTS, PIPELINES, REDIS_PORT and
# KV_PORT first, starts the servers into redis_pid and kv_pid, and defines
#
#	bench SERVER PORT PIPELINE ROUND CLIENTS
#
# which appends lines "SERVER KEY TEST RPS ROUND" to $work/results.

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

# medians FORMAT prints, for each (KEY, TEST) of the results, in order, the
# median rps of redis and of kv and their ratio, one printf FORMAT line each
# (its arguments: TEST KEY REDIS KV KV/REDIS).
medians() {
	sort -k2,2V -k3,3 -k1,1 -k4,4g "$work/results" | awk -v fmt="$1" '
		{ key = $2 " " $3 " " $1; n[key]++; v[key, n[key]] = $4; if (!(($2 " " $3) in seen)) { seen[$2 " " $3] = 1; order[++rows] = $2 " " $3 } }
		function median(key,   c) { c = n[key]; if (c == 0) return 0; return c % 2 ? v[key, (c + 1) / 2] : (v[key, c / 2] + v[key, c / 2 + 1]) / 2 }
		END {
			for (i = 1; i <= rows; i++) {
				split(order[i], f, " ")
				r = median(order[i] " redis"); k = median(order[i] " kv")
				printf fmt, f[2], f[1], r, k, r ? k / r : 0
			}
		}'
}
