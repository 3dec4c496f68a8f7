#!/usr/bin/env bash
# vantages.sh — do V vantages of C checks each take the time of one vantage,
# or V times that?
#
# Creates V network namespaces (lo only: nothing can leave them), DROPs tcp
# ports 20000..20000+C-1 on each one's loopback, and writes a suite with a
# vantage per namespace and C tcp checks per vantage, each to 127.0.0.1 on a
# dropped port, timeout 1s, expecting "filtered": every check lasts its
# whole timeout, at its own vantage. It runs the suite twice with
# --parallelism=V*C: once with a single vantage (the baseline: one agent,
# C checks), once with all V. For each it prints the wall time, the peak
# memory of the nettest process itself (VmHWM, sampled from /proc: the
# agents are other processes) and the summary line.
#
# Usage (as root): bench/vantages.sh [path/to/nettest]   (default: builds ./cmd/nettest)
# Environment: V (vantages, default 100), C (checks per vantage, default 100),
#   T (the checks' timeout, default 1s),
#   MODE=netns (default: `netns = "NAME"`) or MODE=exec (`exec { command =
#   ["ip", "netns", "exec", NAME], agent_path = BINARY }`; with COPY=1 no
#   agent_path, so the binary is copied through sh for every vantage).
# Needs: iproute2, iptables.
set -euo pipefail

V=${V:-100}
C=${C:-100}
T=${T:-1s}
MODE=${MODE:-netns}
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
	echo "vantages.sh: needs root (network namespaces and iptables)" >&2
	exit 2
fi

work=$(mktemp -d /tmp/nettest-bench-vantages.XXXXXX)
prefix=ntbv$$-
cleanup() {
	for ((v = 0; v < V; v++)); do ip netns del "$prefix$v" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

bin=${1:-}
if [[ -z $bin ]]; then
	bin=$work/nettest
	CGO_ENABLED=0 go build -o "$bin" ./cmd/nettest
fi

for ((v = 0; v < V; v++)); do
	ns=$prefix$v
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" iptables -w 5 -A INPUT -i lo -p tcp --dport "20000:$((20000 + C - 1))" -j DROP
done

# suite DIR COUNT writes a suite of COUNT vantages into DIR.
suite() {
	local dir=$1 count=$2
	mkdir -p "$dir"
	{
		printf 'defaults {\n  timeout = "%s"\n}\n\n' "$T"
		for ((v = 0; v < count; v++)); do
			if [[ $MODE == exec ]]; then
				agent=""
				[[ ${COPY:-0} == 1 ]] || agent="    agent_path = \"$bin\"\n"
				printf 'vantage "v%d" {\n  exec {\n    command = ["ip", "netns", "exec", "%s"]\n%b  }\n}\n\n' "$v" "$prefix$v" "$agent"
			else
				printf 'vantage "v%d" {\n  netns = "%s"\n}\n\n' "$v" "$prefix$v"
			fi
			printf 'tcp "v%d" {\n  for_each = toset([for p in range(20000, %d) : tostring(p)])\n  from     = vantage.v%d\n  host     = "127.0.0.1"\n  port     = each.value\n  expect {\n    state = "filtered"\n  }\n}\n\n' "$v" $((20000 + C)) "$v"
		done
	} >"$dir/vantages.nettest.hcl"
}

# run DIR CHECKS runs the suite and prints its figures.
run() {
	local dir=$1 checks=$2
	local start end rc pid hwm=0 h
	start=$(date +%s.%N)
	"$bin" test --json --parallelism="$checks" "$dir" >"$work/out" 2>"$work/err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[[ -n $h && $h -gt $hwm ]] && hwm=$h
		sleep 0.05
	done
	set +e
	wait "$pid"
	rc=$?
	set -e
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v rc="$rc" -v hwm="$hwm" \
		'BEGIN { printf "  wall time %.3f s, nettest peak RSS %.1f MiB (exit code %d)\n", e - s, hwm / 1024, rc }'
	echo "  $(tail -n 1 "$work/out")"
	grep -o '"message":"[^"]*' "$work/out" | sort | uniq -c | sort -rn | head -5 | sed "s/^/  /"
	if [[ $rc -ne 0 ]]; then
		head -c 2000 "$work/err" >&2
	fi
}

suite "$work/one" 1
suite "$work/all" "$V"
echo "$MODE vantages, $C tcp checks each to DROPped ports (timeout $T, each waits it out)"
echo "1 vantage x $C checks:"
run "$work/one" "$C"
echo "$V vantages x $C checks:"
run "$work/all" $((V * C))
