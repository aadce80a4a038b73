#!/usr/bin/env bash
# Usage: scripts/smoke.sh [path/to/bazaar]
#
# Runs the whole system as a user would and checks it from the outside with grpcurl (and
# curl for the storefront): `bazaar up` in a temporary data directory; for every service,
# reflection (list and describe), a health check and a real call; the storefront's health,
# home page and JSON API; a bad call that must fail with the right code;
# a service killed with SIGKILL that must come back SERVING; then Ctrl-C (SIGINT), after
# which `bazaar up` must exit 0 and leave no service process behind.
# Needs grpcurl and curl on PATH. Exits non-zero on the first failed check.
set -euo pipefail

bin=${1:-target/debug/bazaar}
data=$(mktemp -d)
log="$data/up.log"
up_pid=""

fail() {
    echo "smoke: FAIL: $*" >&2
    echo "--- bazaar up output ---" >&2
    cat "$log" >&2 || true
    for f in "$data"/logs/*.log; do
        [ -f "$f" ] && { echo "--- $f (last 20 lines) ---" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill -INT "$up_pid" 2>/dev/null || true
        sleep 2
        kill -KILL "$up_pid" 2>/dev/null || true
    fi
    pkill -f "bazaar serve .* --data-dir $data" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

# Seconds since the epoch, with fractions, and seconds elapsed since such a time.
now() { date +%s.%N; }
elapsed() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.1 s.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.1
    done
}

serving() {
    local answer
    answer=$(grpcurl -cacert "$data/pki/ca.crt" -max-time 2 "$1" grpc.health.v1.Health/Check) || return 1
    grep -q '"SERVING"' <<<"$answer"
}

# call ADDRESS METHOD JSON [grpcurl flags...]: prints the answer (grpcurl's output captured
# first, for the same reason as above).
call() {
    local addr=$1 method=$2 body=$3
    shift 3
    grpcurl -cacert "$data/pki/ca.crt" "$@" -d "$body" "$addr" "$method"
}

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
command -v grpcurl >/dev/null || fail "grpcurl is not on PATH"

started=$(now)
"$bin" up --data-dir "$data" >"$log" 2>&1 &
up_pid=$!
wait_for 90 "bazaar up to say the shop is open" grep -q "the shop is open" "$log"
# bazaar up says so only once a page would load: the home page loads at once.
curl -fsS -o /dev/null http://127.0.0.1:8080/ ||
    fail "bazaar up said the shop is open, but the home page did not load"
echo "smoke: all services SERVING and the home page loading after $(elapsed "$started") s"
cat "$log"

check_service() {
    local addr=$1 full=$2
    # Outputs are captured before grep reads them: `grep -q` stops reading early, and
    # pipefail would count the writer's SIGPIPE as a failure.
    local listed described
    listed=$(grpcurl -cacert "$data/pki/ca.crt" "$addr" list) || fail "cannot list $addr"
    grep -qx "$full" <<<"$listed" || fail "$addr does not list $full"
    grep -qx "grpc.health.v1.Health" <<<"$listed" || fail "$addr does not list health"
    described=$(grpcurl -cacert "$data/pki/ca.crt" "$addr" describe "$full") || fail "cannot describe $full"
    grep -q "rpc " <<<"$described" || fail "cannot describe $full"
    serving "$addr" || fail "$addr is not SERVING"
    echo "smoke: $full at $addr: listed, described, SERVING"
}

check_service 127.0.0.1:50051 bazaar.catalog.v1.CatalogService
check_service 127.0.0.1:50052 bazaar.currency.v1.CurrencyService
check_service 127.0.0.1:50053 bazaar.identity.v1.IdentityService
check_service 127.0.0.1:50054 bazaar.cart.v1.CartService
check_service 127.0.0.1:50055 bazaar.inventory.v1.InventoryService
check_service 127.0.0.1:50056 bazaar.payment.v1.PaymentService
check_service 127.0.0.1:50057 bazaar.shipping.v1.ShippingService
check_service 127.0.0.1:50058 bazaar.orders.v1.OrdersService
check_service 127.0.0.1:50059 bazaar.notification.v1.NotificationService
check_service 127.0.0.1:50060 bazaar.recommendation.v1.RecommendationService

# The storefront: healthy, a home page with products, the JSON API, the status page.
out=$(curl -fsS http://127.0.0.1:8080/healthz) || fail "the gateway's /healthz did not answer"
out=$(curl -fsS http://127.0.0.1:8080/) || fail "the home page did not load"
grep -q "All products" <<<"$out" || fail "the home page shows no products"
out=$(curl -fsS "http://127.0.0.1:8080/api/v1/search?q=lamp") || fail "the API search failed"
grep -q '"brass-desk-lamp"' <<<"$out" || fail "the API search found no lamp: $out"
out=$(curl -fsS http://127.0.0.1:8080/api/v1/status) || fail "the status API failed"
grep -q '"serving":10' <<<"$out" || fail "the status page does not see 10 services serving: $out"
grep -q '"plaintext":false' <<<"$out" || fail "the status page does not say mutual TLS: $out"
echo "smoke: the storefront at 127.0.0.1:8080 serves pages, the API and the status of every service"

# Real calls.
out=$(call 127.0.0.1:50051 bazaar.catalog.v1.CatalogService/ListProducts '{"page_size": 3}')
grep -q '"nextPageToken"' <<<"$out" || fail "ListProducts did not return a first page"
out=$(call 127.0.0.1:50051 bazaar.catalog.v1.CatalogService/SearchProducts '{"query": "lamp"}')
grep -qi 'lamp' <<<"$out" || fail "SearchProducts found no lamp"
out=$(call 127.0.0.1:50052 bazaar.currency.v1.CurrencyService/Convert \
    '{"amount": {"currency_code": "USD", "units": 10}, "to_currency_code": "EUR"}')
grep -q '"currencyCode": "EUR"' <<<"$out" || fail "Convert did not answer in EUR"
out=$(call 127.0.0.1:50053 bazaar.identity.v1.IdentityService/StartGuestSession '{}')
token=$(sed -n 's/.*"accessToken": "\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$token" ] || fail "StartGuestSession gave no access token"
out=$(call 127.0.0.1:50053 bazaar.identity.v1.IdentityService/GetCurrentUser '{}' \
    -H "authorization: Bearer $token")
grep -q USER_KIND_GUEST <<<"$out" || fail "GetCurrentUser did not know the guest"
out=$(call 127.0.0.1:50054 bazaar.cart.v1.CartService/AddItem \
    '{"request_id": "smoke-1", "product_id": "brass-desk-lamp", "quantity": 2}' \
    -H "authorization: Bearer $token")
out=$(call 127.0.0.1:50054 bazaar.cart.v1.CartService/GetCart '{}' -H "authorization: Bearer $token")
grep -q '"brass-desk-lamp"' <<<"$out" || fail "the cart does not hold what was added: $out"
out=$(call 127.0.0.1:50057 bazaar.shipping.v1.ShippingService/GetQuote \
    '{"address": {"recipient_name": "Ada", "street_lines": ["1 Main St"], "city": "Springfield", "postal_code": "12345", "country_code": "US"}, "items": [{"product_id": "brass-desk-lamp", "quantity": 2}]}')
grep -q '"nanos": 970000000' <<<"$out" || fail "GetQuote did not price 2 units at 6.97 USD: $out"
# Reserving is for orders only: call as orders, with its certificate.
out=$(call 127.0.0.1:50055 bazaar.inventory.v1.InventoryService/ReserveStock \
    '{"request_id": "smoke-reserve", "lines": [{"product_id": "brass-desk-lamp", "quantity": 1}]}' \
    -cert "$data/pki/orders.crt" -key "$data/pki/orders.key" 2>&1 || true)
grep -q "INSUFFICIENT_STOCK\|FailedPrecondition" <<<"$out" \
    || fail "reserving what was never stocked did not fail with FailedPrecondition: $out"
if grpcurl -cacert "$data/pki/ca.crt" 127.0.0.1:50053 bazaar.identity.v1.IdentityService/GetCurrentUser >/dev/null 2>&1; then
    fail "GetCurrentUser answered without a token"
fi
echo "smoke: catalog, currency, identity, cart, inventory and shipping answer real calls; a call without a token is refused"

# A bad call fails with the right code.
if out=$(grpcurl -cacert "$data/pki/ca.crt" -d '{"product_id": "Not A Slug"}' 127.0.0.1:50051 \
    bazaar.catalog.v1.CatalogService/GetProduct 2>&1); then
    fail "a malformed product id was accepted"
fi
grep -q "InvalidArgument" <<<"$out" || fail "a malformed product id did not get InvalidArgument: $out"
echo "smoke: a malformed id gets InvalidArgument"

# Mutual TLS: a plaintext call gets nowhere, the operator certificate is accepted, and the
# CA's key and folder are private.
if grpcurl -plaintext -max-time 2 127.0.0.1:50051 list >/dev/null 2>&1; then
    fail "catalog answered a plaintext call"
fi
grpcurl -cacert "$data/pki/ca.crt" -cert "$data/pki/operator.crt" -key "$data/pki/operator.key" \
    127.0.0.1:50058 grpc.health.v1.Health/Check >/dev/null || fail "the operator certificate is refused"
# An internal RPC: refused without a certificate, answered with the operator's.
if out=$(call 127.0.0.1:50056 bazaar.payment.v1.PaymentService/ListCharges '{"page_size": 5}' 2>&1); then
    fail "payment's ledger answered a caller without a certificate: $out"
fi
grep -q "Unauthenticated" <<<"$out" || fail "ListCharges without a certificate is not UNAUTHENTICATED: $out"
call 127.0.0.1:50056 bazaar.payment.v1.PaymentService/ListCharges '{"page_size": 5}' \
    -cert "$data/pki/operator.crt" -key "$data/pki/operator.key" >/dev/null ||
    fail "ListCharges refused the operator certificate"
[ "$(stat -c %a "$data/pki")" = 700 ] || fail "$data/pki is not 0700"
[ "$(stat -c %a "$data/pki/ca.key")" = 600 ] || fail "ca.key is not 0600"
echo "smoke: TLS only; internal RPCs need a certificate, the operator's is accepted; the CA key and its folder are private"

# Kill a service hard: the supervisor brings it back.
victim=$(pgrep -f "bazaar serve catalog .*--data-dir $data" || true)
victim=${victim%%$'\n'*}
[ -n "$victim" ] || fail "cannot find the catalog process"
killed=$(now)
kill -KILL "$victim"
wait_for 5 "catalog to go down" bash -c "! kill -0 $victim 2>/dev/null"
wait_for 30 "catalog to come back" serving 127.0.0.1:50051
echo "smoke: catalog killed with SIGKILL was SERVING again after $(elapsed "$killed") s"
wait_for 10 "bazaar up to report the restart" grep -q "catalog is back" "$log"

# A second bazaar up refuses to start over the first one's ports.
if second=$("$bin" up --data-dir "$data/second" 2>&1); then
    fail "a second bazaar up started over the first one"
fi
grep -q "already in use: catalog (127.0.0.1:50051)" <<<"$second" || fail "unexpected refusal: $second"
echo "smoke: a second bazaar up refuses the taken ports"

# Ctrl-C stops everything, gracefully.
kill -INT "$up_pid"
status=0
wait "$up_pid" || status=$?
up_pid=""
[ "$status" -eq 0 ] || fail "bazaar up exited with $status after SIGINT"
grep -q "catalog stopped (exit status: 0)" "$log" || fail "catalog did not exit cleanly"
if grep -q "killed after not stopping in time" "$log"; then
    fail "a service had to be killed: $(grep 'killed after' "$log")"
fi
if pgrep -f "bazaar serve .* --data-dir $data" >/dev/null; then
    fail "service processes outlived bazaar up"
fi
echo "smoke: bazaar up stopped every service cleanly"
echo "smoke: OK"
