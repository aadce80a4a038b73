#!/usr/bin/env bash
# Usage: scripts/cpu-per-order.sh [runs] [seconds] [shoppers]
#
# What one order costs each service in CPU, under the shopper mix: builds bazaar in release
# mode, starts `bazaar up` in a temporary data directory on the default ports (which must be
# free) with the per-client rate limit off, then `runs` times (default 3) reads every
# process's `process_cpu_seconds_total` from its admin listener, runs `bazaar load` through
# the storefront (the default shopper mix: browsing, search, carts, checkouts, order history)
# with `shoppers` closed-loop shoppers (default 8) for `seconds` (default 20), reads the CPU
# again, and divides each process's CPU by the orders the run placed. Prints each run and
# the median milliseconds of CPU per order by process; docs/scaling.md turns them into a
# capacity model. The load generator runs on the same machine and is not counted.
# BAZAAR_BIN=path/to/bazaar runs that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
seconds=${2:-20}
shoppers=${3:-8}
script=cpu-per-order
# shellcheck source=lib/shop.sh
source scripts/lib/shop.sh

shop_ports_free
shop_release_bin
export BAZAAR_GATEWAY_RATE_LIMIT_PER_SECOND=0
shop_start "$bin" up --data-dir "$data"

# cpu: "service seconds" for every process of targets.json, bazaar up itself left out.
cpu() {
    python3 - "$data/prometheus/targets.json" <<'PY'
import json, sys, urllib.request
for group in json.load(open(sys.argv[1])):
    service = group["labels"]["service"]
    if service == "bazaar-up":
        continue
    for target in group["targets"]:
        text = urllib.request.urlopen(f"http://{target}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("process_cpu_seconds_total"):
                print(service, line.split()[-1])
PY
}

results=()
for run in $(seq 1 "$runs"); do
    before=$(cpu)
    report=$("$bin" load --data-dir "$data" --gateway http://127.0.0.1:8080 \
        --shoppers "$shoppers" --duration "${seconds}s" --seed "$run" --json)
    after=$(cpu)
    line=$(python3 - "$before" "$after" "$report" <<'PY'
import json, sys
before = dict(l.split() for l in sys.argv[1].splitlines())
after = dict(l.split() for l in sys.argv[2].splitlines())
report = json.loads(sys.argv[3])
orders = report["orders_acknowledged"]
errors = sum(sum(row["errors"].values()) for row in report["operations"])
costs = {s: (float(after[s]) - float(before[s])) * 1000 / orders for s in after}
print(json.dumps({"orders": orders, "seconds": report["duration_s"], "errors": errors,
                  "ms_per_order": costs}))
PY
)
    echo "run $run: $line"
    results+=("$line")
done

python3 - "${results[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(r) for r in sys.argv[1:]]
services = list(runs[0]["ms_per_order"])
print(f"median of {len(runs)} runs: orders per second "
      f"{statistics.median(r['orders'] / r['seconds'] for r in runs):.1f}; "
      "CPU milliseconds per order (the whole shopper mix behind each order):")
total = 0.0
for service in services:
    value = statistics.median(r["ms_per_order"][service] for r in runs)
    total += value
    print(f"  {service:<16} {value:8.2f}")
print(f"  {'all':<16} {total:8.2f}")
PY
