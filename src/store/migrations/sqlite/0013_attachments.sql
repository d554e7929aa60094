-- Files people sent (issue 18): one row per file of an item that made or joined a lead, kept
-- under files/<sha256> beside the database (content-addressed: the same photo sent twice is
-- one file on disk), or the reason it could not be kept.
CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,      -- <inbound id>.<n>, as in the lead's fields.attachments
    inbound_id    TEXT NOT NULL,
    lead_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER,               -- bytes kept; NULL when unavailable
    sha256        TEXT,                  -- NULL when unavailable
    status        TEXT NOT NULL,         -- kept | unavailable
    reason        TEXT,
    at            TEXT NOT NULL
);
CREATE INDEX attachments_lead ON attachments (lead_id);
CREATE INDEX attachments_inbound ON attachments (inbound_id);
CREATE INDEX attachments_sha ON attachments (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX attachments_at ON attachments (at);
