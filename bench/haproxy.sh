#!/bin/sh
# HAProxy in front of two echo instances, with the PROXY protocol v2:
# HAProxy (installed with apt-get if missing) listens on loopback and
# balances over two examples/echo servers started with ?proxy=required,
# trusting only HAProxy's address. A load through HAProxy from the client
# addresses 127.0.0.2 and 127.0.0.3 checks every echoed byte; then the
# servers' debug logs must show those client addresses (remote=), never
# HAProxy's 127.0.0.1, and both servers must have served conns.
#
#	bench/haproxy.sh [restartload flags, e.g. -conns 500 -every 10s]
set -eu
cd "$(dirname "$0")/.."
if ! command -v haproxy >/dev/null 2>&1; then
	apt-get install -y haproxy
fi
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/echo" ./examples/echo
go build -o "$tmp/restartload" ./bench/restartload

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
for n in 1 2; do
	"$tmp/echo" -addr 'tcp://127.0.0.1:0?proxy=required' -proxy-trusted 127.0.0.1/32 \
		-loops 2 -log-level debug >"$tmp/echo$n.out" 2>"$tmp/echo$n.log" &
	pids="$pids $!"
done
e1=$(listening "$tmp/echo1.out")
e2=$(listening "$tmp/echo2.out")

port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
cat >"$tmp/haproxy.cfg" <<CFG
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:$port
	default_backend echoes
backend echoes
	balance roundrobin
	server echo1 $e1 send-proxy-v2
	server echo2 $e2 send-proxy-v2
CFG
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids="$pids $!"
i=0
until "$tmp/restartload" -addr "127.0.0.1:$port" -sources 127.0.0.2 -conns 1 -dialers 0 -every 10ms >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "HAProxy does not serve 127.0.0.1:$port:" >&2; cat "$tmp/haproxy.log" >&2; exit 1; }
	sleep 0.05
done
echo "HAProxy $(haproxy -v | head -n 1 | cut -d' ' -f3) on 127.0.0.1:$port -> echo $e1, echo $e2 (send-proxy-v2, ?proxy=required)"
"$tmp/restartload" -addr "127.0.0.1:$port" -sources 127.0.0.2,127.0.0.3 -conns 100 -dialers 4 -every 5s "$@"

fail=0
for n in 1 2; do
	log="$tmp/echo$n.log"
	opened=$(grep -a -c 'msg="conn opened"' "$log" || true)
	real=$(grep -a 'msg="conn opened"' "$log" | grep -c -E 'remote=127\.0\.0\.[23]:' || true)
	balancer=$(grep -a 'msg="conn opened"' "$log" | grep -c 'remote=127\.0\.0\.1:' || true)
	echo "echo$n: $opened conns opened; remote= a client address (127.0.0.2/3): $real; HAProxy's 127.0.0.1: $balancer"
	grep -a 'msg="conn opened"' "$log" | head -n 1
	if [ "$opened" -eq 0 ] || [ "$real" -ne "$opened" ]; then fail=1; fi
	if grep -a -q 'level=ERROR\|level=WARN' "$log"; then
		echo "echo$n warned:" && grep -a 'level=ERROR\|level=WARN' "$log" | head -n 5
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "PASS: every byte echoed through HAProxy; the servers saw the real client addresses" || { echo FAIL; exit 1; }
