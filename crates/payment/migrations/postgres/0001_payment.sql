-- The ledger: one row per charge. A Charge call first writes its row as a claim on its
-- request_id (status 0, never shown), then finishes it as SUCCEEDED (1) or DECLINED (2),
-- or deletes it when nothing is to be recorded (a processing error, an order already
-- charged). A refund turns SUCCEEDED into REFUNDED (3). claimed_at_ms tells a claim whose
-- call died (older than the lease) from one still running. The card's number and CVV are
-- never written: only its brand, last four digits and, inside the fingerprint (SHA-256 of
-- the call's parameters), its expiry.
CREATE TABLE charges (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    fingerprint BYTEA NOT NULL,
    order_id TEXT NOT NULL,
    currency_code TEXT NOT NULL,
    units BIGINT NOT NULL,
    nanos BIGINT NOT NULL,
    status BIGINT NOT NULL,
    card_brand BIGINT NOT NULL,
    card_last4 TEXT NOT NULL,
    decline_reason BIGINT NOT NULL,
    create_time_ms BIGINT NOT NULL,
    refund_time_ms BIGINT NOT NULL,
    claimed_at_ms BIGINT NOT NULL
);

-- At most one SUCCEEDED or REFUNDED charge per order, whatever the races.
CREATE UNIQUE INDEX charges_one_paid_per_order ON charges (order_id) WHERE status IN (1, 3);

-- The ledger, newest first, whole or by order.
CREATE INDEX charges_by_time ON charges (create_time_ms, id);
CREATE INDEX charges_by_order ON charges (order_id, create_time_ms, id);

-- Refund calls remembered by request_id, for as long as the ledger.
CREATE TABLE refund_requests (
    request_id TEXT PRIMARY KEY NOT NULL,
    charge_id TEXT NOT NULL,
    create_time_ms BIGINT NOT NULL
);
