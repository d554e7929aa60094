-- The hot path (issue 13): what every batch asks, and every lead pays for, must not grow with the store.

-- Held leads (nobody eligible at their level yet) per level, kept as leads change, like
-- `open_leads` (0007): processing asks which levels hold leads on every batch, and the alerts,
-- `/metrics` and the console ask how many; with nobody acknowledging, held leads pile up, and
-- a scan over them made every batch slower as the store filled (issue 13).
CREATE TABLE held_leads (
    level TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO held_leads (level, n)
    SELECT COALESCE(level, ''), COUNT(*) FROM leads WHERE status = 'held' GROUP BY 1;

CREATE TRIGGER held_leads_on_insert AFTER INSERT ON leads
    WHEN NEW.status = 'held'
BEGIN
    INSERT INTO held_leads (level, n) VALUES (COALESCE(NEW.level, ''), 1)
        ON CONFLICT (level) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER held_leads_on_update AFTER UPDATE OF status, level ON leads
    WHEN (OLD.status = 'held') IS NOT (NEW.status = 'held')
      OR (NEW.status = 'held' AND OLD.level IS NOT NEW.level)
BEGIN
    UPDATE held_leads SET n = n - 1
        WHERE OLD.status = 'held' AND level = COALESCE(OLD.level, '');
    INSERT INTO held_leads (level, n)
        SELECT COALESCE(NEW.level, ''), 1 WHERE NEW.status = 'held'
        ON CONFLICT (level) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER held_leads_on_delete AFTER DELETE ON leads
    WHEN OLD.status = 'held'
BEGIN
    UPDATE held_leads SET n = n - 1 WHERE level = COALESCE(OLD.level, '');
END;

-- Two indexes every lead paid for on insert and on every change of status, which the
-- console's (0008) made redundant: `leads_console_order (received_at, id)` answers whatever
-- `leads_received (received_at)` did, and `leads_console_status (status, received_at, id)`
-- whatever `leads_status (status, manager_id)` did (no query filters on both).
DROP INDEX leads_received;
DROP INDEX leads_status;
