-- leadgate's store, SQLite flavour. Timestamps are fixed-width RFC 3339 UTC text
-- (2026-11-22T09:15:02.000000Z), so they compare correctly as strings.

-- Everything a channel handed over, exactly as it arrived. Unique on source + dedupe key, so a
-- retried webhook or a re-polled message is a no-op.
CREATE TABLE inbound (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    dedupe_key    TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    content_type  TEXT,
    payload       BLOB NOT NULL,
    meta          TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'pending', -- pending | lead | joined | not_lead
    reason        TEXT,
    detail        TEXT,
    lead_id       TEXT,
    processed_at  TEXT,
    UNIQUE (source, dedupe_key)
);
CREATE INDEX inbound_pending ON inbound (received_at) WHERE status = 'pending';
CREATE INDEX inbound_listing ON inbound (received_at);

-- Leads: the normalised record as sinks receive it, plus what routing needs to query.
CREATE TABLE leads (
    id                TEXT PRIMARY KEY,
    inbound_id        TEXT NOT NULL,
    source            TEXT NOT NULL,
    channel           TEXT NOT NULL,
    external_id       TEXT,
    conversation_key  TEXT,
    received_at       TEXT NOT NULL,
    last_activity_at  TEXT NOT NULL,
    status            TEXT NOT NULL, -- assigned | held | acknowledged
    level             TEXT,
    rule              TEXT,
    manager_id        TEXT,
    rules_version     TEXT NOT NULL,
    record            TEXT NOT NULL,
    trace             TEXT NOT NULL
);
CREATE INDEX leads_external ON leads (source, external_id);
CREATE INDEX leads_conversation ON leads (source, conversation_key, last_activity_at);
CREATE INDEX leads_status ON leads (status, manager_id);
CREATE INDEX leads_received ON leads (received_at);

-- Ids of items that belong to a lead (e-mail Message-IDs), so a reply finds its lead.
CREATE TABLE lead_refs (
    ref      TEXT NOT NULL,
    lead_id  TEXT NOT NULL,
    PRIMARY KEY (ref, lead_id)
);

-- Identity keys (phone:+7..., email:...), so a returning contact is recognised.
CREATE TABLE lead_contacts (
    key      TEXT NOT NULL,
    lead_id  TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (key, lead_id)
);
CREATE INDEX lead_contacts_at ON lead_contacts (key, at);

-- Every assignment of a lead to a manager, the current one with state 'active'.
CREATE TABLE assignments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id      TEXT NOT NULL,
    manager_id   TEXT NOT NULL,
    level        TEXT NOT NULL,
    strategy     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    assigned_at  TEXT NOT NULL,
    ack_due_at   TEXT,
    state        TEXT NOT NULL, -- active | acknowledged | declined | expired
    ended_at     TEXT
);
CREATE INDEX assignments_lead ON assignments (lead_id, id);

-- One row per sink per event: what to send, and how sending went.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id          TEXT NOT NULL,
    sink             TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | dead
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    retry_since      TEXT NOT NULL, -- start of the retry horizon (reset by a replay)
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_error       TEXT,
    delivered_at     TEXT,
    UNIQUE (sink, event_id)
);
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_lead ON outbox (lead_id);
CREATE INDEX outbox_dead ON outbox (status, sink) WHERE status = 'dead';

-- Every delivery attempt, for the admin's view of a lead's journey.
CREATE TABLE delivery_attempts (
    outbox_id    INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    outcome      TEXT NOT NULL, -- delivered | retry | dead
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);

-- What happened to a lead, in order.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id  TEXT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX audit_lead ON audit (lead_id, id);

-- Small named values: routing strategy state, source cursors (IMAP UIDs, Telegram offsets).
CREATE TABLE cursors (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
