#!/usr/bin/env bash
# Usage: scripts/chaos.sh [seed] [seconds] [path/to/bazaar]
#
# Chaos under load: `bazaar up --chaos` in a temporary data directory, `bazaar load` with
# 8 shoppers checking out for SECONDS (default 120) in the background, and meanwhile a
# schedule drawn from SEED (default: the time): after 5 calm seconds, every 2 to 5 seconds one of
#   - SIGKILL one random service process (`bazaar up` restarts it),
#   - inject a fault with `bazaar chaos set` (payment Charge UNAVAILABLE=0.2, inventory
#     latency 200ms@0.2, shipping UNAVAILABLE=0.3, cart latency 100ms@0.3, catalog
#     UNAVAILABLE=0.1),
#   - clear the faults of one service, or all of them.
# The last QUIET seconds (a sixth of the run, at least 10) have neither kills nor faults, so
# that the shop is whole when the load ends. Then `bazaar load --check` waits for every saga
# to settle and checks the checkout invariants through the contract (no acknowledged order
# lost, none left PENDING, one live charge equal to its total per PLACED order, every charge
# of a FAILED order refunded, stock conserved, nothing left reserved; see
# docs/operations.md, "Chaos under load").
#
# Prints each action as it happens and one block of figures at the end: seed, orders
# (placed/failed/pending), kills by service, faults set and injected, retries, checkout
# p99, the check's verdict. Exits non-zero on a violation, a load that failed, or a shop
# that did not start. The same seed gives the same schedule: replay a red run with it.
#
# BAZAAR_CHAOS_HOST (default 127.0.0.1) is the loopback address the shop listens and calls
# on (`bazaar up --host`), so that a run by hand can keep off the default one. The whole
# run is bounded by `timeout` (SECONDS plus 150 s). Needs curl and python3.
set -euo pipefail

seed=${1:-$(date +%s)}
seconds=${2:-120}
bin=${3:-${CARGO_TARGET_DIR:-target}/debug/bazaar}
host=${BAZAAR_CHAOS_HOST:-127.0.0.1}
script=chaos

case "$seed" in '' | *[!0-9]*) echo "chaos: the seed must be a number, not '$seed'" >&2; exit 2 ;; esac
case "$seconds" in '' | *[!0-9]*) echo "chaos: seconds must be a number, not '$seconds'" >&2; exit 2 ;; esac
[ "$seconds" -ge 20 ] || { echo "chaos: run at least 20 seconds" >&2; exit 2; }

# Everything under one timeout: this script runs itself again beneath it.
if [ -z "${BAZAAR_CHAOS_BOUNDED:-}" ]; then
    export BAZAAR_CHAOS_BOUNDED=1
    status=0
    timeout --kill-after=20 $((seconds + 150)) "$0" "$seed" "$seconds" "$bin" || status=$?
    [ "$status" -ne 124 ] || echo "chaos: FAIL: the run took longer than $((seconds + 150)) s (seed $seed)" >&2
    exit "$status"
fi

# shellcheck source=lib/shop.sh
source "$(dirname "$0")/lib/shop.sh"
load_pid=""
chaos_cleanup() {
    if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
        kill -TERM "$load_pid" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
    fi
    shop_cleanup
}
trap chaos_cleanup EXIT
trap 'exit 143' TERM INT

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
command -v curl >/dev/null || fail "curl is not on PATH"
command -v python3 >/dev/null || fail "python3 is not on PATH"

# The services a kill may hit: every gRPC service of the table (the storefront is not on the
# load's path).
services=(catalog currency identity cart inventory payment shipping orders notification recommendation)
# The faults the schedule injects: "SERVICE FLAGS...".
faults=(
    "payment --method Charge --error UNAVAILABLE=0.2"
    "inventory --latency 200ms@0.2"
    "shipping --error UNAVAILABLE=0.3"
    "cart --latency 100ms@0.3"
    "catalog --error UNAVAILABLE=0.1"
)
quiet=$((seconds / 6))
[ "$quiet" -ge 10 ] || quiet=10

echo "chaos: seed $seed, ${seconds}s of load on $host, the last ${quiet}s quiet (replay: scripts/chaos.sh $seed $seconds)"
[ "$host" != 127.0.0.1 ] || shop_ports_free
shop_start "$bin" up --chaos --host "$host" --data-dir "$data"

"$bin" load --host "$host" --data-dir "$data" --shoppers 8 --mix checkout=60,cart=20,browse=20 \
    --duration "${seconds}s" --seed "$seed" --json --check >"$data/load.json" 2>"$data/load.err" &
load_pid=$!
started=$(date +%s)

