-- Orders, their items, the checkout saga's state, idempotency keys and the event outbox.
-- Timestamps are milliseconds since the Unix epoch; enums are stored as their proto numbers;
-- street lines and failed product ids are JSON arrays of strings.

-- One row per PlaceOrder request id of a user: claimed while the first call prices the
-- cart (order_id empty, claimed_until_ms bounds the claim), then bound to the order for as
-- long as the order exists.
CREATE TABLE checkout_requests (
    user_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    order_id TEXT NOT NULL,
    claimed_until_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, request_id)
);

-- An order and the state of its checkout saga. `step` is the saga step to run next,
-- 'done' once the saga has finished; the lease names the process running the saga.
CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    state BIGINT NOT NULL,
    step TEXT NOT NULL,
    failure_reason BIGINT NOT NULL,
    failure_message TEXT NOT NULL,
    failure_product_ids TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    subtotal_units BIGINT NOT NULL,
    subtotal_nanos BIGINT NOT NULL,
    shipping_units BIGINT NOT NULL,
    shipping_nanos BIGINT NOT NULL,
    total_units BIGINT NOT NULL,
    total_nanos BIGINT NOT NULL,
    reservation_attempt BIGINT NOT NULL,
    reservation_id TEXT NOT NULL,
    charge_status TEXT NOT NULL,
    charge_started_ms BIGINT NOT NULL,
    charge_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    tracking_id TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    street_lines TEXT NOT NULL,
    city TEXT NOT NULL,
    region TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    country_code TEXT NOT NULL,
    email TEXT NOT NULL,
    estimated_delivery_days BIGINT NOT NULL,
    cart_etag TEXT NOT NULL,
    create_time_ms BIGINT NOT NULL,
    update_time_ms BIGINT NOT NULL,
    lease_owner TEXT NOT NULL,
    lease_until_ms BIGINT NOT NULL
);

CREATE INDEX orders_by_user ON orders (user_id, create_time_ms, id);
CREATE INDEX orders_by_step ON orders (step, lease_until_ms);

-- The lines of an order, in cart order.
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders (id),
    position BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    picture_uri TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_units BIGINT NOT NULL,
    unit_nanos BIGINT NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- The outbox: every order event, with the order as it was right after it (an encoded
-- bazaar.orders.v1.Order), in the order the events were committed. On PostgreSQL the writers
-- take a transaction-scoped advisory lock before inserting, so sequences are handed out in
-- commit order and a reader never skips an event that commits late.
CREATE TABLE order_events (
    sequence BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    event_type BIGINT NOT NULL,
    occur_time_ms BIGINT NOT NULL,
    order_snapshot BYTEA NOT NULL
);
