-- Users (registered and guests), their sessions, the keys that sign access tokens, and
-- failed log-ins for throttling. Times are BIGINT milliseconds since the Unix epoch.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    email TEXT UNIQUE,
    password_hash TEXT,
    display_name TEXT NOT NULL,
    create_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    refresh_hash TEXT NOT NULL UNIQUE,
    create_ms BIGINT NOT NULL,
    expire_ms BIGINT NOT NULL,
    end_ms BIGINT
);

CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    private_seed BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    create_ms BIGINT NOT NULL
);

CREATE TABLE login_failures (
    email TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX login_failures_by_email ON login_failures (email, at_ms);