# The seeded schedule. Only $RANDOM draws decide what happens, so a seed gives the same
# sequence of actions; when each happens depends on the clock.
RANDOM=$seed
declare -A kills=()
# A calm start: the load makes its shoppers and its stock first.
sleep 5
kills_total=0
faults_set=0
chaos() { "$bin" chaos "$@" --data-dir "$data" >>"$data/chaos.log" 2>&1; }
while kill -0 "$load_pid" 2>/dev/null; do
    pause=$((2 + RANDOM % 4))
    draw=$((RANDOM % 10))
    pick=$RANDOM
    sleep "$pause"
    at=$(($(date +%s) - started))
    [ $((at + quiet)) -lt "$seconds" ] || break
    if [ "$draw" -lt 5 ]; then
        victim=${services[pick % ${#services[@]}]}
        pid=$(pgrep -f -- "bazaar serve $victim .*--data-dir $data( |\$)" | head -n 1 || true)
        if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
            kills[$victim]=$((${kills[$victim]:-0} + 1))
            kills_total=$((kills_total + 1))
            echo "chaos: +${at}s kill $victim (pid $pid)"
        else
            echo "chaos: +${at}s kill $victim: not running (still restarting)"
        fi
    elif [ "$draw" -lt 8 ]; then
        fault=${faults[pick % ${#faults[@]}]}
        # shellcheck disable=SC2086 # the flags are words
        if chaos set $fault; then
            faults_set=$((faults_set + 1))
            echo "chaos: +${at}s fault $fault"
        else
            echo "chaos: +${at}s fault $fault: refused: $(tail -n 1 "$data/chaos.log")"
        fi
    elif [ "$draw" -lt 9 ]; then
        victim=${faults[pick % ${#faults[@]}]%% *}
        chaos clear "$victim" || true
        echo "chaos: +${at}s clear $victim"
    else
        chaos clear || true
        echo "chaos: +${at}s clear every fault"
    fi
done
chaos clear || fail "bazaar chaos clear failed: $(tail -n 5 "$data/chaos.log")"
echo "chaos: +$(($(date +%s) - started))s every fault cleared; no more kills"

load_status=0
wait "$load_pid" || load_status=$?
load_pid=""

# Counters summed over every admin listener of targets.json. A killed process starts its
# counters again from zero, so these undercount what happened before a kill.
sum_metric() {
    python3 - "$data/prometheus/targets.json" "$1" <<'EOF'
import json, sys, urllib.request
targets, metric = sys.argv[1], sys.argv[2]
total = 0.0
for group in json.load(open(targets)):
    for address in group["targets"]:
        try:
            text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name == metric:
                total += float(line.rsplit(" ", 1)[1])
print(int(total))
EOF
}
injected=$(sum_metric bazaar_chaos_injected_total)
retries=$(sum_metric bazaar_client_retries_total)

kill_list=""
for name in "${services[@]}"; do
    [ -z "${kills[$name]:-}" ] || kill_list+="$name ${kills[$name]}, "
done
summary=$(python3 - "$data/load.json" <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError) as error:
    print(f"chaos: the load's report is unreadable: {error}", file=sys.stderr)
    print("? ? ? ? ? ? ?")
    sys.exit(0)
check = report.get("check") or {}
checkout = next((op for op in report.get("operations", []) if op.get("name") == "checkout"), {})
p99 = checkout.get("p99_ms")
p99 = f"{p99:.1f}" if isinstance(p99, (int, float)) else "?"
print(check.get("placed", "?"), check.get("failed", "?"), check.get("pending", "?"),
      report.get("retries", "?"), checkout.get("count", "?"), p99,
      len(check.get("violations", [])) if check else "?")
EOF
)
read -r placed failed pending load_retries checkouts p99 violations <<<"$summary" || true

echo
echo "== chaos under load: figures"
echo "seed               $seed (replay: scripts/chaos.sh $seed $seconds)"
echo "load               ${seconds}s, 8 shoppers, checkout=60,cart=20,browse=20; exit status $load_status"
echo "orders             ${placed:-?} placed, ${failed:-?} failed, ${pending:-?} pending (of ${checkouts:-?} checkouts tried)"
echo "kills              $kills_total: ${kill_list%, }"
echo "faults             $faults_set set; $injected injected (bazaar_chaos_injected_total, undercounts across kills)"
echo "retries            $retries by the services' clients (bazaar_client_retries_total, undercounts across kills); ${load_retries:-?} by the load"
echo "checkout p99       ${p99:-?} ms"
if [ "${violations:-?}" = 0 ]; then
    echo "check              every invariant holds"
else
    echo "check              ${violations:-no} violation(s):"
    python3 -c 'import json, sys
for v in (json.load(open(sys.argv[1])).get("check") or {}).get("violations", []): print("  -", v)' \
        "$data/load.json" 2>/dev/null || true
fi

if [ "$load_status" -ne 0 ] || [ "${violations:-?}" != 0 ]; then
    echo "--- bazaar load (stderr, last 20 lines) ---" >&2
    tail -n 20 "$data/load.err" >&2 || true
    fail "chaos under load failed with seed $seed (load exit status $load_status, ${violations:-unknown} violation(s))"
fi
echo "chaos: passed (seed $seed)"
