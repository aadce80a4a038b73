#!/usr/bin/env bash
# Usage: scripts/prometheus-e2e.sh [path/to/bazaar]
#
# A real Prometheus against a real shop: start `bazaar up` (in a temporary data directory),
# then Prometheus on a free port with deploy/prometheus/prometheus.yml and its rules (a copy
# whose file_sd points at that data directory's prometheus/targets.json, scraping and
# evaluating every second), make a purchase with grpcurl, and query Prometheus's HTTP API
# until every target of targets.json is up and PlaceOrder is counted in
# grpc_server_handled_total{grpc_method="PlaceOrder",grpc_code="OK"}; then a second
# purchase, after which the recording rules must give rates, and every rule must have been
# evaluated without an error. Stops everything it started, whatever happens.
# Needs prometheus (Debian's package), grpcurl and python3.
set -euo pipefail

bin=${1:-target/debug/bazaar}
script=prometheus-e2e
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/shop.sh
source "$(dirname "$0")/lib/shop.sh"

prometheus_pid=""
stop_prometheus() {
    if [ -n "$prometheus_pid" ] && kill -0 "$prometheus_pid" 2>/dev/null; then
        kill -TERM "$prometheus_pid" 2>/dev/null || true
        wait "$prometheus_pid" 2>/dev/null || true
    fi
    prometheus_pid=""
}
trap 'stop_prometheus; shop_cleanup' EXIT

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
command -v prometheus >/dev/null || fail "prometheus is not installed (apt-get install prometheus)"
command -v grpcurl >/dev/null || fail "grpcurl is not installed"

# query PROMQL: prints the result vector of an instant query as lines "labels value".
query() {
    curl -fsS --get --data-urlencode "query=$1" "http://127.0.0.1:$port/api/v1/query" |
        python3 -c 'import json, sys
answer = json.load(sys.stdin)
assert answer["status"] == "success", answer
for item in answer["data"]["result"]:
    labels = ",".join(f"{k}={v}" for k, v in sorted(item["metric"].items()))
    print(labels, item["value"][1])'
}

# wait_for_query SECONDS WHAT PROMQL CHECK: queries until CHECK (a python expression on
# `lines`, the query's output lines) holds; fails, showing the last answer, if it never does.
wait_for_query() {
    local seconds=$1 what=$2 promql=$3 check=$4 out="" _
    for _ in $(seq 1 $((seconds * 2))); do
        out=$(query "$promql" || true)
        if python3 -c "import sys; lines = sys.argv[1].splitlines(); sys.exit(0 if ($check) else 1)" "$out"; then
            echo "  $what: $promql"
            sed 's/^/    /' <<<"$out"
            return 0
        fi
        sleep 0.5
    done
    fail "$what: never true after ${seconds}s: $promql answered: ${out:-nothing}; Prometheus log: $(tail -n 5 "$data/prometheus.log")"
}

echo "== bazaar up"
shop_ports_free
shop_start "$bin" up --data-dir "$data"
cat "$data/up.log"
targets="$data/prometheus/targets.json"
[ -f "$targets" ] || fail "bazaar up wrote no $targets"
expected=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$targets")
echo "$targets names $expected targets"

echo "== Prometheus, with deploy/prometheus/ scraping and evaluating every second"
config="$data/prometheus-config"
mkdir -p "$config/rules"
cp "$root"/deploy/prometheus/rules/*.yml "$config/rules/"
sed -e 's/^\(  scrape_interval:\).*/\1 1s/' \
    -e 's/^\(  scrape_timeout:\).*/\1 1s/' \
    -e 's/^\(  evaluation_interval:\).*/\1 1s/' \
    -e 's/^\(        refresh_interval:\).*/\1 1s/' \
    -e "s|^\(          - \)\.\./\.\./data/prometheus/targets\.json$|\1$targets|" \
    "$root/deploy/prometheus/prometheus.yml" >"$config/prometheus.yml"
for setting in "scrape_interval: 1s" "evaluation_interval: 1s" "- $targets"; do
    grep -qF -- "$setting" "$config/prometheus.yml" || fail "the copy of prometheus.yml lacks '$setting'"
done
promtool check config "$config/prometheus.yml" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus --config.file="$config/prometheus.yml" --storage.tsdb.path="$data/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$data/prometheus.log" 2>&1 &
prometheus_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    kill -0 "$prometheus_pid" 2>/dev/null || fail "Prometheus exited: $(tail -n 20 "$data/prometheus.log")"
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null || fail "Prometheus is not ready: $(tail -n 20 "$data/prometheus.log")"
echo "Prometheus at http://127.0.0.1:$port/"

