#!/usr/bin/env bash
# run.sh — CPU and wall time of 1,000 ping checks at once, against fping.
#
# Pings N addresses of 127.0.0.0/8 (127.0.1.1 and up; the loopback interface
# answers all of 127/8), PACKETS echo requests each, INTERVAL apart, with:
#
#   1. nettest test --parallelism=N on a generated suite, as root: every
#      check shares one raw ICMP socket (checks/ping's package comment says why);
#   2. the same as user nobody in a fresh network namespace whose
#      net.ipv4.ping_group_range allows ICMP datagram sockets: one socket per
#      check, demultiplexed by the kernel (skipped when not root);
#   3. fping -c PACKETS -p INTERVAL -i 0 on the same addresses: one process,
#      one socket, the floor.
#
# and prints wall time, user and system CPU time (GNU time) and the replies
# received. Traffic stays on loopback.
#
# Usage: bench/ping/run.sh [path/to/nettest]   (default: builds ./cmd/nettest)
# Environment: N (addresses, default 1000, at most 62500), PACKETS (default 3),
# INTERVAL_MS (default 200), P (parallelism, default N), ROUNDS (alternating
# rounds, default 5; each figure is the median).
# Needs: time (GNU time), fping; iproute2 and util-linux (setpriv) for run 2.
set -euo pipefail

N=${N:-1000}
PACKETS=${PACKETS:-3}
INTERVAL_MS=${INTERVAL_MS:-200}
P=${P:-$N}
ROUNDS=${ROUNDS:-5}
cd "$(dirname "$0")/../.."
for tool in /usr/bin/time fping; do
	if ! command -v "$tool" >/dev/null; then
		echo "run.sh: needs $tool (apt-get install time fping)" >&2
		exit 2
	fi
done

work=$(mktemp -d /tmp/nettest-bench-ping.XXXXXX)
chmod 755 "$work"
ns=""
cleanup() {
	[[ -n $ns ]] && ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

bin=${1:-}
if [[ -z $bin ]]; then
	bin=$work/nettest
	go build -o "$bin" ./cmd/nettest
else
	cp "$bin" "$work/nettest"
	bin=$work/nettest
fi
chmod 755 "$bin"

# The addresses: 127.0.1.1 … 127.0.1.250, 127.0.2.1 …
for ((i = 0; i < N; i++)); do
	echo "127.0.$((i / 250 + 1)).$((i % 250 + 1))"
done >"$work/addrs"

mkdir -p "$work/suite"
chmod 755 "$work/suite"
# A literal list: cty's range() stops at 1,024 values.
{
	echo "locals {"
	echo "  addrs = ["
	sed 's/.*/    "&",/' "$work/addrs"
	echo "  ]"
	echo "}"
	cat <<HCL

ping "lo" {
  for_each = toset(local.addrs)
  host     = each.value
  packets  = $PACKETS
  interval = "${INTERVAL_MS}ms"
  timeout  = "10s"
  expect {
    reachable        = true
    max_loss_percent = 0
  }
}
HCL
} >"$work/suite/ping.nettest.hcl"
chmod 644 "$work/suite/ping.nettest.hcl"

fmt="%e %U %S"
expected=$((N * PACKETS))
if [[ $(id -u) == 0 ]] && command -v ip >/dev/null && command -v setpriv >/dev/null; then
	ns=ntbenchping$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
fi

# The runners alternate, ROUNDS times; each row is the median of its
# rounds (wall, user and system time each on its own).
for ((r = 0; r < ROUNDS; r++)); do
	# 1. nettest as root: the shared raw socket.
	/usr/bin/time -o "$work/t1.$r" -f "$fmt" "$bin" test --json --parallelism="$P" "$work/suite" >"$work/out1" || true
	# 2. nettest as nobody with datagram sockets, in a namespace of its own.
	if [[ -n $ns ]]; then
		/usr/bin/time -o "$work/t2.$r" -f "$fmt" ip netns exec "$ns" \
			setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$bin" test --json --parallelism="$P" "$work/suite" >"$work/out2" || true
	fi
	# 3. fping: -p is the period per target, -i 0 lets it send to the next
	# target at once, as nettest's parallel checks do.
	/usr/bin/time -o "$work/t3.$r" -f "$fmt" fping -c "$PACKETS" -p "$INTERVAL_MS" -i 0 -q -f "$work/addrs" 2>"$work/out3" || true
done

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-52s %8s %8s %8s %8s  %s\n' runner wall user sys cpu replies
row() { # name, time output files prefix, replies
	local wall user sys
	wall=$(cat "$2".* | awk '{print $1}' | median)
	user=$(cat "$2".* | awk '{print $2}' | median)
	sys=$(cat "$2".* | awk '{print $3}' | median)
	printf '%-52s %7.3fs %7.2fs %7.2fs %7.2fs  %s\n' "$1" "$wall" "$user" "$sys" \
		"$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$3"
}
row "nettest test (root: one shared raw socket)" "$work/t1" \
	"$(grep -c '"status":"pass"' "$work/out1") of $N checks passed"
if [[ -n $ns ]]; then
	row "nettest test (nobody: one datagram socket per check)" "$work/t2" \
		"$(grep -c '"status":"pass"' "$work/out2") of $N checks passed"
fi
got=$(awk -F'[ /]+' '/xmt\/rcv/ {for (i = 1; i <= NF; i++) if ($i == "=") {sum += $(i + 2); break}} END {print sum + 0}' "$work/out3")
row "fping -c $PACKETS -p $INTERVAL_MS -i 0" "$work/t3" "$got of $expected replies"
echo "medians of $ROUNDS alternating rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
