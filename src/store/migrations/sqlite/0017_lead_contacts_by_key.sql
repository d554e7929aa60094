-- A contact's leads kept by their key (issue 13: bytes per lead). `lead_contacts` was a rowid
-- table with three indexes, each repeating the key or the lead id: (key, lead_id) for
-- uniqueness, (key, at) for a contact's latest lead, (lead_id) for removing a lead; about 570
-- bytes a lead for two keys. Kept in (key, lead_id) order itself (WITHOUT ROWID), a key's rows
-- lie together with their times, so its latest lead is read from those few rows and the
-- (key, at) index goes; (lead_id) stays for removing a lead's rows.
CREATE TABLE lead_contacts_by_key (
    key      TEXT NOT NULL,
    lead_id  TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (key, lead_id)
) WITHOUT ROWID;
INSERT INTO lead_contacts_by_key (key, lead_id, at) SELECT key, lead_id, at FROM lead_contacts;
DROP TABLE lead_contacts;
ALTER TABLE lead_contacts_by_key RENAME TO lead_contacts;
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);
