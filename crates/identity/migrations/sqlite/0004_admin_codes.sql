-- Admins by one-time code. A user is an admin from `admin_since_ms` on (NULL: not an
-- admin). An admin code is stored only as the SHA-256 (hex) of the code; it can be
-- redeemed once (`use_ms`, `user_id`), before `expire_ms`. Failed attempts to redeem
-- one are counted per user, for throttling.
ALTER TABLE users ADD COLUMN admin_since_ms BIGINT;

CREATE TABLE admin_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    create_ms BIGINT NOT NULL,
    expire_ms BIGINT NOT NULL,
    use_ms BIGINT,
    user_id TEXT
);

CREATE TABLE admin_claim_failures (
    user_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX admin_claim_failures_by_user ON admin_claim_failures (user_id, at_ms);
