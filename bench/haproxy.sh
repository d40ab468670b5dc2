#!/bin/sh
# HAProxy in front of two example servers, with the PROXY protocol v2.
# HAProxy (installed with apt-get if missing; never in CI) listens on
# loopback and balances over two servers started with ?proxy=required that
# trust only HAProxy's address, and log each conn at -log-level debug.
#
#	bench/haproxy.sh [echo] [restartload flags, e.g. -conns 500 -every 10s]
#	bench/haproxy.sh kv [KEYS [REQUESTS]]
#
# echo (the default): two examples/echo servers behind "balance
# roundrobin". A load through HAProxy from the client addresses 127.0.0.2
# and 127.0.0.3 checks every echoed byte (bench/restartload); then the
# servers' debug logs must show those client addresses (remote=), never
# HAProxy's 127.0.0.1, and both servers must have served conns.
#
# kv: two examples/kv servers. HAProxy connects to them from 127.0.0.10
# (its "source"), the only address they trust, and has two frontends:
#   - "balance source", which keeps a client on one server (the two stores
#     are separate): bench/kvcheck writes KEYS keys (default 2000) from each
#     of 127.0.0.2-9 and reads each back on a new conn from the same source,
#     and uses INFO (process_id, key count) to check the keys went into the
#     store of the server the source reached, and that both servers did;
#   - "balance roundrobin" for the load: redis-benchmark SET and GET
#     (-c 50 -P 16, REQUESTS each, default 200000) over both servers, which
#     must complete (redis-benchmark exits at the first error or lost conn).
# kvcheck runs before and after the load. Then every conn kvcheck made must
# be in the debug log of the server it reached, as "conn opened
# remote=<kvcheck's own address:port>", never 127.0.0.10 (HAProxy); no conn
# may close with an error and no server may warn.
set -eu
cd "$(dirname "$0")/.."
mode=echo
case "${1:-}" in
echo | kv)
	mode=$1
	shift
	;;
esac
need=haproxy
[ "$mode" = kv ] && need="haproxy redis-tools"
for p in $need; do
	cmd=$p
	[ "$p" = redis-tools ] && cmd=redis-benchmark
	if ! command -v "$cmd" >/dev/null 2>&1; then
		sudo=
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get install -y "$p"
	fi
done
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# listening waits for a server's "listening tcp://host:port" line and
# prints host:port.
listening() {
	i=0
	while ! grep -q '^listening ' "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "no listening line in $1" >&2; exit 1; }
		sleep 0.05
	done
	sed -n 's|^listening tcp://||p' "$1" | head -n 1
}

# start_servers BIN TRUSTED LOOPS starts two servers; their stdout goes to
# $tmp/s1.out, s2.out, their log to s1.log, s2.log, their pids to s1.pid,
# s2.pid; it sets s1 and s2 to their host:port.
start_servers() {
	for n in 1 2; do
		"$1" -addr 'tcp://127.0.0.1:0?proxy=required' -proxy-trusted "$2" \
			-loops "$3" -log-level debug >"$tmp/s$n.out" 2>"$tmp/s$n.log" &
		pids="$pids $!"
		echo $! >"$tmp/s$n.pid"
	done
	s1=$(listening "$tmp/s1.out")
	s2=$(listening "$tmp/s2.out")
}

# start_haproxy CONFIG PROBE: picks a port below the ephemeral range (the
# kernel hands out ports above 32767 to outgoing conns), writes the config
# with the function CONFIG (it uses $port, and $port+1 if it wants two),
# starts HAProxy on it and retries the function PROBE until it succeeds. If HAProxy
# exits instead (the port was taken), it tries other ports.
start_haproxy() {
	config=$1
	probe=$2
	for attempt in 1 2 3 4 5; do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		"$config" >"$tmp/haproxy.cfg"
		haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
		hpid=$!
		i=0
		until "$probe" >/dev/null 2>&1; do
			i=$((i + 1))
			if ! kill -0 "$hpid" 2>/dev/null; then
				continue 2
			fi
			[ $i -lt 100 ] || break 2
			sleep 0.05
		done
		pids="$pids $hpid"
		return 0
	done
	echo "HAProxy does not serve:" >&2
	cat "$tmp/haproxy.log" >&2
	kill "$hpid" 2>/dev/null || true
	exit 1
}

