-- Web Push subscriptions of the family's phones (RFC 8030 endpoint, RFC 8291 keys): where
-- the server sends a notification that carries no health data ("an emergency access
-- happened; sync to see it"). Deleted with the device that registered it.
CREATE TABLE push_subscriptions (
    subscription_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_account ON push_subscriptions (account_id);
CREATE UNIQUE INDEX push_subscriptions_by_device_endpoint ON push_subscriptions (device_id, endpoint);
