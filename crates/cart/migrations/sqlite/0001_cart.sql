-- One row per cart: the lines as a JSON array (a cart is read and written whole), a version
-- that every change bumps (optimistic concurrency and the etag), and the last change time.
CREATE TABLE carts (
    owner TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL,
    lines TEXT NOT NULL,
    update_time_ms BIGINT NOT NULL
);

-- AddItem calls remembered by request_id: what was asked (fingerprint) and what came of it
-- (outcome, JSON), until expires_at_ms.
CREATE TABLE add_item_requests (
    owner TEXT NOT NULL,
    request_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner, request_id)
);

CREATE INDEX add_item_requests_by_expiry ON add_item_requests (owner, expires_at_ms);
