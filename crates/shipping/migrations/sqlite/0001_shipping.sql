-- Shipments. The address and the items are kept as the contract's own protobuf encoding,
-- so what is returned is exactly what was asked for. Times are BIGINT milliseconds.
CREATE TABLE shipments (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    order_id TEXT NOT NULL,
    tracking_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    address BLOB NOT NULL,
    items BLOB NOT NULL,
    cost_cents BIGINT NOT NULL,
    delivery_days BIGINT NOT NULL,
    create_ms BIGINT NOT NULL,
    update_ms BIGINT NOT NULL
);

-- At most one shipment per order that is not cancelled.
CREATE UNIQUE INDEX one_active_shipment_per_order ON shipments (order_id) WHERE state = 'CREATED';
