-- The admin console's lists (issue 16): every filter the leads page offers reads its own index
-- in (received_at, id) order, so a page over a million leads reads one page of rows, and
-- paging is by key, never by OFFSET.
CREATE INDEX leads_console_channel ON leads (channel, received_at, id);
CREATE INDEX leads_console_source ON leads (source, received_at, id);
CREATE INDEX leads_console_status ON leads (status, received_at, id);
CREATE INDEX leads_console_manager ON leads (manager_id, received_at, id);
CREATE INDEX leads_console_level ON leads (level, received_at, id);
CREATE INDEX leads_console_order ON leads (received_at, id);
-- Search by name: the name as the record has it, prefix-matched.
CREATE INDEX leads_console_name ON leads (json_extract(record, '$.contact.name'));
-- Not-leads by reason, newest first.
CREATE INDEX inbound_console_reason ON inbound (status, reason, received_at, id);
-- (A lead's journey finds its items by `inbound_lead`, which 0009_retention.sql makes.)
-- The not-leads page counts the last 30 days per reason.
CREATE INDEX inbound_console_recent ON inbound (status, received_at, reason);

-- Daily totals for the console's reports, kept by triggers as leads and assignments are
-- written, so a report over a month reads a few hundred rows instead of every lead.
-- Days are UTC dates (the first 10 characters of the stored times).

-- Leads per day, source, channel and level.
CREATE TABLE report_leads (
    day      TEXT NOT NULL,
    source   TEXT NOT NULL,
    channel  TEXT NOT NULL,
    level    TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, source, channel, level)
) WITHOUT ROWID;

INSERT INTO report_leads (day, source, channel, level, n)
    SELECT substr(received_at, 1, 10), source, channel, COALESCE(level, ''), COUNT(*)
    FROM leads GROUP BY 1, 2, 3, 4;

CREATE TRIGGER report_leads_on_insert AFTER INSERT ON leads
BEGIN
    INSERT INTO report_leads (day, source, channel, level, n)
        VALUES (substr(NEW.received_at, 1, 10), NEW.source, NEW.channel, COALESCE(NEW.level, ''), 1)
        ON CONFLICT (day, source, channel, level) DO UPDATE SET n = n + 1;
END;

-- Items kept out per day, source and reason.
CREATE TABLE report_kept (
    day      TEXT NOT NULL,
    source   TEXT NOT NULL,
    reason   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, source, reason)
) WITHOUT ROWID;

INSERT INTO report_kept (day, source, reason, n)
    SELECT substr(received_at, 1, 10), source, COALESCE(reason, ''), COUNT(*)
    FROM inbound WHERE status = 'not_lead' GROUP BY 1, 2, 3;

CREATE TRIGGER report_kept_on_finish AFTER UPDATE OF status ON inbound
    WHEN NEW.status = 'not_lead' AND OLD.status IS NOT 'not_lead'
BEGIN
    INSERT INTO report_kept (day, source, reason, n)
        VALUES (substr(NEW.received_at, 1, 10), NEW.source, COALESCE(NEW.reason, ''), 1)
        ON CONFLICT (day, source, reason) DO UPDATE SET n = n + 1;
END;

-- Assignments per day (of the assignment), manager and level: how many were given, taken,
-- declined, passed on when the SLA ran out, and the time to take in buckets (t0: within a
-- minute, t1: 5 min, t2: 15 min, t3: 30 min, t4: 1 h, t5: 2 h, t6: 4 h, t7: 8 h, t8: a day,
-- t9: longer), from which the median and the 90th percentile are read.
CREATE TABLE report_managers (
    day        TEXT NOT NULL,
    manager_id TEXT NOT NULL,
    level      TEXT NOT NULL,
    assigned   INTEGER NOT NULL DEFAULT 0,
    taken      INTEGER NOT NULL DEFAULT 0,
    declined   INTEGER NOT NULL DEFAULT 0,
    expired    INTEGER NOT NULL DEFAULT 0,
    t0 INTEGER NOT NULL DEFAULT 0, t1 INTEGER NOT NULL DEFAULT 0, t2 INTEGER NOT NULL DEFAULT 0,
    t3 INTEGER NOT NULL DEFAULT 0, t4 INTEGER NOT NULL DEFAULT 0, t5 INTEGER NOT NULL DEFAULT 0,
    t6 INTEGER NOT NULL DEFAULT 0, t7 INTEGER NOT NULL DEFAULT 0, t8 INTEGER NOT NULL DEFAULT 0,
    t9 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, manager_id, level)
) WITHOUT ROWID;

INSERT INTO report_managers (day, manager_id, level, assigned)
    SELECT substr(assigned_at, 1, 10), manager_id, level, COUNT(*) FROM assignments GROUP BY 1, 2, 3;

CREATE TRIGGER report_managers_on_assign AFTER INSERT ON assignments
BEGIN
    INSERT INTO report_managers (day, manager_id, level, assigned)
        VALUES (substr(NEW.assigned_at, 1, 10), NEW.manager_id, NEW.level, 1)
        ON CONFLICT (day, manager_id, level) DO UPDATE SET assigned = assigned + 1;
END;

CREATE TRIGGER report_managers_on_end AFTER UPDATE OF state ON assignments
    WHEN OLD.state = 'active' AND NEW.state <> 'active'
BEGIN
    UPDATE report_managers SET
        taken = taken + (NEW.state = 'acknowledged'),
        declined = declined + (NEW.state = 'declined'),
        expired = expired + (NEW.state = 'expired')
    WHERE day = substr(NEW.assigned_at, 1, 10) AND manager_id = NEW.manager_id
      AND level = NEW.level;
    UPDATE report_managers SET
        t0 = t0 + (s <= 60), t1 = t1 + (s > 60 AND s <= 300), t2 = t2 + (s > 300 AND s <= 900),
        t3 = t3 + (s > 900 AND s <= 1800), t4 = t4 + (s > 1800 AND s <= 3600),
        t5 = t5 + (s > 3600 AND s <= 7200), t6 = t6 + (s > 7200 AND s <= 14400),
        t7 = t7 + (s > 14400 AND s <= 28800), t8 = t8 + (s > 28800 AND s <= 86400),
        t9 = t9 + (s > 86400)
    FROM (SELECT (julianday(NEW.ended_at) - julianday(NEW.assigned_at)) * 86400.0 AS s)
    WHERE NEW.state = 'acknowledged' AND day = substr(NEW.assigned_at, 1, 10)
      AND manager_id = NEW.manager_id AND level = NEW.level;
END;
