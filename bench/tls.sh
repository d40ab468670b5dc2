#!/bin/sh
# TLS checks and benchmarks with real clients, on loopback only:
#
#	bench/tls.sh [tlsbench flags...]
#
# 1. Starts examples/echo -addr tls://127.0.0.1:PORT with no certificate
#    files (an ephemeral self-signed certificate) on each backend, and with
#    -cert/-key files made by openssl, and drives each with the real
#    `openssl s_client`: the certificate it receives must have the SHA-256
#    fingerprint the server printed (or verify against the CA file for the
#    server name localhost), and PAYLOAD_KB KiB sent through s_client must
#    come back byte for byte, and a line sent after s_client's KeyUpdate
#    ("K" command) must come back too.
# 2. Runs the Go benchmark `go run ./bench/tlsbench -md bench/tls-results.md`
#    with the flags given to this script (evloop native, evloop on gnet and
#    net + crypto/tls, alternating; see bench/README-tls.md).
#
# It installs openssl from the distribution (Debian, apt-get) if missing;
# never run it in CI. Environment: PAYLOAD_KB (256), SKIP_BENCH=1 (checks
# only), MD (bench/tls-results.md; empty: table on stdout only).
set -eu

PAYLOAD_KB=${PAYLOAD_KB:-256}
SKIP_BENCH=${SKIP_BENCH:-}
MD=${MD-bench/tls-results.md}
HOST=127.0.0.1

cd "$(dirname "$0")/.."

if ! command -v openssl >/dev/null 2>&1; then
	sudo=
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	fi
	echo "installing openssl" >&2
	$sudo apt-get update
	$sudo apt-get install -y openssl
fi

work=$(mktemp -d)
srv_pid=
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building examples/echo" >&2
go build -o "$work/echo" ./examples/echo
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
head -c $((PAYLOAD_KB * 1024)) /dev/urandom | base64 >"$work/payload"
size=$(wc -c <"$work/payload")

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_echo BACKEND [FLAGS...] starts echo on a free port; sets port.
start_echo() {
	backend=$1
	shift
	port=$(free_port)
	"$work/echo" -addr "tls://$HOST:$port" -backend "$backend" -loops 2 "$@" >"$work/out" 2>"$work/err" &
	srv_pid=$!
	i=0
	until grep -q '^listening tls://' "$work/out" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$srv_pid" 2>/dev/null; then
			echo "echo did not start:" >&2
			cat "$work/err" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# wait_for FILE STRING waits up to 10 s for STRING to appear in FILE.
wait_for() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null || [ "$i" -ge 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
}

stop_echo() {
	kill -TERM "$srv_pid"
	wait "$srv_pid"
	srv_pid=
}

# echo_through_s_client [s_client flags...]: sends the payload through
# s_client and keeps stdin open until all of it has come back (or 20 s).
echo_through_s_client() {
	: >"$work/got"
	{
		cat "$work/payload"
		i=0
		while [ "$(wc -c <"$work/got")" -lt "$size" ] && [ "$i" -lt 200 ]; do
			i=$((i + 1))
			sleep 0.1
		done
	} | timeout 30 openssl s_client -connect "$HOST:$port" -quiet -no_ign_eof -nocommands "$@" >"$work/got" 2>"$work/s_client.err" || true
	if ! cmp -s "$work/payload" "$work/got"; then
		echo "FAIL: $(wc -c <"$work/got") of $size bytes came back intact through openssl s_client" >&2
		cat "$work/s_client.err" >&2
		exit 1
	fi
}

for backend in native gnet; do
	start_echo "$backend"
	want=$(sed -n 's/^SHA-256 fingerprint //p' "$work/err")
	info=$(openssl s_client -connect "$HOST:$port" -servername localhost </dev/null 2>/dev/null)
	got=$(printf '%s\n' "$info" | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
	if [ -z "$want" ] || [ "$want" != "$got" ]; then
		echo "FAIL: $backend: s_client saw fingerprint '$got', the server printed '$want'" >&2
		exit 1
	fi
	proto=$(printf '%s\n' "$info" | sed -n 's/^New, \(.*\)$/\1/p' | head -n 1)
	echo_through_s_client -servername localhost
	# s_client's "K" command line sends a KeyUpdate that requests one back;
	# the echo must carry on under the new keys.
	# s_client reads commands only at the start of a read from stdin, so each
	# line goes in its own write, after the previous one has taken effect.
	: >"$work/ku"
	: >"$work/ku.err"
	{
		printf 'before\n'
		wait_for "$work/ku" before
		printf 'K\n'
		wait_for "$work/ku.err" KEYUPDATE
		printf 'after\n'
		wait_for "$work/ku" after
	} | timeout 20 openssl s_client -connect "$HOST:$port" -quiet -no_ign_eof \
		-servername localhost >"$work/ku" 2>"$work/ku.err" &
	ku_pid=$!
	i=0
	while [ "$(cat "$work/ku")" != "$(printf 'before\nafter')" ] && [ "$i" -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill "$ku_pid" 2>/dev/null || true
	wait "$ku_pid" 2>/dev/null || true
	if [ "$(cat "$work/ku")" != "$(printf 'before\nafter')" ] || ! grep -q KEYUPDATE "$work/ku.err"; then
		echo "FAIL: $backend: echo across an openssl KeyUpdate returned '$(cat "$work/ku")'" >&2
		cat "$work/ku.err" >&2
		exit 1
	fi
	echo "ok  echo -backend $backend, ephemeral certificate: fingerprint $want matches; $size bytes echoed through openssl s_client ($proto), also across a KeyUpdate"
	stop_echo

	start_echo "$backend" -cert "$work/cert.pem" -key "$work/key.pem"
	echo_through_s_client -CAfile "$work/cert.pem" -verify_return_error -verify_hostname localhost -servername localhost
	echo "ok  echo -backend $backend -cert/-key: certificate verified for localhost; $size bytes echoed through openssl s_client"
	stop_echo
done

if [ -z "$SKIP_BENCH" ]; then
	if [ -n "$MD" ]; then
		go run ./bench/tlsbench -md "$MD" "$@"
	else
		go run ./bench/tlsbench "$@"
	fi
fi
