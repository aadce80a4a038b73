-- Stock, reservations and the idempotency records of Restock and ReserveStock.
--
-- stock: per product, units ever received, units held by reservations marked ACTIVE
-- (including any past expiry that no one has marked EXPIRED yet) and units sold. The CHECK
-- is the last line of defence against overselling: no statement can leave more units
-- reserved and sold than were received.
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY NOT NULL,
    received BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    sold BIGINT NOT NULL,
    CHECK (received >= 0 AND reserved >= 0 AND sold >= 0 AND reserved + sold <= received)
);

-- state: 1 ACTIVE, 2 COMMITTED, 3 RELEASED, 4 EXPIRED (the proto's numbers). Times are
-- milliseconds since the Unix epoch. request_id is unique so that concurrent calls with
-- the same id resolve to one reservation; fingerprint is a digest of the other parameters.
CREATE TABLE reservations (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    state BIGINT NOT NULL,
    reference TEXT NOT NULL,
    create_ms BIGINT NOT NULL,
    expire_ms BIGINT NOT NULL,
    update_ms BIGINT NOT NULL
);

-- Finds the ACTIVE reservations past their expiry.
CREATE INDEX reservations_by_state_and_expiry ON reservations (state, expire_ms);

CREATE TABLE reservation_lines (
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    position BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (reservation_id, position)
);

CREATE INDEX reservation_lines_by_product ON reservation_lines (product_id);

-- ReserveStock calls that failed for lack of stock: a retry with the same id gets the same
-- error. shortages is JSON. Forgotten after a day.
CREATE TABLE failed_reservations (
    request_id TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    shortages TEXT NOT NULL,
    create_ms BIGINT NOT NULL
);

CREATE INDEX failed_reservations_by_time ON failed_reservations (create_ms);

-- Restock calls, with the stock they left behind (what a retry returns).
CREATE TABLE restocks (
    request_id TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    product_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    available BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    create_ms BIGINT NOT NULL
);
