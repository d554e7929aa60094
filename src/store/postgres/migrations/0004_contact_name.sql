-- The console's search by name reads a plain column the daemon writes with the record, in
-- place of an index over `(record::jsonb) -> 'contact' ->> 'name'`: that index parsed the
-- whole record as JSON on every write of it, and a follow-up rewrites the record (a lead with
-- forty messages parsed 40 KB to index one name).
ALTER TABLE leads ADD COLUMN contact_name TEXT;
UPDATE leads SET contact_name = (record::jsonb) -> 'contact' ->> 'name';
DROP INDEX IF EXISTS leads_console_name;
-- A prefix as a range in byte order (COLLATE "C"), as the console asks.
CREATE INDEX leads_console_name ON leads (contact_name COLLATE "C");

-- The large texts (a lead's record and trace, an event's body) compressed with LZ4, which
-- costs a fraction of the default pglz's CPU on every write; a server built without LZ4 keeps
-- pglz (the statement fails there with feature_not_supported).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE leads ALTER COLUMN record SET COMPRESSION lz4, '
            'ALTER COLUMN trace SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE outbox ALTER COLUMN body SET COMPRESSION lz4, '
            'ALTER COLUMN request SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'LZ4 is not available on this server: the texts stay compressed with pglz';
END $$;
