#!/usr/bin/env bash
# Usage: scripts/bench-memory.sh [host] [samples]
#
# Idle memory of the shop's processes. Builds bazaar in release mode, starts `bazaar up
# --host HOST` (default 127.0.0.1; any 127.0.0.N keeps it clear of another shop on the same
# ports) in a temporary data directory, waits until the shop is open (every service
# SERVING), and prints the memory of each service process and the total: once idle after
# the start, and again after a few calls (home pages through the gateway, each of which
# calls identity, cart, catalog, recommendation and currency). Each figure is the median of
# `samples` readings (default 5) a second apart; the supervisor (`bazaar up` itself) is
# shown on its own line and left out of the total of the services.
#
# Three figures per process, from /proc/PID/smaps_rollup: RSS (every page mapped in, the
# figure `top` shows), PSS (each page shared by n processes counted 1/n: the sum over
# processes is what the shop really holds) and private (pages no other process shares:
# what stopping the process gives back). Every service runs the one `bazaar` binary, whose
# code pages the kernel shares between them all; RSS counts those pages in full in each. BAZAAR_BIN=path measures
# that binary instead of building one (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."

host=${1:-127.0.0.1}
samples=${2:-5}
script=bench-memory
# shellcheck source=lib/shop.sh
source scripts/lib/shop.sh

shop_release_bin
shop_start "$bin" up --host "$host" --data-dir "$data"

# The services: "pid name" for every child of the supervisor that runs `bazaar serve NAME`.
services() {
    local pid args
    for pid in $(pgrep -P "$shop_pid"); do
        args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
        # shellcheck disable=SC2086
        set -- $args
        [ "${2:-}" = serve ] && echo "$pid ${3:-?}"
    done | sort -k2
}

# kib PID: "RSS PSS private" of the process, in KiB.
kib() {
    awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
         END { print r + 0, p + 0, u + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0 0"
}

median() { printf "%s\n" "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# sample LABEL: fills mem[LABEL/KIND/name] (KIND rss, pss, private) with the median of
# $samples readings, in KiB.
declare -A mem
sample() {
    local -A readings=()
    local pid name kind r p u _
    for _ in $(seq 1 "$samples"); do
        while read -r pid name; do
            read -r r p u < <(kib "$pid")
            readings[rss/$name]+=" $r"; readings[pss/$name]+=" $p"; readings[private/$name]+=" $u"
        done < <(services; echo "$shop_pid supervisor")
        sleep 1
    done
    for kind in "${!readings[@]}"; do
        # shellcheck disable=SC2086
        mem[$1/$kind]=$(median ${readings[$kind]})
    done
}

sleep 2
sample idle
for _ in $(seq 1 20); do
    curl -fsS -o /dev/null "http://$host:8080/" || fail "the home page did not load"
done
sleep 1
sample used

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "memory in MiB (median of $samples readings), bazaar up --host $host, $(nproc) cores"
printf "%-16s %22s   %22s\n" "" "idle after the start" "after calls"
printf "%-16s %6s %7s %7s   %6s %7s %7s\n" process RSS PSS private RSS PSS private
declare -A total
count=0
row() {
    local name=$1 label=$2 line="" at kind
    for at in idle used; do
        for kind in rss pss private; do
            line+=" $(mib "${mem[$at/$kind/$name]:-0}")"
        done
    done
    # shellcheck disable=SC2086
    printf "%-16s %6s %7s %7s   %6s %7s %7s\n" "$label" $line
}
while read -r _ name; do
    row "$name" "$name"
    for at in idle used; do
        for kind in rss pss private; do
            total[$at/$kind]=$(( ${total[$at/$kind]:-0} + ${mem[$at/$kind/$name]:-0} ))
            mem[$at/$kind/all]=${total[$at/$kind]}
        done
    done
    count=$((count + 1))
done < <(services)
row all "all $count services"
row supervisor "(supervisor)"
