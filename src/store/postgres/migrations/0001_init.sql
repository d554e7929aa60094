-- leadgate's store, PostgreSQL flavour: the tables of the SQLite migrations 0001..0013 as
-- they stand after them, in one step. Times are fixed-width RFC 3339 UTC text
-- (2026-11-22T09:15:02.000000Z), as on SQLite, so they compare as strings and a day is their
-- first ten characters; JSON values are text, cast to jsonb where a statement reads into them.
-- `seq` columns stand in for SQLite's rowid: the order rows were stored in.

-- Everything a channel handed over, exactly as it arrived.
CREATE TABLE inbound (
    seq           BIGSERIAL UNIQUE,
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    dedupe_key    TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    content_type  TEXT,
    payload       BYTEA NOT NULL,
    meta          TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'pending', -- pending | lead | joined | not_lead
    reason        TEXT,
    detail        TEXT,
    lead_id       TEXT,
    processed_at  TEXT,
    purged_at     TEXT,
    UNIQUE (source, dedupe_key)
);
CREATE INDEX inbound_pending ON inbound (received_at, seq) WHERE status = 'pending';
CREATE INDEX inbound_listing ON inbound (received_at);
CREATE INDEX inbound_source_received ON inbound (source, received_at);
CREATE INDEX inbound_console_reason ON inbound (status, reason, received_at, id);
CREATE INDEX inbound_console_recent ON inbound (status, received_at, reason);
CREATE INDEX inbound_unpurged ON inbound (received_at)
    WHERE purged_at IS NULL AND status IN ('lead', 'joined');
CREATE INDEX inbound_not_lead ON inbound (received_at) WHERE status = 'not_lead';
CREATE INDEX inbound_lead ON inbound (lead_id) WHERE lead_id IS NOT NULL;

-- Leads: the normalised record as sinks receive it, plus what routing needs to query.
CREATE TABLE leads (
    seq               BIGSERIAL UNIQUE,
    id                TEXT PRIMARY KEY,
    inbound_id        TEXT NOT NULL,
    source            TEXT NOT NULL,
    channel           TEXT NOT NULL,
    external_id       TEXT,
    conversation_key  TEXT,
    received_at       TEXT NOT NULL,
    last_activity_at  TEXT NOT NULL,
    status            TEXT NOT NULL, -- assigned | held | acknowledged | closed
    level             TEXT,
    rule              TEXT,
    manager_id        TEXT,
    rules_version     TEXT NOT NULL,
    record            TEXT NOT NULL,
    trace             TEXT NOT NULL
);
CREATE INDEX leads_external ON leads (source, external_id);
CREATE INDEX leads_conversation ON leads (source, conversation_key, last_activity_at);
CREATE INDEX leads_console_channel ON leads (channel, received_at, id);
CREATE INDEX leads_console_source ON leads (source, received_at, id);
CREATE INDEX leads_console_status ON leads (status, received_at, id);
CREATE INDEX leads_console_manager ON leads (manager_id, received_at, id);
CREATE INDEX leads_console_level ON leads (level, received_at, id);
CREATE INDEX leads_console_order ON leads (received_at, id);
-- Search by name: a prefix as a range in byte order (COLLATE "C"), as the console asks.
CREATE INDEX leads_console_name ON leads ((((record::jsonb) -> 'contact' ->> 'name')) COLLATE "C");
CREATE INDEX leads_settled ON leads (last_activity_at)
    WHERE status IN ('acknowledged', 'closed');

-- Ids of items that belong to a lead (e-mail Message-IDs), so a reply finds its lead.
CREATE TABLE lead_refs (
    ref      TEXT NOT NULL,
    lead_id  TEXT NOT NULL,
    PRIMARY KEY (ref, lead_id)
);
CREATE INDEX lead_refs_lead ON lead_refs (lead_id);

