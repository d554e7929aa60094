-- The console's list indexes (0008) without the lead's id: the id (36 characters) made up
-- about 40 of each entry's 90 bytes, in seven indexes every lead pays for (issue 13: bytes
-- per lead). The list still orders by (received_at, id): SQLite walks the index in
-- received_at order and sorts only the leads that share a received_at time by id, and a page
-- reads its rows from the table anyway. Only the window's key (the 5,000th lead of a filter)
-- is no longer read from the index alone: a few milliseconds over a million leads.
DROP INDEX leads_console_channel;
DROP INDEX leads_console_source;
DROP INDEX leads_console_status;
DROP INDEX leads_console_manager;
DROP INDEX leads_console_level;
DROP INDEX leads_console_order;
DROP INDEX inbound_console_reason;
CREATE INDEX leads_console_channel ON leads (channel, received_at);
CREATE INDEX leads_console_source ON leads (source, received_at);
CREATE INDEX leads_console_status ON leads (status, received_at);
CREATE INDEX leads_console_manager ON leads (manager_id, received_at);
CREATE INDEX leads_console_level ON leads (level, received_at);
CREATE INDEX leads_console_order ON leads (received_at);
CREATE INDEX inbound_console_reason ON inbound (status, reason, received_at);
