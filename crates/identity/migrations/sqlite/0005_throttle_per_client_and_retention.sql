-- Failed log-ins are counted per (email, client): one client's failures never delay
-- another's log-ins. Rows from before this version have no client ('').
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_by_email_and_client ON login_failures (email, client, at_ms);
DROP INDEX login_failures_by_email;

-- The retention sweep finds sessions that ended long ago, and the sessions of a guest.
CREATE INDEX sessions_by_expiry ON sessions (expire_ms);
CREATE INDEX sessions_by_end ON sessions (end_ms);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX users_by_kind_and_creation ON users (kind, create_ms);