-- Identity keys (phone:+7..., email:...), so a returning contact is recognised.
CREATE TABLE lead_contacts (
    key      TEXT NOT NULL,
    lead_id  TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (key, lead_id)
);
CREATE INDEX lead_contacts_at ON lead_contacts (key, at);
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);

-- Every assignment of a lead to a manager, the current one with state 'active'.
CREATE TABLE assignments (
    id           BIGSERIAL PRIMARY KEY,
    lead_id      TEXT NOT NULL,
    manager_id   TEXT NOT NULL,
    level        TEXT NOT NULL,
    strategy     TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    assigned_at  TEXT NOT NULL,
    ack_due_at   TEXT,
    state        TEXT NOT NULL, -- active | acknowledged | declined | expired | ...
    ended_at     TEXT
);
CREATE INDEX assignments_lead ON assignments (lead_id, id);
CREATE INDEX assignments_due ON assignments (ack_due_at, id)
    WHERE state = 'active' AND ack_due_at IS NOT NULL;

-- One row per sink per event: what to send, and how sending went.
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    lead_id          TEXT NOT NULL,
    sink             TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    body             TEXT NOT NULL,
    request          TEXT,
    step             BIGINT NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | dead
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    retry_since      TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_error       TEXT,
    delivered_at     TEXT,
    UNIQUE (sink, event_id)
);
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_lead ON outbox (lead_id);
CREATE INDEX outbox_dead ON outbox (status, sink) WHERE status = 'dead';
CREATE INDEX outbox_lead_order ON outbox (sink, lead_id, id) WHERE status = 'pending';
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered' AND body <> '';

-- Every delivery attempt, for the admin's view of a lead's journey.
CREATE TABLE delivery_attempts (
    outbox_id    BIGINT NOT NULL,
    attempt      BIGINT NOT NULL,
    at           TEXT NOT NULL,
    outcome      TEXT NOT NULL, -- delivered | retry | dead
    status_code  BIGINT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    PRIMARY KEY (outbox_id, attempt)
);

