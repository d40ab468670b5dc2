#!/bin/sh
# bench/http.sh — HTTP/1.1 servers side by side under the TechEmpower rules:
# plaintext (wrk, a 16-deep pipeline, 256 conns) and json (no pipelining,
# 256 conns), on evloop's http1 (loop-native handler), the same net/http
# handler through http1.NetHTTP and under net/http's own server, fasthttp
# v1.79.0, nbio v1.6.8 (nbhttp) and gnet v2.10.0 with a TechEmpower-style
# handler ("stripped": it only scans for CRLFCRLF). Then each server's RSS
# per idle keep-alive conn (IDLE conns, one request each).
#
#	bench/http.sh                 # ROUNDS=3 DURATION=5s; writes bench/http-results.md and .svg
#	SERVERS="evloop fasthttp" ROUNDS=5 bench/http.sh
#	SERVERS="evloop-nethttp evloop-nethttp-uring nethttp" IDLE=0 bench/http.sh
#
# The servers run in turn inside each round (alternated, so drift in the
# machine's load hits all alike); the table gives each figure's median
# over the rounds, the server's CPU per request beside it (from
# /proc/PID/stat), and evloop's ratio to each. The peers are built from
# bench/peers, a module of its own: evloop's go.mod never names them.
# Needs wrk (apt-get install wrk) and Linux (/proc).
set -eu

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-256}
DEPTH=${DEPTH:-16}
THREADS=${THREADS:-2}
LOOPS=${LOOPS:-$(nproc)}
IDLE=${IDLE:-10000}
SERVERS=${SERVERS:-"evloop evloop-nethttp nethttp fasthttp nbio gnet"}
OUT=${OUT:-bench/http-results.md}
SVG=${SVG:-bench/http-results.svg}

cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "http.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
(cd bench/peers && go build -o "$TMP/httpd" ./httpd && go build -o "$TMP/idleconns" ./idleconns)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CLK=$(getconf CLK_TCK)

cat >"$TMP/pipeline.lua" <<'EOF'
-- TechEmpower's pipeline script: DEPTH requests per write.
init = function(args)
	local r = {}
	local depth = tonumber(args[1]) or 1
	for i = 1, depth do r[i] = wrk.format() end
	req = table.concat(r)
end
request = function() return req end
EOF

# start SERVER PORT: runs the server and waits for its "listening" line.
start() {
	"$TMP/httpd" -server "$1" -addr "127.0.0.1:$2" -loops "$LOOPS" >"$TMP/server.out" 2>&1 &
	SERVER_PID=$!
	i=0
	until grep -q listening "$TMP/server.out"; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "http.sh: $1 did not start" >&2; cat "$TMP/server.out" >&2; exit 1; }
		sleep 0.1
	done
}

