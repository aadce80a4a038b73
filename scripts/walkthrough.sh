#!/usr/bin/env bash
# Usage: scripts/walkthrough.sh [path/to/bazaar]
#
# A whole purchase with grpcurl only, as a client in any language would make it: start
# `bazaar up` (in a temporary data directory), make an admin with the one-time code it
# prints, stock a product as the admin, then as a guest browse, search, fill the cart, place an order with a test
# card, read the order back, and read the confirmation that notification wrote into its
# Maildir. Prints each call and its answer; exits non-zero on the first surprise.
# Needs grpcurl and python3 (to read fields out of grpcurl's JSON).
set -euo pipefail

bin=${1:-target/debug/bazaar}
script=walkthrough
# shellcheck source=lib/shop.sh
source "$(dirname "$0")/lib/shop.sh"

# field JSON PATH: prints one field of a JSON document (PATH like "session.accessToken").
field() {
    python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value[int(key)] if key.isdigit() else value[key]
print(value)' "$1" "$2"
}

# rpc ADDRESS METHOD JSON [grpcurl flags...]: shows the call and its answer.
rpc() {
    local addr=$1 method=$2 body=$3
    shift 3
    echo "\$ grpcurl $* -d '$body' $addr $method" >&2
    local answer
    answer=$(grpcurl -cacert "$data/pki/ca.crt" "$@" -d "$body" "$addr" "$method") || fail "$method failed"
    echo "$answer" | head -n 40 >&2
    echo "$answer"
}

[ -x "$bin" ] || fail "$bin is not built (cargo build -p bazaar)"
shop_ports_free
shop_start "$bin" up --data-dir "$data"
cat "$data/up.log"

echo "== the operator signs up and redeems the admin code bazaar up printed"
code=$(shop_admin_code)
out=$(rpc 127.0.0.1:50053 bazaar.identity.v1.IdentityService/SignUp \
    '{"email": "admin@bazaar.test", "password": "a long admin password"}')
token=$(field "$out" session.accessToken)
refresh=$(field "$out" session.refreshToken)
out=$(rpc 127.0.0.1:50053 bazaar.identity.v1.IdentityService/ClaimAdmin "{\"code\": \"$code\"}" \
    -H "authorization: Bearer $token")
[ "$(field "$out" user.roles.0)" = "ROLE_ADMIN" ] || fail "the code did not make an admin"
# The token the claim was made with keeps its claims: a refreshed one carries the role.
out=$(rpc 127.0.0.1:50053 bazaar.identity.v1.IdentityService/RefreshSession \
    "{\"refresh_token\": \"$refresh\"}")
admin=$(field "$out" session.accessToken)

echo "== the admin stocks a product"
rpc 127.0.0.1:50055 bazaar.inventory.v1.InventoryService/Restock \
    '{"request_id": "walk-restock-1", "product_id": "brass-desk-lamp", "quantity": 10}' \
    -H "authorization: Bearer $admin" >/dev/null

echo "== a guest browses and searches"
out=$(rpc 127.0.0.1:50053 bazaar.identity.v1.IdentityService/StartGuestSession '{}')
guest=$(field "$out" session.accessToken)
rpc 127.0.0.1:50051 bazaar.catalog.v1.CatalogService/ListProducts \
    '{"page_size": 3, "category_id": "lighting"}' >/dev/null
out=$(rpc 127.0.0.1:50051 bazaar.catalog.v1.CatalogService/SearchProducts '{"query": "brass lamp"}')
[ "$(field "$out" products.0.id)" = "brass-desk-lamp" ] || fail "search did not find the lamp first"

echo "== the guest fills the cart"
rpc 127.0.0.1:50054 bazaar.cart.v1.CartService/AddItem \
    '{"request_id": "walk-add-1", "product_id": "brass-desk-lamp", "quantity": 2}' \
    -H "authorization: Bearer $guest" >/dev/null

echo "== the guest places the order, in euros, with a test card that succeeds"
out=$(rpc 127.0.0.1:50058 bazaar.orders.v1.OrdersService/PlaceOrder '{
    "request_id": "walk-order-1",
    "email": "ada@example.com",
    "currency_code": "EUR",
    "shipping_address": {"recipient_name": "Ada Lovelace", "street_lines": ["1 Main St"],
        "city": "Springfield", "postal_code": "12345", "country_code": "US"},
    "card": {"number": "4242424242424242", "expiry_month": 12, "expiry_year": 2030,
        "cvv": "123", "holder_name": "Ada Lovelace"}}' \
    -H "authorization: Bearer $guest" -max-time 30)
order_id=$(field "$out" order.id)
[ "$(field "$out" order.state)" = "ORDER_STATE_PLACED" ] || fail "the order was not placed"
tracking=$(field "$out" order.trackingId)

echo "== the guest reads the order back"
out=$(rpc 127.0.0.1:50058 bazaar.orders.v1.OrdersService/GetOrder "{\"order_id\": \"$order_id\"}" \
    -H "authorization: Bearer $guest")
[ "$(field "$out" order.trackingId)" = "$tracking" ] || fail "GetOrder disagrees with PlaceOrder"

echo "== notification sent the confirmation"
for _ in $(seq 1 100); do
    out=$(grpcurl -cacert "$data/pki/ca.crt" -H "authorization: Bearer $guest" \
        -d "{\"order_id\": \"$order_id\"}" 127.0.0.1:50059 \
        bazaar.notification.v1.NotificationService/ListNotifications)
    grep -q '"recipient"' <<<"$out" && break
    sleep 0.1
done
grep -q '"ada@example.com"' <<<"$out" || fail "no confirmation was recorded: $out"
echo "$out"
mail=$(ls "$data"/maildir/new/* | head -n 1)
[ -f "$mail" ] || fail "no message in the Maildir"
grep -q "$tracking" "$mail" || fail "the message does not carry the tracking id"
echo "--- $mail (headers) ---"
sed -n '1,/^$/p' "$mail"

echo "walkthrough: OK: order $order_id placed, tracking $tracking, confirmation in the Maildir"
