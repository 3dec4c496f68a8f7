#!/usr/bin/env bash
# The HTML report of a 10,000-check run: its size, the time Go takes to
# render it, and the time headless Chromium takes to open it. The page is
# rendered by BenchmarkHTML10000 (report/html_test.go) from a generated run
# (tcp ports from here and three vantages, HTTP, DNS with dependents, a
# traceroute per fifty checks, a few percent failing). Chromium opens a
# copy with one line of script added that logs, after the load event and
# the next frame, the milliseconds since navigation began
# (performance.now()): load, parse, style, layout and first paint, without
# the browser's own start-up. Chromium gets the flags that keep it off the
# network (every name maps to NOTFOUND).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

NETTEST_HTML_BENCH_OUT="$tmp/10k.html" go test -run '^$' -bench 'HTML10000' -benchtime 3x ./report/ | grep Benchmark
size=$(stat -c %s "$tmp/10k.html")
echo "page: $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
probe='<script>addEventListener("load",function(){requestAnimationFrame(function(){setTimeout(function(){console.log("nettest-opened "+Math.round(performance.now()))},0)})})</script></body>'
sed "s#</body>#$probe#" "$tmp/10k.html" > "$tmp/timed.html"

best=999999
for _ in $(seq "$runs"); do
  profile=$(mktemp -d -p "$tmp")
  ms=$(HOME=$profile timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$profile/p" --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 \
    --window-size=1280,900 --screenshot="$profile/shot.png" "file://$tmp/timed.html" 2>&1 >/dev/null |
    sed -n 's/.*"nettest-opened \([0-9]*\)".*/\1/p' | head -1)
  [ -n "$ms" ] && (( ms < best )) && best=$ms
done
echo "chromium: opened (load event and first frame) in $best ms, best of $runs"
