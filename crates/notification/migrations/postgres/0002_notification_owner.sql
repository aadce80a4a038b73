-- The shopper a notification belongs to: the `user_id` of its order, so that a shopper's
-- token lists only their own notifications. Notifications recorded before this column have
-- no owner ('') and are seen only with an admin's token.
ALTER TABLE notifications ADD COLUMN user_id TEXT NOT NULL DEFAULT '';

CREATE INDEX notifications_of_user ON notifications (user_id, send_time_ms, id);
