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
#      one socket, the floor;
#
# and, to tell the ping kind's share from the rest of the process, two
# references that send no ICMP:
#
#   4. nettest validate of the same suite: start-up and loading alone;
#   5. nettest test of N tcp checks of the same addresses, port 9, where
#      nothing listens (a SYN gets a reset at once): the same load, runner
#      and report with another kind's probe.
#
# It prints wall time, user and system CPU time (bash's time, to the
# millisecond), the ratio of each to fping's, the issue's target for the
# ping rows (issue 11: 1 packet ≤ 2.5× fping's wall; 3 packets 200 ms apart
# ≤ 1.1×) and the replies received. Traffic stays on loopback.
#
# Usage: bench/ping/run.sh [path/to/nettest]   (default: builds ./cmd/nettest)
# Environment: N (addresses, default 1000, at most 62500), PACKETS (default 3),
# INTERVAL_MS (default 200), P (parallelism, default N), ROUNDS (alternating
# rounds, default 5; each figure is the median), BASELINE (another nettest
# binary, run as 1. and 2. in the same rounds, to show what a change gained
# on a machine too busy for wall times measured apart to compare).
# Needs: fping; iproute2 and util-linux (setpriv) for run 2.
set -euo pipefail

N=${N:-1000}
PACKETS=${PACKETS:-3}
INTERVAL_MS=${INTERVAL_MS:-200}
P=${P:-$N}
ROUNDS=${ROUNDS:-5}
cd "$(dirname "$0")/../.."
for tool in fping; do
	if ! command -v "$tool" >/dev/null; then
		echo "run.sh: needs $tool (apt-get install fping)" >&2
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

base=""
if [[ -n ${BASELINE:-} ]]; then
	base=$work/nettest-baseline
	cp "$BASELINE" "$base"
	chmod 755 "$base"
fi

bin=${1:-}
if [[ -z $bin ]]; then
	bin=$work/nettest
	CGO_ENABLED=0 go build -o "$bin" ./cmd/nettest
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

# Reference 5: the same addresses as tcp checks of a port nothing listens on.
mkdir -p "$work/tcp"
chmod 755 "$work/tcp"
{
	sed -n '/^locals {/,/^}/p' "$work/suite/ping.nettest.hcl"
	cat <<HCL

tcp "lo" {
  for_each = toset(local.addrs)
  host     = each.value
  port     = 9
  timeout  = "10s"
  expect {
    open = false
  }
}
HCL
} >"$work/tcp/tcp.nettest.hcl"
chmod 644 "$work/tcp/tcp.nettest.hcl"

expected=$((N * PACKETS))
if [[ $(id -u) == 0 ]] && command -v ip >/dev/null && command -v setpriv >/dev/null; then
	ns=ntbenchping$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
fi

# timed TIMES OUT CMD...: runs CMD with its standard output in OUT and
# writes "wall user sys" in seconds, to the millisecond, to TIMES. bash's
# time counts the CPU of every process CMD waited for, as GNU time does, at
# a finer grain than GNU time's %e (10 ms, a third of fping's single ping).
timed() {
	local times=$1 out=$2 TIMEFORMAT='%3R %3U %3S'
	shift 2
	{ time "$@" >"$out" 2>"$out.err"; } 2>"$times" || true
}

