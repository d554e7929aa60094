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
-- A lead's journey reads the items that made or joined it.
CREATE INDEX inbound_lead ON inbound (lead_id) WHERE lead_id IS NOT NULL;
-- The not-leads page counts the last 30 days per reason.
CREATE INDEX inbound_console_recent ON inbound (status, received_at, reason);
