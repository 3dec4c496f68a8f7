#!/usr/bin/env bash
# scale.sh — what does a large suite cost before anything runs?
#
# Generates a suite of N checks (default 10000) over several files: half
# plain tcp blocks, half tcp blocks with for_each over a range of 100 ports
# (using a variable and a local, as real suites do), then times
# `nettest validate` and `nettest plan` on it, printing wall time and peak RSS
# (GNU time). Nothing touches the network: validate and plan never probe.
#
# Usage: bench/scale.sh [path/to/nettest]   (default: builds ./cmd/nettest)
# Environment: N (checks, default 10000; rounded down to a multiple of 200).
# Needs: time (GNU time, Debian package "time").
set -euo pipefail

N=${N:-10000}
cd "$(dirname "$0")/.."
if [[ ! -x /usr/bin/time ]]; then
	echo "scale.sh: needs GNU time (apt-get install time)" >&2
	exit 2
fi

work=$(mktemp -d /tmp/nettest-bench-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

bin=${1:-}
if [[ -z $bin ]]; then
	bin=$work/nettest
	CGO_ENABLED=0 go build -o "$bin" ./cmd/nettest
fi

suite=$work/suite
mkdir -p "$suite"
plain=$((N / 2))
groups=$((N / 2 / 100))
cat >"$suite/vars.nettest.hcl" <<'HCL'
variable "host" {
  type    = string
  default = "127.0.0.1"
}

locals {
  width = 100
}

defaults {
  timeout = "2s"
}
HCL
# Plain blocks, 1000 per file.
for ((i = 0; i < plain; i++)); do
	printf 'tcp "plain_%d" {\n  description = "plain check %d"\n  host = var.host\n  port = %d\n  tags = ["plain"]\n  expect {\n    open = false\n  }\n}\n\n' \
		"$i" "$i" $((1 + i % 60000)) >>"$suite/plain_$((i / 1000)).nettest.hcl"
done
# for_each blocks, 100 instances each.
for ((g = 0; g < groups; g++)); do
	printf 'tcp "group_%d" {\n  for_each = toset(range(%d, %d + local.width))\n  host     = var.host\n  port     = each.value\n  expect {\n    state = "closed"\n  }\n}\n\n' \
		"$g" $((1000 + g * 100)) $((1000 + g * 100)) >>"$suite/groups.nettest.hcl"
done
total=$((plain + groups * 100))
echo "suite: $total checks ($plain plain blocks, $groups for_each blocks x 100) in $(ls "$suite" | wc -l) files, $(cat "$suite"/*.hcl | wc -c) bytes"

measure() {
	local name=$1
	shift
	set +e
	/usr/bin/time -v -o "$work/time" "$bin" "$@" "$suite" >"$work/out" 2>"$work/err"
	local rc=$?
	set -e
	local wall rss
	wall=$(sed -n 's/^\s*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time")
	rss=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$work/time")
	printf '%-9s exit %d  wall %s  peak RSS %.1f MiB  output %d lines\n' "$name" "$rc" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$(wc -l <"$work/out")"
	if [[ $rc -ne 0 ]]; then
		head -c 2000 "$work/err" >&2
		head -c 2000 "$work/out" >&2
	fi
}
measure validate validate
measure plan plan