# The runners alternate, ROUNDS times; each row is the median of its
# rounds (wall, user and system time each on its own).
for ((r = 0; r < ROUNDS; r++)); do
	# 1. nettest as root: the shared raw socket.
	timed "$work/t1.$r" "$work/out1" "$bin" test --json --parallelism="$P" "$work/suite"
	# 2. nettest as nobody with datagram sockets, in a namespace of its own.
	if [[ -n $ns ]]; then
		timed "$work/t2.$r" "$work/out2" ip netns exec "$ns" \
			setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$bin" test --json --parallelism="$P" "$work/suite"
	fi
	# 3. fping: -p is the period per target, -i 0 lets it send to the next
	# target at once, as nettest's parallel checks do. -q: its summary goes
	# to standard error.
	timed "$work/t3.$r" "$work/out3" fping -c "$PACKETS" -p "$INTERVAL_MS" -i 0 -q -f "$work/addrs"
	# 4. and 5.: the references.
	timed "$work/t4.$r" "$work/out4" "$bin" validate "$work/suite"
	timed "$work/t5.$r" "$work/out5" "$bin" test --json --parallelism="$P" "$work/tcp"
	# 1. and 2. with the baseline binary.
	if [[ -n $base ]]; then
		timed "$work/t6.$r" "$work/out6" "$base" test --json --parallelism="$P" "$work/suite"
		if [[ -n $ns ]]; then
			timed "$work/t7.$r" "$work/out7" ip netns exec "$ns" \
				setpriv --reuid=65534 --regid=65534 --clear-groups \
				"$base" test --json --parallelism="$P" "$work/suite"
		fi
	fi
done

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# medians PREFIX: the median wall, user and system time of PREFIX.*.
medians() {
	local f
	for f in 1 2 3; do
		cat "$1".* | awk -v f=$f '{print $f}' | median
	done | xargs
}
read -r fwall fuser fsys <<<"$(medians "$work/t3")"
fcpu=$(awk -v u="$fuser" -v s="$fsys" 'BEGIN {print u + s}')
# The issue's target for these settings, as a ratio to fping's wall.
target=""
if [[ $PACKETS == 1 ]]; then
	target=2.5
elif [[ $PACKETS == 3 && $INTERVAL_MS == 200 ]]; then
	target=1.1
fi
printf '%-54s %8s %7s %7s %7s %11s %10s  %-14s %s\n' runner wall user sys cpu "wall÷fping" "cpu÷fping" "target" replies
row() { # name, time output files prefix, replies, target (or "")
	local wall user sys cpu rw rc verdict="–"
	read -r wall user sys <<<"$(medians "$2")"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
	rw=$(awk -v a="$wall" -v b="$fwall" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "–"}')
	rc=$(awk -v a="$cpu" -v b="$fcpu" 'BEGIN {if (b > 0) printf "%.1f×", a / b; else print "–"}')
	if [[ -n $4 ]]; then
		verdict=$(awk -v a="$wall" -v b="$fwall" -v t="$4" 'BEGIN {printf "≤ %s× %s", t, (b > 0 && a / b <= t) ? "yes" : "no"}')
	fi
	printf '%-54s %7.3fs %6.3fs %6.3fs %6.3fs %11s %10s  %-14s %s\n' "$1" "$wall" "$user" "$sys" "$cpu" "$rw" "$rc" "$verdict" "$3"
}
row "nettest test (root: one shared raw socket)" "$work/t1" \
	"$(grep -c '"status":"pass"' "$work/out1") of $N checks passed" "$target"
if [[ -n $ns ]]; then
	row "nettest test (nobody: one datagram socket per check)" "$work/t2" \
		"$(grep -c '"status":"pass"' "$work/out2") of $N checks passed" "$target"
fi
if [[ -n $base ]]; then
	row "baseline $BASELINE (root)" "$work/t6" \
		"$(grep -c '"status":"pass"' "$work/out6") of $N checks passed" "$target"
	if [[ -n $ns ]]; then
		row "baseline $BASELINE (nobody)" "$work/t7" \
			"$(grep -c '"status":"pass"' "$work/out7") of $N checks passed" "$target"
	fi
fi
got=$(awk -F'[ /]+' '/xmt\/rcv/ {for (i = 1; i <= NF; i++) if ($i == "=") {sum += $(i + 2); break}} END {print sum + 0}' "$work/out3.err")
row "fping -c $PACKETS -p $INTERVAL_MS -i 0" "$work/t3" "$got of $expected replies" ""
echo "references, no ICMP:"
row "  nettest validate (start-up and loading only)" "$work/t4" "" ""
row "  nettest test, $N tcp checks of closed ports" "$work/t5" \
	"$(grep -c '"status":"pass"' "$work/out5") of $N checks passed" ""
echo "medians of $ROUNDS alternating rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
