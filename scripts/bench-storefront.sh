#!/usr/bin/env bash
# Usage: scripts/bench-storefront.sh [runs] [seconds] [connections]
#
# Throughput and latency of the storefront's home page under load. Builds bazaar in release
# mode, starts `bazaar up` in a temporary data directory on the default ports (which must be
# free) with the per-client rate limit off (the benchmark is one client), opens one guest
# session (the cookies a returning shopper's browser holds), then loads
# http://127.0.0.1:8080/ with wrk, `runs` times (default 5) for `seconds` each (default 10)
# with `connections` open connections (default 32, two wrk threads), and prints each run and
# the median requests per second, p50 and p99 latency. Each home page is a full render:
# the session verified, cart count, categories, a page of products, recommendations and the
# currency list, each from its service over gRPC (categories, products and best sellers
# kept by the storefront for 2 s).
# BAZAAR_BIN=path/to/bazaar runs that binary instead of building one (to compare two builds
# on a shared machine, run them one after the other).
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
seconds=${2:-10}
connections=${3:-32}
script=bench
# shellcheck source=lib/shop.sh
source scripts/lib/shop.sh

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
shop_ports_free

shop_release_bin
export BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND=0
shop_start "$bin" up --data-dir "$data"

# One guest session, as a returning shopper's browser holds it (browsing alone starts none).
session=$(curl -fsS -X POST http://127.0.0.1:8080/api/v1/session/guest)
field() { { grep -o "\"$1\": *\"[^\"]*\"" <<<"$session" || true; } | sed 's/.*: *"\(.*\)"/\1/'; }
cookie="bazaar_session=$(field access_token); bazaar_refresh=$(field refresh_token)"
[ "$cookie" != "bazaar_session=; bazaar_refresh=" ] || fail "no guest session: $session"
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