# no_warnings NAME LOG fails if the server logged a warning or an error.
no_warnings() {
	if grep -a -q 'level=ERROR\|level=WARN' "$2"; then
		echo "$1 warned:" && grep -a 'level=ERROR\|level=WARN' "$2" | head -n 5
		fail=1
	fi
}

# haproxy_defaults prints the global and defaults sections that the
# configs of both modes share: TCP mode, bounded waits.
haproxy_defaults() {
	cat <<CFG
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
CFG
}

haproxy_version() { haproxy -v | head -n 1 | cut -d' ' -f3; }

echo_config() {
	haproxy_defaults
	cat <<CFG
frontend fe
	bind 127.0.0.1:$port
	default_backend echoes
backend echoes
	balance roundrobin
	server echo1 $s1 send-proxy-v2
	server echo2 $s2 send-proxy-v2
CFG
}

echo_probe() { "$tmp/restartload" -addr "127.0.0.1:$port" -sources 127.0.0.2 -conns 1 -dialers 0 -every 10ms; }

run_echo() {
	go build -o "$tmp/echo" ./examples/echo
	go build -o "$tmp/restartload" ./bench/restartload
	start_servers "$tmp/echo" 127.0.0.1/32 2
	start_haproxy echo_config echo_probe
	echo "HAProxy $(haproxy_version) on 127.0.0.1:$port -> echo $s1, echo $s2 (send-proxy-v2, ?proxy=required)"
	"$tmp/restartload" -addr "127.0.0.1:$port" -sources 127.0.0.2,127.0.0.3 -conns 100 -dialers 4 -every 5s "$@"

	fail=0
	for n in 1 2; do
		log="$tmp/s$n.log"
		opened=$(grep -a -c 'msg="conn opened"' "$log" || true)
		real=$(grep -a 'msg="conn opened"' "$log" | grep -c -E 'remote=127\.0\.0\.[23]:' || true)
		balancer=$(grep -a 'msg="conn opened"' "$log" | grep -c 'remote=127\.0\.0\.1:' || true)
		echo "echo$n: $opened conns opened; remote= a client address (127.0.0.2/3): $real; HAProxy's 127.0.0.1: $balancer"
		grep -a 'msg="conn opened"' "$log" | head -n 1
		if [ "$opened" -eq 0 ] || [ "$real" -ne "$opened" ]; then fail=1; fi
		no_warnings "echo$n" "$log"
	done
	[ $fail -eq 0 ] && echo "PASS: every byte echoed through HAProxy; the servers saw the real client addresses" || { echo FAIL; exit 1; }
}

kv_config() {
	haproxy_defaults
	cat <<CFG
frontend by_source
	bind 127.0.0.1:$port
	default_backend kv_by_source
frontend round_robin
	bind 127.0.0.1:$((port + 1))
	default_backend kv_round_robin
backend kv_by_source
	balance source
	source 127.0.0.10
	server kv1 $s1 send-proxy-v2
	server kv2 $s2 send-proxy-v2
backend kv_round_robin
	balance roundrobin
	source 127.0.0.10
	server kv1 $s1 send-proxy-v2
	server kv2 $s2 send-proxy-v2
CFG
}

kv_probe() { [ "$(redis-cli -h 127.0.0.1 -p "$((port + 1))" ping 2>/dev/null)" = PONG ]; }

