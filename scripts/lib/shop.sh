# Sourced (not run) by the scripts that drive a whole shop through `bazaar up`:
#
#   script=walkthrough; source "$(dirname "$0")/lib/shop.sh"
#   shop_ports_free
#   shop_start "$bin" up --data-dir "$data"
#
# Gives the script `data` (a temporary directory, removed on exit), `fail MESSAGE` (prints
# the message and the end of every service's log, exits 1), `shop_ports_free` (fails if a
# port of bazaar is taken), `shop_start COMMAND...` (runs `bazaar up` in the background and
# waits until it says the shop is open: every service SERVING and the home page loading) and `shop_stop` (Ctrl-C, then waits); the shop is
# stopped on exit whatever happens. `script` names the script in messages. `shop_admin_code`
# prints the one-time admin code `bazaar up` printed (a fresh shop has no admin), and
# `shop_make_admin EMAIL PASSWORD` signs that account up (or logs it in) and redeems the code
# for it with grpcurl. `shop_release_bin` sets `bin` to the release build the benchmarks run
# (or to `BAZAAR_BIN`).

data=$(mktemp -d)
shop_pid=""

fail() {
    echo "${script:-shop}: FAIL: $*" >&2
    for f in "$data"/logs/*.log; do
        [ -f "$f" ] && { echo "--- $f (last 10 lines) ---" >&2; tail -n 10 "$f" >&2; }
    done
    exit 1
}

shop_stop() {
    if [ -n "$shop_pid" ] && kill -0 "$shop_pid" 2>/dev/null; then
        kill -INT "$shop_pid" 2>/dev/null || true
        wait "$shop_pid" 2>/dev/null || true
    fi
    shop_pid=""
}

shop_cleanup() {
    shop_stop
    rm -rf "$data"
}
trap shop_cleanup EXIT

# shop_release_bin: sets `bin` to the binary BAZAAR_BIN names (to compare two builds on a
# shared machine), or builds bazaar in release mode and names that.
shop_release_bin() {
    bin=${BAZAAR_BIN:-}
    if [ -z "$bin" ]; then
        cargo build --release -q -p bazaar
        bin=${CARGO_TARGET_DIR:-target}/release/bazaar
    fi
}

shop_ports_free() {
    local port
    # The services' ports, the storefront's, and every admin listener's (bazaar up's 9450).
    for port in $(seq 50051 50060) 8080 $(seq 9450 9461); do
        if ss -ltn "sport = :$port" | grep -q LISTEN; then
            fail "port $port is in use: stop whatever runs there (another bazaar up?) first"
        fi
    done
}

shop_start() {
    "$@" >"$data/up.log" 2>&1 &
    shop_pid=$!
    local _
    for _ in $(seq 1 600); do
        grep -q "the shop is open" "$data/up.log" 2>/dev/null && break
        kill -0 "$shop_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "the shop is open" "$data/up.log" || fail "bazaar up did not start: $(cat "$data/up.log")"
}

shop_admin_code() {
    local code
    code=$(sed -n 's/^admin code: //p' "$data/up.log" | tail -n 1)
    [ -n "$code" ] || fail "bazaar up printed no admin code: $(cat "$data/up.log")"
    echo "$code"
}

# shop_make_admin EMAIL PASSWORD [IDENTITY_ADDRESS]
shop_make_admin() {
    local email=$1 password=$2 addr=${3:-127.0.0.1:50053} code body out token
    code=$(shop_admin_code)
    body="{\"email\": \"$email\", \"password\": \"$password\"}"
    out=$(grpcurl -cacert "$data/pki/ca.crt" -d "$body" "$addr" bazaar.identity.v1.IdentityService/SignUp 2>/dev/null) ||
        out=$(grpcurl -cacert "$data/pki/ca.crt" -d "$body" "$addr" bazaar.identity.v1.IdentityService/LogIn) ||
        fail "$email can neither sign up nor log in"
    token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["session"]["accessToken"])' <<<"$out")
    grpcurl -cacert "$data/pki/ca.crt" -H "authorization: Bearer $token" -d "{\"code\": \"$code\"}" "$addr" \
        bazaar.identity.v1.IdentityService/ClaimAdmin >/dev/null || fail "identity refused the admin code"
}
