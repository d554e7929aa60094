-- The console's search by name reads a plain column the daemon writes with the record, in
-- place of an index over json_extract(record, '$.contact.name'): that index parsed the whole
-- record on every write of it, and a follow-up rewrites the record.
ALTER TABLE leads ADD COLUMN contact_name TEXT;
UPDATE leads SET contact_name = json_extract(record, '$.contact.name');
DROP INDEX IF EXISTS leads_console_name;
CREATE INDEX leads_console_name ON leads (contact_name);