echo "== every process of targets.json is scraped and up"
wait_for_query 30 "every target up" 'up{job="bazaar"}' \
    "len(lines) == $expected and all(line.endswith(' 1') for line in lines)"
wait_for_query 30 "bazaar up reports every child running" 'bazaar_up_process_up' \
    "len(lines) == $expected - 1 and all(line.endswith(' 1') for line in lines)"

echo "== a purchase, with grpcurl"
ca="$data/pki/ca.crt"
shop_make_admin "admin@bazaar.test" "a long admin password"
admin=$(grpcurl -cacert "$ca" -d '{"email": "admin@bazaar.test", "password": "a long admin password"}' \
    127.0.0.1:50053 bazaar.identity.v1.IdentityService/LogIn |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["session"]["accessToken"])')
grpcurl -cacert "$ca" -H "authorization: Bearer $admin" \
    -d '{"request_id": "prom-restock-1", "product_id": "brass-desk-lamp", "quantity": 10}' \
    127.0.0.1:50055 bazaar.inventory.v1.InventoryService/Restock >/dev/null || fail "Restock failed"
# purchase N: a guest puts the lamp in the cart and places order N with a test card.
purchase() {
    local n=$1 guest out
    guest=$(grpcurl -cacert "$ca" -d '{}' 127.0.0.1:50053 bazaar.identity.v1.IdentityService/StartGuestSession |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["session"]["accessToken"])')
    grpcurl -cacert "$ca" -H "authorization: Bearer $guest" \
        -d "{\"request_id\": \"prom-add-$n\", \"product_id\": \"brass-desk-lamp\", \"quantity\": 1}" \
        127.0.0.1:50054 bazaar.cart.v1.CartService/AddItem >/dev/null || fail "AddItem failed"
    out=$(grpcurl -cacert "$ca" -H "authorization: Bearer $guest" -max-time 30 -d "{
        \"request_id\": \"prom-order-$n\",
        \"email\": \"ada@example.com\",
        \"currency_code\": \"USD\",
        \"shipping_address\": {\"recipient_name\": \"Ada Lovelace\", \"street_lines\": [\"1 Main St\"],
            \"city\": \"Springfield\", \"postal_code\": \"12345\", \"country_code\": \"US\"},
        \"card\": {\"number\": \"4242424242424242\", \"expiry_month\": 12, \"expiry_year\": 2030,
            \"cvv\": \"123\", \"holder_name\": \"Ada Lovelace\"}}" \
        127.0.0.1:50058 bazaar.orders.v1.OrdersService/PlaceOrder) || fail "PlaceOrder $n failed"
    grep -q '"ORDER_STATE_PLACED"' <<<"$out" || fail "order $n was not placed: $out"
    echo "order $n placed"
}
placed_ok='grpc_server_handled_total{grpc_service="bazaar.orders.v1.OrdersService",grpc_method="PlaceOrder",grpc_code="OK"}'
purchase 1

echo "== Prometheus counted it, and the recording rules evaluate"
wait_for_query 30 "PlaceOrder counted" "$placed_ok" \
    "any('service=orders' in line and float(line.split()[-1]) >= 1 for line in lines)"
# A series is born at its first value, so rate() sees no increase until a second one: a
# second purchase, once Prometheus has the first, gives the rates something to measure.
purchase 2
wait_for_query 30 "the second counted too" "$placed_ok" \
    "any('service=orders' in line and float(line.split()[-1]) >= 2 for line in lines)"
wait_for_query 30 "the request rate per service is recorded" 'service:grpc_server_handled:rate1m{service="orders"}' \
    "len(lines) == 1 and float(lines[0].split()[-1]) > 0"
wait_for_query 30 "checkout's availability SLI is recorded" 'bazaar:checkout_errors:ratio_rate5m' \
    "len(lines) == 1 and float(lines[0].split()[-1]) == 0"
# Every rule of deploy/prometheus/rules has been evaluated, and without an error.
rules_ok=""
for _ in $(seq 1 60); do
    rules_ok=$(curl -fsS "http://127.0.0.1:$port/api/v1/rules" | python3 -c 'import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [rule for group in groups for rule in group["rules"]]
bad = [f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}" for rule in rules if rule["health"] != "ok"]
print(f"{len(groups)} groups, {len(rules)} rules; not ok: {bad}")
sys.exit(0 if groups and not bad else 1)') && break
    sleep 0.5
done
[ -n "$rules_ok" ] && grep -q "not ok: \[\]" <<<"$rules_ok" || fail "the rules did not all evaluate: $rules_ok"
echo "  rules: $rules_ok"

echo "prometheus-e2e: OK: $expected targets up, PlaceOrder counted, rules evaluated"
