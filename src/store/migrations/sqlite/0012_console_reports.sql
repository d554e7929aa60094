-- The console's actions and the rest of its reports (issue 16).

-- An item kept out that the admin turned into a lead (the console's "this is a lead") goes
-- back to `pending`: it no longer counts as kept out in the daily totals.
CREATE TRIGGER report_kept_on_unkeep AFTER UPDATE OF status ON inbound
    WHEN OLD.status = 'not_lead' AND NEW.status IS NOT 'not_lead'
BEGIN
    UPDATE report_kept SET n = n - 1
        WHERE day = substr(OLD.received_at, 1, 10) AND source = OLD.source
          AND reason = COALESCE(OLD.reason, '');
END;

-- Declines per day (of the assignment), manager, level and reason, from the audit entry a
-- decline writes (`{"manager": ..., "reason": ...}`); the level is the declined assignment's.
CREATE TABLE report_declines (
    day        TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    level      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (day, manager_id, level, reason)
) WITHOUT ROWID;

INSERT INTO report_declines (day, manager_id, level, reason, n)
    SELECT substr(a.assigned_at, 1, 10), a.manager_id, a.level,
           COALESCE(d.detail ->> '$.reason', ''), COUNT(*)
    FROM audit AS d
    JOIN assignments AS a ON a.id = (
        SELECT id FROM assignments
        WHERE lead_id = d.lead_id AND manager_id = d.detail ->> '$.manager' AND state = 'declined'
        ORDER BY id DESC LIMIT 1)
    WHERE d.kind = 'declined'
    GROUP BY 1, 2, 3, 4;

CREATE TRIGGER report_declines_on_audit AFTER INSERT ON audit
    WHEN NEW.kind = 'declined'
BEGIN
    INSERT INTO report_declines (day, manager_id, level, reason, n)
        SELECT substr(assigned_at, 1, 10), manager_id, level,
               COALESCE(NEW.detail ->> '$.reason', ''), 1
        FROM assignments
        WHERE lead_id = NEW.lead_id AND manager_id = NEW.detail ->> '$.manager'
        ORDER BY id DESC LIMIT 1
        ON CONFLICT (day, manager_id, level, reason) DO UPDATE SET n = n + 1;
END;

-- Time to take counted in the manager's working hours (their schedule in routing.toml), in
-- the buckets of t0..t9, written by the code that records the acknowledgement (a trigger
-- cannot read a schedule).
ALTER TABLE report_managers ADD COLUMN w0 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w3 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w5 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w6 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w7 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_managers ADD COLUMN w9 INTEGER NOT NULL DEFAULT 0;

-- From arrival to the CRM: per day (of arrival), source and channel, the time from a lead's
-- arrival to its first delivery any sink took, in buckets (c0: within a second, c1: 2 s,
-- c2: 5 s, c3: 10 s, c4: 30 s, c5: a minute, c6: 5 min, c7: 15 min, c8: an hour, c9: 4 h,
-- c10: a day, c11: longer).
CREATE TABLE report_crm (
    day     TEXT NOT NULL,
    source  TEXT NOT NULL,
    channel TEXT NOT NULL,
    c0 INTEGER NOT NULL DEFAULT 0, c1 INTEGER NOT NULL DEFAULT 0, c2 INTEGER NOT NULL DEFAULT 0,
    c3 INTEGER NOT NULL DEFAULT 0, c4 INTEGER NOT NULL DEFAULT 0, c5 INTEGER NOT NULL DEFAULT 0,
    c6 INTEGER NOT NULL DEFAULT 0, c7 INTEGER NOT NULL DEFAULT 0, c8 INTEGER NOT NULL DEFAULT 0,
    c9 INTEGER NOT NULL DEFAULT 0, c10 INTEGER NOT NULL DEFAULT 0, c11 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, source, channel)
) WITHOUT ROWID;

CREATE TRIGGER report_crm_on_delivered AFTER UPDATE OF status ON outbox
    WHEN NEW.status = 'delivered' AND OLD.status IS NOT 'delivered'
     AND NOT EXISTS (SELECT 1 FROM outbox
                     WHERE lead_id = NEW.lead_id AND status = 'delivered' AND id <> NEW.id)
BEGIN
    INSERT INTO report_crm (day, source, channel, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)
        SELECT substr(received_at, 1, 10), source, channel,
               s <= 1, s > 1 AND s <= 2, s > 2 AND s <= 5, s > 5 AND s <= 10,
               s > 10 AND s <= 30, s > 30 AND s <= 60, s > 60 AND s <= 300,
               s > 300 AND s <= 900, s > 900 AND s <= 3600, s > 3600 AND s <= 14400,
               s > 14400 AND s <= 86400, s > 86400
        FROM (SELECT received_at, source, channel,
                     (julianday(NEW.delivered_at) - julianday(received_at)) * 86400.0 AS s
              FROM leads WHERE id = NEW.lead_id)
        WHERE true
        ON CONFLICT (day, source, channel) DO UPDATE SET
            c0 = c0 + excluded.c0, c1 = c1 + excluded.c1, c2 = c2 + excluded.c2,
            c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5,
            c6 = c6 + excluded.c6, c7 = c7 + excluded.c7, c8 = c8 + excluded.c8,
            c9 = c9 + excluded.c9, c10 = c10 + excluded.c10, c11 = c11 + excluded.c11;
END;
