#!/usr/bin/env bash
# Usage: scripts/clients-e2e.sh [--python-currency] [--plaintext] [path/to/bazaar]
#
# The Python and TypeScript clients each make a whole purchase against a live shop: starts
# `bazaar up` on the default ports (temporary data directory; admin@bazaar.test made admin
# with the one-time code it prints, through grpcurl), runs the pytest suite of clients/python and the node:test suite of
# clients/typescript, and stops the shop.
#
# The shop serves TLS with the PKI that `bazaar up` makes in its data directory: the clients
# trust its CA (BAZAAR_TLS_CA=<data>/pki/ca.crt) and present no certificate, as a shopper's
# client does; the conformance kit also presents the certificate its access rules expect
# (from <data>/pki), as the internal RPCs it checks need an identity. With --plaintext, the shop runs
# `bazaar up --plaintext` and everything reaches it with BAZAAR_PLAINTEXT=1.
#
# With --python-currency, the shop runs the Python currency service (alt/currency-python)
# in place of the Rust one (`bazaar up --replace currency=...`); the script then also checks
# that it is the Python service that answers on the currency port, runs the conformance
# kit's currency and orders suites against the live shop (orders prices carts through
# currency), that the storefront (gateway, :8080) shows prices in euros as it converts
# them, and the same two purchases, which price their orders in euros through it.
#
# Needs: curl, the bazaar binary (cargo build -p bazaar; with --python-currency also
# bazaar-conformance next to it: cargo build -p bazaar -p bazaar-conformance), the Python
# environment (scripts/python-env.sh) and clients/typescript/node_modules (npm ci there).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

python_currency=false
plaintext=false
while [ $# -gt 0 ]; do
    case $1 in
        --python-currency) python_currency=true ;;
        --plaintext) plaintext=true ;;
        *) break ;;
    esac
    shift
done
bin=$(realpath "${1:-$root/target/debug/bazaar}")
kit=$(dirname "$bin")/bazaar-conformance
script=clients-e2e
# shellcheck source=lib/shop.sh
source "$root/scripts/lib/shop.sh"

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
[ -x "$root/.venv/bin/python" ] || fail "no Python environment: run scripts/python-env.sh"
[ -d "$root/clients/typescript/node_modules" ] || fail "no node_modules: run npm ci in clients/typescript"
if $python_currency; then
    [ -x "$kit" ] || fail "$kit is not built (cargo build -p bazaar-conformance)"
fi
shop_ports_free

up_args=(up --data-dir "$data")
if $python_currency; then
    up_args+=(--replace "currency=$root/.venv/bin/python -m bazaar_currency")
fi
if $plaintext; then
    up_args+=(--plaintext)
fi
export BAZAAR_E2E_ADMIN_EMAIL=admin@bazaar.test
shop_start "$bin" "${up_args[@]}"
cat "$data/up.log"
# The clients' tests log in as this admin: make it one with the code bazaar up printed.
shop_make_admin "$BAZAAR_E2E_ADMIN_EMAIL" "a long admin password"

# How the clients (by the variables they read) and the kit (by its flags) reach the shop.
if $plaintext; then
    export BAZAAR_PLAINTEXT=1
    kit_tls=(--plaintext)
else
    export BAZAAR_TLS_CA="$data/pki/ca.crt"
    [ -f "$BAZAAR_TLS_CA" ] || fail "bazaar up made no CA at $BAZAAR_TLS_CA"
    kit_tls=(--data-dir "$data")
fi

if $python_currency; then
    echo "== the currency port is served by the Python implementation"
    grep -q "implementation=python" "$data/logs/currency.log" ||
        fail "the currency log does not show the Python service"
    echo "== conformance: currency and orders suites, with the Python currency in place"
    "$kit" currency --addr 127.0.0.1:50052 "${kit_tls[@]}" || fail "the Python currency breaks the contract"
    "$kit" orders --addr 127.0.0.1:50058 "${kit_tls[@]}" --identity-addr 127.0.0.1:50053 \
        --catalog-addr 127.0.0.1:50051 --cart-addr 127.0.0.1:50054 \
        --inventory-addr 127.0.0.1:50055 --currency-addr 127.0.0.1:50052 \
        --shipping-addr 127.0.0.1:50057 --admin-email "$BAZAAR_E2E_ADMIN_EMAIL" \
        --admin-password "a long admin password" ||
        fail "orders breaks the contract with the Python currency in place"
    echo "== the storefront prices in euros through it"
    product=$(curl -fsS "http://127.0.0.1:8080/api/v1/products/brass-desk-lamp?currency=EUR") ||
        fail "the storefront API did not answer"
    echo "$product"
    "$root/.venv/bin/python" - "$product" <<'PY' || fail "the storefront did not price in euros"
import json, sys

from bazaar_client import Bazaar
from bazaar_client.generated.bazaar.currency.v1 import currency_pb2
from bazaar_client.generated.bazaar.type.v1 import money_pb2

answer = json.loads(sys.argv[1])
shown, usd = answer["product"]["price"], answer["product"]["price_usd"]
with Bazaar() as shop:
    expected = shop.currency.Convert(currency_pb2.ConvertRequest(
        amount=money_pb2.Money(currency_code="USD", units=usd["units"], nanos=usd["nanos"]),
        to_currency_code="EUR")).converted
assert answer["currency_note"] is None, answer
assert (shown["currency_code"], shown["units"], shown["nanos"]) == ("EUR", expected.units, expected.nanos), answer
print(f"storefront: {usd['text']} shown as {shown['text']}, as the Python currency converts it")
PY
fi

echo "== Python client: a whole purchase (pytest)"
(cd "$root/clients/python" && "$root/.venv/bin/python" -m pytest -v) || fail "the Python purchase failed"

echo "== TypeScript client: a whole purchase (node:test)"
(cd "$root/clients/typescript" && npm test --silent) || fail "the TypeScript purchase failed"

if $python_currency; then
    echo "clients-e2e: OK with the Python currency service in place"
else
    echo "clients-e2e: OK"
fi
