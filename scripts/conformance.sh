#!/usr/bin/env bash
# Usage: scripts/conformance.sh [path/to/bazaar] [path/to/bazaar-conformance]
#
# Runs the conformance kit against every service of a live shop: starts `bazaar up` on the
# default ports (in a temporary data directory, with an admin configured), then runs
# `bazaar-conformance <service>` for each of the ten services, giving each the addresses
# of the neighbours its checks need, and stops the shop. Prints every check; exits non-zero
# when any service breaks a promise of the contract (or the shop does not start).
# Build both binaries first: cargo build -p bazaar -p bazaar-conformance
set -euo pipefail

bin=${1:-target/debug/bazaar}
kit=${2:-$(dirname "$bin")/bazaar-conformance}
data=$(mktemp -d)
up_pid=""
admin_email=admin@conformance.test
admin_password="the conformance admin password"

fail() {
    echo "conformance: FAIL: $*" >&2
    for f in "$data"/logs/*.log; do
        [ -f "$f" ] && { echo "--- $f (last 10 lines) ---" >&2; tail -n 10 "$f" >&2; }
    done
    exit 1
}

cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill -INT "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
[ -x "$kit" ] || fail "$kit is not built (cargo build -p bazaar-conformance)"
for port in $(seq 50051 50060); do
    if ss -ltn "sport = :$port" | grep -q LISTEN; then
        fail "port $port is in use: stop whatever runs there (another bazaar up?) first"
    fi
done

BAZAAR_IDENTITY_ADMIN_EMAILS=$admin_email "$bin" up --data-dir "$data" >"$data/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 300); do
    grep -q "services up" "$data/up.log" 2>/dev/null && break
    kill -0 "$up_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q "services up" "$data/up.log" || fail "bazaar up did not start"
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
    --admin-email "$admin_email" --admin-password "$admin_password")

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