-- What happened to a lead, in order.
CREATE TABLE audit (
    id       BIGSERIAL PRIMARY KEY,
    lead_id  TEXT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX audit_lead ON audit (lead_id, id);

-- Small named values: routing strategy state, source positions, the alerts' open incidents.
CREATE TABLE cursors (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Manager notifications and admin alerts.
CREATE TABLE notifications (
    id               BIGSERIAL PRIMARY KEY,
    dedupe_key       TEXT NOT NULL UNIQUE,
    lead_id          TEXT,
    recipient        TEXT NOT NULL,
    channel          TEXT NOT NULL,
    address          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    message          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending', -- pending | sent | dead
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_error       TEXT,
    sent_at          TEXT,
    sent_ref         TEXT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_lead ON notifications (lead_id, address);
CREATE INDEX notifications_address ON notifications (channel, address, status, id);
CREATE INDEX notifications_sent ON notifications (sent_at) WHERE status = 'sent' AND message <> '';

-- Nonces of the signed take/decline links already used.
CREATE TABLE used_links (
    nonce    TEXT PRIMARY KEY,
    used_at  TEXT NOT NULL
);

-- Values captured from a CRM's answers, JSON text.
CREATE TABLE crm_refs (
    sink         TEXT NOT NULL,
    lead_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    captured_at  TEXT NOT NULL,
    PRIMARY KEY (sink, lead_id, name)
);
CREATE INDEX crm_refs_value ON crm_refs (sink, name, value);
CREATE INDEX crm_refs_lead ON crm_refs (lead_id);

-- The texts of each rules version that routed a lead.
CREATE TABLE rules_texts (
    version    TEXT PRIMARY KEY,
    texts      TEXT NOT NULL,
    stored_at  TEXT NOT NULL
);

-- Files people sent.
CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    inbound_id    TEXT NOT NULL,
    lead_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT,
    sha256        TEXT,
    status        TEXT NOT NULL, -- kept | unavailable
    reason        TEXT,
    at            TEXT NOT NULL
);
CREATE INDEX attachments_lead ON attachments (lead_id);
CREATE INDEX attachments_inbound ON attachments (inbound_id);
CREATE INDEX attachments_sha ON attachments (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX attachments_at ON attachments (at);

-- Kept counts: open leads per manager and held leads per level, as leads change.
CREATE TABLE open_leads (
    manager_id TEXT PRIMARY KEY,
    n          BIGINT NOT NULL
);
CREATE TABLE held_leads (
    level TEXT PRIMARY KEY,
    n     BIGINT NOT NULL
);

CREATE FUNCTION leads_kept_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.status = 'assigned' AND OLD.manager_id IS NOT NULL THEN
            UPDATE open_leads SET n = n - 1 WHERE manager_id = OLD.manager_id;
        END IF;
        IF OLD.status = 'held' THEN
            UPDATE held_leads SET n = n - 1 WHERE level = COALESCE(OLD.level, '');
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF NEW.status = 'assigned' AND NEW.manager_id IS NOT NULL THEN
            INSERT INTO open_leads (manager_id, n) VALUES (NEW.manager_id, 1)
                ON CONFLICT (manager_id) DO UPDATE SET n = open_leads.n + 1;
        END IF;
        IF NEW.status = 'held' THEN
            INSERT INTO held_leads (level, n) VALUES (COALESCE(NEW.level, ''), 1)
                ON CONFLICT (level) DO UPDATE SET n = held_leads.n + 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_kept_counts_on_insert AFTER INSERT OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_kept_counts();
-- Only a change of what is counted touches the counts.
CREATE TRIGGER leads_kept_counts_on_update AFTER UPDATE OF status, manager_id, level ON leads
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.manager_id IS DISTINCT FROM NEW.manager_id
          OR OLD.level IS DISTINCT FROM NEW.level)
    EXECUTE FUNCTION leads_kept_counts();

-- Daily totals for the console's reports, kept by triggers (counts only, no personal data).
CREATE TABLE report_leads (
    day      TEXT NOT NULL,
    source   TEXT NOT NULL,
    channel  TEXT NOT NULL,
    level    TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, source, channel, level)
);

CREATE FUNCTION report_leads_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_leads (day, source, channel, level, n)
        VALUES (substr(NEW.received_at, 1, 10), NEW.source, NEW.channel, COALESCE(NEW.level, ''), 1)
        ON CONFLICT (day, source, channel, level) DO UPDATE SET n = report_leads.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER report_leads_on_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION report_leads_on_insert();

CREATE TABLE report_kept (
    day      TEXT NOT NULL,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, source, reason)
);

-- An item kept out counts; one turned back into a lead (the console) no longer does.
CREATE FUNCTION report_kept_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'not_lead' AND OLD.status IS DISTINCT FROM 'not_lead' THEN
        INSERT INTO report_kept (day, source, reason, n)
            VALUES (substr(NEW.received_at, 1, 10), NEW.source, COALESCE(NEW.reason, ''), 1)
            ON CONFLICT (day, source, reason) DO UPDATE SET n = report_kept.n + 1;
    ELSIF OLD.status = 'not_lead' AND NEW.status IS DISTINCT FROM 'not_lead' THEN
        UPDATE report_kept SET n = n - 1
            WHERE day = substr(OLD.received_at, 1, 10) AND source = OLD.source
              AND reason = COALESCE(OLD.reason, '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_kept_on_status AFTER UPDATE OF status ON inbound
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION report_kept_on_status();

CREATE TABLE report_managers (
    day        TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    level      TEXT NOT NULL,
    assigned   BIGINT NOT NULL DEFAULT 0,
    taken      BIGINT NOT NULL DEFAULT 0,
    declined   BIGINT NOT NULL DEFAULT 0,
    expired    BIGINT NOT NULL DEFAULT 0,
    t0 BIGINT NOT NULL DEFAULT 0, t1 BIGINT NOT NULL DEFAULT 0, t2 BIGINT NOT NULL DEFAULT 0,
    t3 BIGINT NOT NULL DEFAULT 0, t4 BIGINT NOT NULL DEFAULT 0, t5 BIGINT NOT NULL DEFAULT 0,
    t6 BIGINT NOT NULL DEFAULT 0, t7 BIGINT NOT NULL DEFAULT 0, t8 BIGINT NOT NULL DEFAULT 0,
    t9 BIGINT NOT NULL DEFAULT 0,
    w0 BIGINT NOT NULL DEFAULT 0, w1 BIGINT NOT NULL DEFAULT 0, w2 BIGINT NOT NULL DEFAULT 0,
    w3 BIGINT NOT NULL DEFAULT 0, w4 BIGINT NOT NULL DEFAULT 0, w5 BIGINT NOT NULL DEFAULT 0,
    w6 BIGINT NOT NULL DEFAULT 0, w7 BIGINT NOT NULL DEFAULT 0, w8 BIGINT NOT NULL DEFAULT 0,
    w9 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, manager_id, level)
);

