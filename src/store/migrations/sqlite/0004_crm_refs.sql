-- Values captured from a CRM's answers (its own lead, person or contact id), per sink and
-- lead, for the later calls of that sink's preset about the lead (`crm.NAME`). JSON values.
CREATE TABLE crm_refs (
    sink         TEXT NOT NULL,
    lead_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    captured_at  TEXT NOT NULL,
    PRIMARY KEY (sink, lead_id, name)
);

-- How many of a preset request's steps this row has done: a retry goes on from the next one,
-- so a call that succeeded is not made again. `request` now holds the plan
-- ({"request": INDEX} or {"error": "..."}); the calls are rendered from `body` when sent.
ALTER TABLE outbox ADD COLUMN step INTEGER NOT NULL DEFAULT 0;

-- A row is sent only when no earlier row of its lead for the same sink is pending.
CREATE INDEX outbox_lead_order ON outbox (sink, lead_id, id) WHERE status = 'pending';
