#!/bin/sh
# Compares examples/kv with a real redis-server, both over TLS with the same
# certificate, under redis-benchmark --tls, on loopback only:
#
#	bench/redis-tls.sh
#
# It installs redis-server, redis-tools and openssl from the distribution
# (Debian, apt-get) if they are missing (never run it in CI), makes an ECDSA
# P-256 certificate for localhost and 127.0.0.1 with openssl, builds
# examples/kv, starts
#
#	redis-server --port 0 --tls-port REDIS_PORT --tls-cert-file cert.pem --tls-key-file key.pem ...
#	kv -addr tls://127.0.0.1:KV_PORT -cert cert.pem -key key.pem -loops 1
#
# checks both with `redis-cli --tls` (SET then GET of a value, certificate
# verified against cert.pem), and runs
#
#	redis-benchmark --tls --cacert cert.pem -h 127.0.0.1 -p PORT -t ping_inline,set,get -c 50 -n N -q -P {1,16}
#
# against each, alternating which server goes first, for ROUNDS rounds. It
# prints the median requests per second of each test and the ratio
# kv/redis, then stops both servers. TLS_SUITES sets the client's TLS 1.3
# cipher suites for both servers (default TLS_AES_128_GCM_SHA256, the
# suite Go's server picks on AES hardware; OpenSSL would otherwise pick
# AES-256 with redis-server), so both do the same crypto.
#
# kv runs one loop, as redis-server runs one event-loop thread (see
# bench/redis.sh).
#
# Environment: ROUNDS (3), REQUESTS (100000 per pipeline depth: -P 16 runs
# send 1,600,000), CLIENTS (50), PIPELINES ("1 16"), TESTS
# (ping_inline,set,get), KV_LOOPS (1), KV_FLAGS (extra kv flags, e.g.
# "-busy-poll 50us" or "-cpuprofile /tmp/kv.pprof"), PIN (0; 1: servers on
# CPU 1, redis-benchmark on CPU 0), REDIS_PORT (6391), KV_PORT (6381),
# TLS_SUITES (TLS_AES_128_GCM_SHA256).
set -eu

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-ping_inline,set,get}
KV_LOOPS=${KV_LOOPS:-1}
KV_FLAGS=${KV_FLAGS:-}
REDIS_PORT=${REDIS_PORT:-6391}
KV_PORT=${KV_PORT:-6381}
TLS_SUITES=${TLS_SUITES:-TLS_AES_128_GCM_SHA256}
HOST=127.0.0.1

cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1 ||
	! command -v redis-cli >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	sudo=
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	fi
	echo "installing redis-server, redis-tools and openssl" >&2
	$sudo apt-get update
	$sudo apt-get install -y redis-tools redis-server openssl
fi
if ! redis-benchmark --help 2>&1 | grep -q -- '--tls'; then
	echo "this redis-benchmark has no TLS support" >&2
	exit 1
fi

work=$(mktemp -d)
. bench/redis-rounds.sh
RB_ARGS="--tls --cacert $work/cert.pem --tls-ciphersuites $TLS_SUITES"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

cli() {
	port=$1
	shift
	redis-cli --tls --cacert "$work/cert.pem" --tls-ciphersuites "$TLS_SUITES" -h "$HOST" -p "$port" "$@"
}

for port in "$REDIS_PORT" "$KV_PORT"; do
	if cli "$port" ping >/dev/null 2>&1 || redis-cli -h "$HOST" -p "$port" ping >/dev/null 2>&1; then
		echo "something already answers on $HOST:$port; stop it or set REDIS_PORT/KV_PORT" >&2
		exit 1
	fi
done

echo "building examples/kv" >&2
go build -o "$work/kv" ./examples/kv

# shellcheck disable=SC2086 # SERVER_PIN is a command and its flags
$SERVER_PIN redis-server --bind "$HOST" --port 0 --tls-port "$REDIS_PORT" \
	--tls-cert-file "$work/cert.pem" --tls-key-file "$work/key.pem" \
	--tls-ca-cert-file "$work/cert.pem" --tls-auth-clients no \
	--save '' --appendonly no --daemonize no --logfile "$work/redis.log" --dir "$work" &
redis_pid=$!

# shellcheck disable=SC2086 # KV_FLAGS is a list of flags
$SERVER_PIN "$work/kv" -addr "tls://$HOST:$KV_PORT" -cert "$work/cert.pem" -key "$work/key.pem" \
	-loops "$KV_LOOPS" $KV_FLAGS >"$work/kv.out" 2>"$work/kv.err" &
kv_pid=$!

wait_servers 'listening tls://' cli "$REDIS_PORT" ping

# redis-cli --tls: both servers answer, with the certificate verified.
for s in "redis $REDIS_PORT" "kv $KV_PORT"; do
	# shellcheck disable=SC2086 # two words: name and port
	set -- $s
	v="tls-check-$$-$1"
	if [ "$(cli "$2" set tlscheck "$v")" != OK ] || [ "$(cli "$2" get tlscheck)" != "$v" ] ||
		[ "$(cli "$2" ping)" != PONG ]; then
		echo "FAIL: redis-cli --tls against $1 on :$2" >&2
		exit 1
	fi
	echo "ok  redis-cli --tls against $1: PING, SET, GET (certificate verified, $TLS_SUITES)" >&2
done
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on tls :$REDIS_PORT, kv (-loops $KV_LOOPS) on tls :$KV_PORT" >&2

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_rounds

echo
echo "median requests/s and server CPU per request over $ROUNDS rounds, TLS ($TLS_SUITES) (-c $CLIENTS -n $REQUESTS × P, kv -loops $KV_LOOPS; load average $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end)"
medians
