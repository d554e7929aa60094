-- The console's kept-out indexes hold only kept-out items (issue 13). Every query that reads
-- them asks for `status = 'not_lead'`, yet every item had an entry in both from the moment it
-- was taken in, and a new one when processing made the item a lead: index writes for every
-- form and every lead, for pages that list spam. Now an item enters them only if it is kept
-- out, and the retention index of kept-out items is the second one's first column, so it goes.
DROP INDEX IF EXISTS inbound_console_reason;
DROP INDEX IF EXISTS inbound_console_recent;
DROP INDEX IF EXISTS inbound_not_lead;
CREATE INDEX inbound_console_reason ON inbound (reason, received_at, id) WHERE status = 'not_lead';
CREATE INDEX inbound_console_recent ON inbound (received_at, reason) WHERE status = 'not_lead';
