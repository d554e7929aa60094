-- A lead's id at its source (a message's id in a chat, say) is looked up by equality, so only
-- the leads that have one need an entry: a web form's lead has none and paid an index insert
-- for it (issue 13).
DROP INDEX IF EXISTS leads_external;
CREATE INDEX leads_external ON leads (source, external_id) WHERE external_id IS NOT NULL;
