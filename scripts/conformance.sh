#!/usr/bin/env bash
# Usage: scripts/conformance.sh [--plaintext] [path/to/bazaar] [path/to/bazaar-conformance]
#
# Runs the conformance kit against every service of a live shop: starts `bazaar up` on the
# default ports (in a temporary data directory), then runs
# `bazaar-conformance <service>` for each of the ten services, giving each the addresses
# of the neighbours its checks need (and the admin code `bazaar up` printed, which the kit
# redeems for its admin account), and stops the shop. Prints every check; exits non-zero
# when any service breaks a promise of the contract (or the shop does not start).
# The shop serves TLS with the PKI `bazaar up` makes in its data directory: the kit trusts
# its CA and presents the operator's certificate (internal RPCs need an identity). With
# --plaintext, the shop runs `bazaar up --plaintext` and the kit `--plaintext`.
# Build both binaries first: cargo build -p bazaar -p bazaar-conformance
set -euo pipefail

plaintext=false
if [ "${1:-}" = "--plaintext" ]; then
    plaintext=true
    shift
fi
bin=${1:-target/debug/bazaar}
kit=${2:-$(dirname "$bin")/bazaar-conformance}
script=conformance
# shellcheck source=lib/shop.sh
source "$(dirname "$0")/lib/shop.sh"
admin_email=admin@conformance.test
admin_password="the conformance admin password"

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
[ -x "$kit" ] || fail "$kit is not built (cargo build -p bazaar-conformance)"
shop_ports_free
if $plaintext; then
    shop_start "$bin" up --data-dir "$data" --plaintext
    tls=(--plaintext)
else
    shop_start "$bin" up --data-dir "$data"
    [ -f "$data/pki/ca.crt" ] || fail "bazaar up made no CA at $data/pki/ca.crt"
    # The kit shows each service the certificate its access rules expect, from there.
    tls=(--data-dir "$data")
fi
cat "$data/up.log"

addr() {
    case $1 in
        catalog) echo 127.0.0.1:50051 ;; currency) echo 127.0.0.1:50052 ;;
        identity) echo 127.0.0.1:50053 ;; cart) echo 127.0.0.1:50054 ;;
        inventory) echo 127.0.0.1:50055 ;; payment) echo 127.0.0.1:50056 ;;
        shipping) echo 127.0.0.1:50057 ;; orders) echo 127.0.0.1:50058 ;;
        notification) echo 127.0.0.1:50059 ;; recommendation) echo 127.0.0.1:50060 ;;
    esac
}

neighbours=(--identity-addr "$(addr identity)" --catalog-addr "$(addr catalog)"
    --cart-addr "$(addr cart)" --inventory-addr "$(addr inventory)"
    --currency-addr "$(addr currency)" --shipping-addr "$(addr shipping)"
    --orders-addr "$(addr orders)"
    --admin-email "$admin_email" --admin-password "$admin_password"
    --admin-code "$(shop_admin_code)" "${tls[@]}")

failed=()
for service in catalog currency identity cart inventory payment shipping orders notification recommendation; do
    echo
    if ! "$kit" "$service" --addr "$(addr "$service")" "${neighbours[@]}"; then
        failed+=("$service")
    fi
done

echo
if [ ${#failed[@]} -gt 0 ]; then
    fail "these services break the contract: ${failed[*]}"
fi
echo "conformance: OK: all ten services keep the contract's promises"
