-- Failed log-ins older than the throttling window are deleted in one sweep across all
-- emails; this index keeps that sweep a range scan.
CREATE INDEX login_failures_by_time ON login_failures (at_ms);