CREATE FUNCTION report_managers_on_assign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_managers (day, manager_id, level, assigned)
        VALUES (substr(NEW.assigned_at, 1, 10), NEW.manager_id, NEW.level, 1)
        ON CONFLICT (day, manager_id, level) DO UPDATE SET assigned = report_managers.assigned + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER report_managers_on_assign AFTER INSERT ON assignments
    FOR EACH ROW EXECUTE FUNCTION report_managers_on_assign();

-- An assignment ends: taken, declined or expired, and a take's wall-clock time in buckets
-- (t0: within a minute, t1: 5 min, t2: 15 min, t3: 30 min, t4: 1 h, t5: 2 h, t6: 4 h,
-- t7: 8 h, t8: a day, t9: longer).
CREATE FUNCTION report_managers_on_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s double precision := 0;
    is_taken boolean := NEW.state = 'acknowledged';
BEGIN
    IF is_taken THEN
        s := EXTRACT(EPOCH FROM (NEW.ended_at::timestamptz - NEW.assigned_at::timestamptz));
    END IF;
    UPDATE report_managers SET
        taken = taken + (NEW.state = 'acknowledged')::int,
        declined = declined + (NEW.state = 'declined')::int,
        expired = expired + (NEW.state = 'expired')::int,
        t0 = t0 + (is_taken AND s <= 60)::int,
        t1 = t1 + (is_taken AND s > 60 AND s <= 300)::int,
        t2 = t2 + (is_taken AND s > 300 AND s <= 900)::int,
        t3 = t3 + (is_taken AND s > 900 AND s <= 1800)::int,
        t4 = t4 + (is_taken AND s > 1800 AND s <= 3600)::int,
        t5 = t5 + (is_taken AND s > 3600 AND s <= 7200)::int,
        t6 = t6 + (is_taken AND s > 7200 AND s <= 14400)::int,
        t7 = t7 + (is_taken AND s > 14400 AND s <= 28800)::int,
        t8 = t8 + (is_taken AND s > 28800 AND s <= 86400)::int,
        t9 = t9 + (is_taken AND s > 86400)::int
    WHERE day = substr(NEW.assigned_at, 1, 10) AND manager_id = NEW.manager_id
      AND level = NEW.level;
    RETURN NULL;
END $$;
CREATE TRIGGER report_managers_on_end AFTER UPDATE OF state ON assignments
    FOR EACH ROW WHEN (OLD.state = 'active' AND NEW.state <> 'active')
    EXECUTE FUNCTION report_managers_on_end();

CREATE TABLE report_declines (
    day        TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    level      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (day, manager_id, level, reason)
);

