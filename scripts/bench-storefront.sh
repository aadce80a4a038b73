#!/usr/bin/env bash
# Usage: scripts/bench-storefront.sh [runs] [seconds] [connections]
#
# Throughput and latency of the storefront's home page under load. Builds bazaar in release
# mode, starts `bazaar up` in a temporary data directory on the default ports (which must be
# free), opens one guest session (the cookie a browser would hold), then loads
# http://127.0.0.1:8080/ with wrk, `runs` times (default 5) for `seconds` each (default 10)
# with `connections` open connections (default 32, two wrk threads), and prints each run and
# the median requests per second, p50 and p99 latency. Each home page is a full render:
# the session verified, cart count, categories, a page of products, recommendations and the
# currency list, each from its service over gRPC.
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
seconds=${2:-10}
connections=${3:-32}
target=${CARGO_TARGET_DIR:-target}
data=$(mktemp -d)
up_pid=""

cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill -INT "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if ss -ltn | grep -qE ':(5005[1-9]|50060|8080)\b'; then
    echo "bench: a port of bazaar (50051-50060, 8080) is taken; stop what uses it first" >&2
    exit 1
fi

cargo build --release -q -p bazaar
"$target/release/bazaar" up --data-dir "$data" >"$data/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 300); do
    grep -q "services up" "$data/up.log" 2>/dev/null && break
    sleep 0.1
done
if ! grep -q "services up" "$data/up.log"; then
    cat "$data/up.log" >&2
    for f in "$data"/logs/*.log; do
        [ -f "$f" ] && { echo "--- $f (last 5 lines) ---" >&2; tail -n 5 "$f" >&2; }
    done
    exit 1
fi

# One guest session, as a returning browser holds it.
curl -fsS -o /dev/null -c "$data/cookies" http://127.0.0.1:8080/
cookie=$(awk '!/^#/ && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$data/cookies")
# Warm up: connections, caches (currency list, signing keys).
wrk -t2 -c"$connections" -d2s -H "Cookie: $cookie" http://127.0.0.1:8080/ >/dev/null

# to_ms VALUE: wrk's latency ("812.00us", "3.21ms", "1.02s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else { printf "%s", v } }'
}

rps_all=(); p50_all=(); p99_all=()
echo "run  requests/s  p50 ms  p99 ms  non-2xx"
for run in $(seq 1 "$runs"); do
    out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Cookie: $cookie" http://127.0.0.1:8080/)
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
    printf "%3d  %10s  %6s  %6s  %s\n" "$run" "$rps" "$p50" "$p99" "${bad:-0}"
    rps_all+=("$rps"); p50_all+=("$p50"); p99_all+=("$p99")
done

median() { printf "%s\n" "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "median of $runs runs ($seconds s each, $connections connections, $(nproc) cores):" \
    "$(median "${rps_all[@]}") requests/s, p50 $(median "${p50_all[@]}") ms, p99 $(median "${p99_all[@]}") ms"
