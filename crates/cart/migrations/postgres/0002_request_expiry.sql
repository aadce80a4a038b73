-- The background sweep deletes AddItem records past their expiry, across every owner.
CREATE INDEX add_item_requests_by_expiry_alone ON add_item_requests (expires_at_ms);