-- A decline's audit entry (`{"manager": ..., "reason": ...}`) counts at the level of that
-- manager's latest assignment of the lead.
CREATE FUNCTION report_declines_on_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_declines (day, manager_id, level, reason, n)
        SELECT substr(assigned_at, 1, 10), manager_id, level,
               COALESCE((NEW.detail::jsonb) ->> 'reason', ''), 1
        FROM assignments
        WHERE lead_id = NEW.lead_id AND manager_id = (NEW.detail::jsonb) ->> 'manager'
        ORDER BY id DESC LIMIT 1
        ON CONFLICT (day, manager_id, level, reason) DO UPDATE SET n = report_declines.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER report_declines_on_audit AFTER INSERT ON audit
    FOR EACH ROW WHEN (NEW.kind = 'declined')
    EXECUTE FUNCTION report_declines_on_audit();

CREATE TABLE report_crm (
    day     TEXT NOT NULL,
    source  TEXT NOT NULL,
    channel TEXT NOT NULL,
    c0 BIGINT NOT NULL DEFAULT 0, c1 BIGINT NOT NULL DEFAULT 0, c2 BIGINT NOT NULL DEFAULT 0,
    c3 BIGINT NOT NULL DEFAULT 0, c4 BIGINT NOT NULL DEFAULT 0, c5 BIGINT NOT NULL DEFAULT 0,
    c6 BIGINT NOT NULL DEFAULT 0, c7 BIGINT NOT NULL DEFAULT 0, c8 BIGINT NOT NULL DEFAULT 0,
    c9 BIGINT NOT NULL DEFAULT 0, c10 BIGINT NOT NULL DEFAULT 0, c11 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, source, channel)
);

-- A lead's first delivery anywhere: the time from its arrival, in buckets (c0: within a
-- second, c1: 2 s, c2: 5 s, c3: 10 s, c4: 30 s, c5: a minute, c6: 5 min, c7: 15 min, c8: an
-- hour, c9: 4 h, c10: a day, c11: longer).
-- Two sinks' workers recording a lead's first deliveries in the same instant may both find
-- no other delivered row and count the lead twice; a lock here could deadlock two workers'
-- batches, so the report takes that rare double count instead.
CREATE FUNCTION report_crm_on_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM outbox WHERE lead_id = NEW.lead_id AND status = 'delivered'
                                      AND id <> NEW.id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_crm (day, source, channel, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)
        SELECT substr(received_at, 1, 10), source, channel,
               (s <= 1)::int, (s > 1 AND s <= 2)::int, (s > 2 AND s <= 5)::int,
               (s > 5 AND s <= 10)::int, (s > 10 AND s <= 30)::int, (s > 30 AND s <= 60)::int,
               (s > 60 AND s <= 300)::int, (s > 300 AND s <= 900)::int,
               (s > 900 AND s <= 3600)::int, (s > 3600 AND s <= 14400)::int,
               (s > 14400 AND s <= 86400)::int, (s > 86400)::int
        FROM (SELECT received_at, source, channel,
                     EXTRACT(EPOCH FROM (NEW.delivered_at::timestamptz - received_at::timestamptz)) AS s
              FROM leads WHERE id = NEW.lead_id) AS l
        ON CONFLICT (day, source, channel) DO UPDATE SET
            c0 = report_crm.c0 + excluded.c0, c1 = report_crm.c1 + excluded.c1,
            c2 = report_crm.c2 + excluded.c2, c3 = report_crm.c3 + excluded.c3,
            c4 = report_crm.c4 + excluded.c4, c5 = report_crm.c5 + excluded.c5,
            c6 = report_crm.c6 + excluded.c6, c7 = report_crm.c7 + excluded.c7,
            c8 = report_crm.c8 + excluded.c8, c9 = report_crm.c9 + excluded.c9,
            c10 = report_crm.c10 + excluded.c10, c11 = report_crm.c11 + excluded.c11;
    RETURN NULL;
END $$;
CREATE TRIGGER report_crm_on_delivered AFTER UPDATE OF status ON outbox
    FOR EACH ROW WHEN (NEW.status = 'delivered' AND OLD.status IS DISTINCT FROM 'delivered')
    EXECUTE FUNCTION report_crm_on_delivered();
