#!/bin/sh
# Prepares this machine for the c1m scenario, runs it, and puts every kernel
# setting it changed back as it was, also on failure or Ctrl-C:
#
#	bench/c1m.sh                       # native,gnet,net at 10k and 100k
#	bench/c1m.sh -compare -scenarios c1m -c1m-conns 10k,100k,250k,500k,1M -servers native,gnet -baseline gnet
#
# Arguments, when given, replace the default bench flags. Needs root (it
# writes sysctls); CI never runs it. C1M_MAX (default 1000000) is the most
# conns one process will hold.
#
# What it changes, and why (each only upwards, each printed as old -> new):
#
#   fs.nr_open          the ceiling of a process's RLIMIT_NOFILE: the server
#                       and the load generator each hold C1M_MAX fds plus a
#                       margin (the generator raises its own limit, and the
#                       servers it starts inherit it);
#   fs.file-max         open files on the machine: both ends of every conn
#                       live here;
#   net.core.somaxconn, net.ipv4.tcp_max_syn_backlog
#                       at least 4096: the generator keeps at most
#                       -c1m-window (2048) conns unconfirmed, so the accept
#                       queue never needs more;
#   net.netfilter.nf_conntrack_max
#                       if conntrack is loaded: should it track loopback, a
#                       full table would drop SYNs.
#
# Not changed: net.ipv4.ip_local_port_range (the generator spreads conns
# over source addresses 127.10.0.1 and up, half a port range each, so one
# listening port is enough), net.ipv4.tcp_mem (idle conns hold no buffers).
set -eu

MAX=${C1M_MAX:-1000000}
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "c1m.sh: needs root to raise fs.nr_open and fs.file-max" >&2
	exit 1
fi

RESTORE=""
restore() {
	for kv in $RESTORE; do
		k=${kv%%=*}
		v=${kv#*=}
		if sysctl -q -w "$k=$v" >/dev/null; then
			echo "c1m.sh: restored $k = $v" >&2
		else
			echo "c1m.sh: could not restore $k to $v" >&2
		fi
	done
	RESTORE=""
}
trap restore EXIT
trap 'restore; exit 130' INT TERM

# raise KEY MIN: set KEY to MIN if it is lower, and remember the old value.
raise() {
	path=/proc/sys/$(echo "$1" | tr . /)
	[ -e "$path" ] || return 0
	old=$(cat "$path")
	if [ "$old" -lt "$2" ]; then
		sysctl -q -w "$1=$2" >/dev/null
		RESTORE="$1=$old $RESTORE"
		echo "c1m.sh: $1: $old -> $2" >&2
	else
		echo "c1m.sh: $1: $old (enough)" >&2
	fi
}

raise fs.nr_open $((MAX + 65536))
raise fs.file-max $((2 * MAX + 262144))
raise net.core.somaxconn 4096
raise net.ipv4.tcp_max_syn_backlog 4096
raise net.netfilter.nf_conntrack_max $((2 * MAX + 65536))

# Raising the hard RLIMIT_NOFILE needs CAP_SYS_RESOURCE, which a sandbox
# may withhold even from root: then no sysctl helps, and say so up front.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((MAX + 256)) ] && ! (ulimit -Hn $((MAX + 256))) 2>/dev/null; then
	echo "c1m.sh: the hard open-file limit is $hard and cannot be raised (no CAP_SYS_RESOURCE): runs above about $((hard - 256)) conns will fail" >&2
fi

if [ $# -eq 0 ]; then
	set -- -compare -scenarios c1m -c1m-conns 10k,100k -servers native,gnet,net -baseline gnet
fi
BIN=$(mktemp /tmp/evloop-c1m-bench.XXXXXX)
go build -o "$BIN" ./bench
status=0
"$BIN" "$@" || status=$?
rm -f "$BIN"
exit $status
