#!/usr/bin/env bash
# filtered.sh — how long do N checks of filtered ports take when run at once?
#
# A filtered port answers nothing, so each check lasts its whole timeout; with
# enough parallelism N checks should take about one timeout, not N of them.
# The script builds a two-namespace lab (client <-> server over a veth pair,
# 198.18.250.0/24, no route out), makes the server DROP tcp ports
# 20000..20000+N-1, writes N tcp checks with timeout = "1s" expecting
# state = "filtered", and runs `nettest test --parallelism=P --json` inside the
# client namespace. It prints the wall time, peak RSS and the summary line.
#
# Usage (as root): bench/filtered.sh [path/to/nettest]   (default: builds ./cmd/nettest)
# Environment: N (checks, default 1000), P (parallelism, default 1000).
# Needs: iproute2, iptables, time (GNU time for the peak RSS).
set -euo pipefail

N=${N:-1000}
P=${P:-1000}
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
	echo "filtered.sh: needs root (network namespaces and iptables)" >&2
	exit 2
fi

work=$(mktemp -d /tmp/nettest-bench-filtered.XXXXXX)
client=ntbench$$-client
server=ntbench$$-server
cleanup() {
	ip netns del "$client" 2>/dev/null || true
	ip netns del "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

bin=${1:-}
if [[ -z $bin ]]; then
	bin=$work/nettest
	CGO_ENABLED=0 go build -o "$bin" ./cmd/nettest
fi

ip netns add "$client"
ip netns add "$server"
ip -n "$client" link set lo up
ip -n "$server" link set lo up
ip link add "nb$$a" netns "$client" type veth peer name "nb$$b" netns "$server"
ip -n "$client" link set "nb$$a" up
ip -n "$server" link set "nb$$b" up
ip -n "$client" addr add 198.18.250.1/24 dev "nb$$a"
ip -n "$server" addr add 198.18.250.2/24 dev "nb$$b"
ip netns exec "$server" iptables -w 5 -A INPUT -p tcp --dport "20000:$((20000 + N - 1))" -j DROP

suite=$work/suite
mkdir -p "$suite"
{
	printf 'defaults {\n  timeout = "1s"\n}\n\n'
	for ((i = 0; i < N; i++)); do
		printf 'tcp "f%d" {\n  host = "198.18.250.2"\n  port = %d\n  expect {\n    state = "filtered"\n  }\n}\n\n' "$i" $((20000 + i))
	done
} >"$suite/filtered.nettest.hcl"

echo "$N tcp checks to DROPped ports, timeout 1s, --parallelism=$P"
start=$(date +%s.%N)
set +e
ip netns exec "$client" /usr/bin/time -v -o "$work/time" \
	"$bin" test --json --parallelism="$P" "$suite" >"$work/out" 2>"$work/err"
rc=$?
set -e
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "wall time: %.3f s (exit code %d)\n", e - s, rc }'
grep -E 'Maximum resident set size' "$work/time" | sed 's/^\s*/peak RSS (KiB): /; s/Maximum resident set size (kbytes): //'
tail -n 1 "$work/out"
if [[ $rc -ne 0 ]]; then
	head -c 2000 "$work/err" >&2
fi
