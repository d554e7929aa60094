-- Manager notifications and admin alerts: an outbox of their own, rendered when queued, sent by
-- the notify worker, retried, never queued twice for one assignment (the dedupe key).
CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key       TEXT NOT NULL UNIQUE,  -- assigned:<lead>:<attempt>:<channel>, alert:<incident>:<opened>, ...
    lead_id          TEXT,                  -- NULL for admin alerts
    recipient        TEXT NOT NULL,         -- a manager id, or 'admin'
    channel          TEXT NOT NULL,         -- telegram | email
    address          TEXT NOT NULL,         -- the chat id or the e-mail address
    kind             TEXT NOT NULL,         -- assigned | follow_up | passed_on | alert | alert_over
    message          TEXT NOT NULL,         -- the rendered message, JSON
    status           TEXT NOT NULL DEFAULT 'pending', -- pending | sent | dead
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_error       TEXT,
    sent_at          TEXT,
    sent_ref         TEXT                   -- the Telegram message id, to edit the card later
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_lead ON notifications (lead_id, address);

-- Nonces of the signed take/decline links already used: each link works once.
CREATE TABLE used_links (
    nonce    TEXT PRIMARY KEY,
    used_at  TEXT NOT NULL
);

-- When each source last handed something over (the "silent source" alert).
CREATE INDEX inbound_source_received ON inbound (source, received_at);
