-- What the hot path asks on every batch must not cost more as the store fills (issue 13).

-- Open leads (assigned, not yet acknowledged) per manager, kept as leads change: routing reads a
-- handful of rows however many leads the store holds, where a COUNT over the leads grew with
-- every lead nobody acknowledged.
CREATE TABLE open_leads (
    manager_id TEXT PRIMARY KEY,
    n          INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO open_leads (manager_id, n)
    SELECT manager_id, COUNT(*) FROM leads
    WHERE status = 'assigned' AND manager_id IS NOT NULL GROUP BY manager_id;

CREATE TRIGGER open_leads_on_insert AFTER INSERT ON leads
    WHEN NEW.status = 'assigned' AND NEW.manager_id IS NOT NULL
BEGIN
    INSERT INTO open_leads (manager_id, n) VALUES (NEW.manager_id, 1)
        ON CONFLICT (manager_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER open_leads_on_update AFTER UPDATE OF status, manager_id ON leads
    WHEN (OLD.status = 'assigned') IS NOT (NEW.status = 'assigned')
      OR OLD.manager_id IS NOT NEW.manager_id
BEGIN
    UPDATE open_leads SET n = n - 1
        WHERE OLD.status = 'assigned' AND manager_id = OLD.manager_id;
    INSERT INTO open_leads (manager_id, n)
        SELECT NEW.manager_id, 1 WHERE NEW.status = 'assigned' AND NEW.manager_id IS NOT NULL
        ON CONFLICT (manager_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER open_leads_on_delete AFTER DELETE ON leads
    WHEN OLD.status = 'assigned' AND OLD.manager_id IS NOT NULL
BEGIN
    UPDATE open_leads SET n = n - 1 WHERE manager_id = OLD.manager_id;
END;

-- The SLA timer's next deadline and its due assignments: read in deadline order from an
-- index of the active assignments that have one, not by scanning every assignment.
CREATE INDEX assignments_due ON assignments (ack_due_at, id)
    WHERE state = 'active' AND ack_due_at IS NOT NULL;
