-- Sent notifications and the position of the order event stream.
--
-- A notification is recorded (with its rendered message and delivered = 0) in the same
-- transaction that advances the cursor; the message file is written to the Maildir
-- afterwards and the row marked delivered = 1. Rows left at 0 by a crash are delivered again
-- on the next start, to the same file name. (event_id, channel) is unique: at most one
-- notification per event and channel, however often the event is delivered.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    channel BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    send_time_ms BIGINT NOT NULL,
    message TEXT NOT NULL,
    delivered BIGINT NOT NULL,
    UNIQUE (event_id, channel)
);

CREATE INDEX notifications_newest ON notifications (send_time_ms, id);
CREATE INDEX notifications_of_order ON notifications (order_id, send_time_ms, id);
CREATE INDEX notifications_undelivered ON notifications (delivered, send_time_ms, id);

-- The sequence of the last order event fully handled, one row per stream followed.
CREATE TABLE event_cursors (
    stream TEXT PRIMARY KEY NOT NULL,
    sequence BIGINT NOT NULL
);

INSERT INTO event_cursors (stream, sequence) VALUES ('orders', 0);