stop() {
	kill "$SERVER_PID" 2>/dev/null || { echo "http.sh: the server had exited:" >&2; cat "$TMP/server.out" >&2; }
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

cputicks() {
	awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null && return
	echo "http.sh: the server exited:" >&2
	cat "$TMP/server.out" >&2
	exit 1
}

# run SERVER TEST PORT ROUND: one wrk run; appends "server test round rps cpu_us".
run() {
	if [ "$2" = plaintext ]; then
		set -- "$1" "$2" "$3" "$4" -s "$TMP/pipeline.lua" "http://127.0.0.1:$3/plaintext" -- "$DEPTH"
	else
		set -- "$1" "$2" "$3" "$4" "http://127.0.0.1:$3/json"
	fi
	name=$1 test=$2 round=$4
	shift 4
	# On a shared machine another job may kill wrk (a pkill of its own):
	# such a run is taken again.
	try=1
	while :; do
		t0=$(cputicks)
		wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" "$@" >"$TMP/wrk.out" 2>&1 && break
		rc=$?
		try=$((try + 1))
		[ $try -gt 3 ] && { echo "http.sh: wrk failed ($rc)" >&2; cat "$TMP/wrk.out" >&2; exit 1; }
		echo "http.sh: wrk exited $rc; running $name $test again" >&2
	done
	t1=$(cputicks)
	awk -v name="$name" -v test="$test" -v round="$round" -v ticks=$((t1 - t0)) -v clk="$CLK" '
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx|Socket errors/ { err = err $0 }
		END {
			if (n == 0) { print "http.sh: no requests: " name " " test > "/dev/stderr"; exit 1 }
			if (err != "") print "http.sh: " name " " test ": " err > "/dev/stderr"
			printf "%s %s %d %.0f %.3f\n", name, test, round, rps, ticks / clk / n * 1e6
		}' "$TMP/wrk.out" >>"$TMP/raw"
	tail -1 "$TMP/raw"
}

: >"$TMP/raw"
r=1
while [ $r -le "$ROUNDS" ]; do
	port=18080
	for s in $SERVERS; do
		port=$((port + 1))
		start "$s" "$port"
		wrk -t "$THREADS" -c "$CONNS" -d 1s "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 || true # warm up
		run "$s" plaintext "$port" "$r"
		run "$s" json "$port" "$r"
		stop
	done
	r=$((r + 1))
done

# Idle keep-alive conns: the server's RSS growth per conn.
: >"$TMP/idle"
if [ "$IDLE" -gt 0 ]; then
	port=18180
	for s in $SERVERS; do
		port=$((port + 1))
		start "$s" "$port"
		rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
		mkfifo "$TMP/hold"
		"$TMP/idleconns" -addr "127.0.0.1:$port" -n "$IDLE" <"$TMP/hold" >"$TMP/idle.out" 2>&1 &
		cpid=$!
		exec 3>"$TMP/hold"
		i=0
		until grep -q ready "$TMP/idle.out"; do
			i=$((i + 1))
			if [ $i -gt 600 ] || ! kill -0 $cpid 2>/dev/null; then
				echo "http.sh: idle conns to $s failed" >&2
				cat "$TMP/idle.out" >&2
				break
			fi
			sleep 0.1
		done
		sleep 1 # let the server settle (its GC, its buffers)
		rss1=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
		echo "$s $(((rss1 - rss0) * 1024 / IDLE))" | tee -a "$TMP/idle"
		exec 3>&-
		wait $cpid || true
		rm -f "$TMP/hold"
		stop
	done
fi

# Medians per server and test, then the table with evloop's ratios.
sort -k1,1 -k2,2 -k4,4n "$TMP/raw" | awk '
	{ k = $1 " " $2; v[k, ++c[k]] = $4; u[k, c[k]] = $5; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
	END {
		for (i = 1; i <= nk; i++) {
			k = keys[i]; n = c[k]
			# rps sorted ascending by sort(1); cpu values sorted here
			m = (n % 2) ? v[k, (n + 1) / 2] : (v[k, n / 2] + v[k, n / 2 + 1]) / 2
			for (a = 1; a <= n; a++) x[a] = u[k, a]
			for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
			mu = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
			print k, m, mu
		}
	}' >"$TMP/med"

{
	echo "# HTTP/1.1 servers: TechEmpower plaintext and json"
	echo
	echo "bench/http.sh on $(nproc) cores ($(uname -r)), $(date -u +%Y-%m-%d): ROUNDS=$ROUNDS DURATION=$DURATION"
	echo "CONNS=$CONNS DEPTH=$DEPTH (plaintext) THREADS=$THREADS (wrk) LOOPS=$LOOPS; wrk and the server share the cores."
	echo "Medians over the rounds; CPU is the server's user+system time per request."
	echo
	echo "| server | plaintext req/s | µs CPU/req | evloop ÷ it | json req/s | µs CPU/req | evloop ÷ it | RSS per idle conn |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -v idle="$TMP/idle" '
		FILENAME == ARGV[1] { rss[$1] = $2; next }
		{ rps[$1, $2] = $3; cpu[$1, $2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
		END {
			for (i = 1; i <= n; i++) {
				s = order[i]; label = s
				if (s == "gnet") label = "gnet (stripped)"
				ref = (s == "nethttp") ? "evloop-nethttp" : "evloop"
				line = "| " label
				split("plaintext json", ts, " ")
				for (j = 1; j <= 2; j++) {
					t = ts[j]
					ratio = (rps[s, t] > 0 && rps[ref, t] > 0) ? sprintf("%.2f", rps[ref, t] / rps[s, t]) : "-"
					if (ref != "evloop") ratio = ratio " (adapter)"
					line = line sprintf(" | %d | %.2f | %s", rps[s, t], cpu[s, t], ratio)
				}
				line = line " | " ((s in rss) ? rss[s] " B" : "-") " |"
				print line
			}
		}' "$TMP/idle" "$TMP/med"
	echo
	echo "\"evloop ÷ it\" is evloop's loop-native median over this row's; on the nethttp row it is"
	echo "the net/http adapter's (the same handler) over net/http's own server."
	awk '{ rps[$1, $2] = $3 }
		END {
			split("evloop-nethttp evloop-nethttp-uring", as, " ")
			for (i = 1; i <= 2; i++) {
				a = as[i]
				if (rps[a, "json"] > 0 && rps["nethttp", "json"] > 0)
					printf "%s ÷ nethttp: plaintext %.2f, json %.2f\n", a, rps[a, "plaintext"] / rps["nethttp", "plaintext"], rps[a, "json"] / rps["nethttp", "json"]
			}
		}' "$TMP/med" | sed 's/^/\n/'
} >"$OUT"

# A bar chart of the plaintext and json medians.
awk '
	{ rps[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }; if ($3 > max) max = $3 }
	END {
		w = 720; bh = 14; gap = 10; left = 150; h = n * (2 * bh + gap) + 40
		printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", w, h
		printf "<text x=\"%d\" y=\"14\">requests/s, median (blue: plaintext, 16-deep pipeline; orange: json)</text>\n", left
		y = 24
		for (i = 1; i <= n; i++) {
			s = order[i]
			printf "<text x=\"4\" y=\"%d\">%s</text>\n", y + bh + 4, (s == "gnet") ? "gnet (stripped)" : s
			split("plaintext json", ts, " ")
			for (j = 1; j <= 2; j++) {
				v = rps[s, ts[j]]; bw = (w - left - 90) * v / max
				printf "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" fill=\"%s\"/>\n", left, y, bw, bh - 1, (j == 1) ? "#4477aa" : "#ee8833"
				printf "<text x=\"%.0f\" y=\"%d\">%d</text>\n", left + bw + 4, y + bh - 3, v
				y += bh
			}
			y += gap
		}
		print "</svg>"
	}' "$TMP/med" >"$SVG"

cat "$OUT"
