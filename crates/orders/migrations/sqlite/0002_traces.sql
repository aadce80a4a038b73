-- The trace an order belongs to, so that its saga's steps stay in it when they run after
-- the response or after a restart: the W3C `traceparent` of the PlaceOrder call that
-- created it. Only traced orders have a row.
CREATE TABLE order_traces (
    order_id TEXT PRIMARY KEY NOT NULL REFERENCES orders (id),
    traceparent TEXT NOT NULL
);

-- Each event keeps the `traceparent` of the work that wrote it ('' when untraced), which
-- the event stream hands to consumers.
ALTER TABLE order_events ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