run_kv() {
	keys=${1:-2000}
	requests=${2:-200000}
	go build -o "$tmp/kv" ./examples/kv
	go build -o "$tmp/kvcheck" ./bench/kvcheck
	start_servers "$tmp/kv" 127.0.0.10/32 1
	start_haproxy kv_config kv_probe
	src_port=$port
	rr_port=$((port + 1))
	echo "HAProxy $(haproxy_version): 127.0.0.1:$src_port (balance source), 127.0.0.1:$rr_port (roundrobin) -> kv $s1 (pid $(cat "$tmp/s1.pid")), kv $s2 (pid $(cat "$tmp/s2.pid")); send-proxy-v2 from 127.0.0.10, ?proxy=required"

	fail=0
	echo "kvcheck through 'balance source', before the load:"
	"$tmp/kvcheck" -addr "127.0.0.1:$src_port" -keys "$keys" -backends 2 >"$tmp/kvcheck1.out" || fail=1
	grep -v '^conn ' "$tmp/kvcheck1.out"
	echo "redis-benchmark through 'roundrobin': SET, GET, -c 50 -P 16 -n $requests:"
	if ! redis-benchmark -h 127.0.0.1 -p "$rr_port" -t set,get -c 50 -P 16 -n "$requests" -q \
		>"$tmp/bench.out" 2>&1; then
		fail=1
	fi
	tr '\r' '\n' <"$tmp/bench.out" | grep -a 'requests per second' || true
	if [ "$(tr '\r' '\n' <"$tmp/bench.out" | grep -a -c 'requests per second')" -ne 2 ] ||
		tr '\r' '\n' <"$tmp/bench.out" | grep -a -q -i '^error\|error:\|reset\|closed'; then
		echo "redis-benchmark failed:" && tr '\r' '\n' <"$tmp/bench.out" | grep -a -v '^$' | tail -n 5
		fail=1
	fi
	echo "kvcheck through 'balance source', after the load:"
	"$tmp/kvcheck" -addr "127.0.0.1:$src_port" -keys "$keys" -backends 2 >"$tmp/kvcheck2.out" || fail=1
	grep -v '^conn ' "$tmp/kvcheck2.out"
	# Let the servers log the closes of the last conns.
	sleep 0.5

	# Each kvcheck conn, by its own address, in the log of the server
	# (pid) it reached, and not in the other's.
	found=0
	misplaced=0
	conns=0
	for line in $(cat "$tmp/kvcheck1.out" "$tmp/kvcheck2.out" | awk '$1 == "conn" { print $2 "/" $4 }'); do
		addr=${line%/*}
		pid=${line#*/}
		conns=$((conns + 1))
		for n in 1 2; do
			if grep -a -q -F "msg=\"conn opened\" remote=$addr " "$tmp/s$n.log"; then
				if [ "$(cat "$tmp/s$n.pid")" = "$pid" ]; then
					found=$((found + 1))
				else
					misplaced=$((misplaced + 1))
				fi
			fi
		done
	done
	echo "kvcheck's $conns conns: $found found by their client address:port in the log of the server they reached, $misplaced in the other's"
	[ "$conns" -gt 0 ] && [ "$found" -eq "$conns" ] && [ "$misplaced" -eq 0 ] || fail=1
	for n in 1 2; do
		log="$tmp/s$n.log"
		opened=$(grep -a -c 'msg="conn opened"' "$log" || true)
		clients=$(grep -a 'msg="conn opened"' "$log" | grep -c -E 'remote=127\.0\.0\.[1-9]:' || true)
		balancer=$(grep -a 'msg="conn opened"' "$log" | grep -c 'remote=127\.0\.0\.10:' || true)
		closed=$(grep -a -c 'msg="conn closed"' "$log" || true)
		unclean=$(grep -a 'msg="conn closed"' "$log" | grep -v -c 'cause=clean' || true)
		echo "kv$n: $opened conns opened, remote= a client address (127.0.0.1-9): $clients, HAProxy's 127.0.0.10: $balancer; $closed closed, $unclean of them with an error"
		grep -a 'msg="conn opened"' "$log" | grep -a 'remote=127\.0\.0\.[2-9]:' | head -n 1
		if [ "$opened" -eq 0 ] || [ "$clients" -ne "$opened" ] || [ "$unclean" -ne 0 ]; then fail=1; fi
		[ "$unclean" -eq 0 ] || grep -a 'msg="conn closed"' "$log" | grep -v 'cause=clean' | head -n 3
		no_warnings "kv$n" "$log"
	done
	# Straight to a server, with no PROXY header and from an address it
	# does not trust: no answer.
	direct=$(timeout 10 redis-cli -h "${s1%:*}" -p "${s1##*:}" ping 2>&1 || true)
	echo "redis-cli PING straight to kv1 (no PROXY header, from 127.0.0.1): ${direct:-no reply}"
	[ "$direct" != PONG ] || fail=1
	[ $fail -eq 0 ] && echo "PASS: every key read back from the server it went to, the load completed without error, the servers saw the real client addresses" || { echo FAIL; exit 1; }
}

"run_$mode" "$@"
