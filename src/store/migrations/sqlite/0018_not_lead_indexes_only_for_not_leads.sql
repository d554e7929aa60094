-- The console's kept-out indexes hold only kept-out items (issue 13). Every query that reads
-- them asks for `status = 'not_lead'`, yet every item had an entry in both from the moment it
-- was taken in, and the entry moved when processing made the item a lead: two index inserts
-- for each form intake commits and four index writes for each lead processing commits, for
-- pages that list spam. Now an item enters them only if it is kept out, and the retention
-- index of kept-out items (0009) is the second one's first column, so it goes.
DROP INDEX inbound_console_reason;
DROP INDEX inbound_console_recent;
DROP INDEX inbound_not_lead;
CREATE INDEX inbound_console_reason ON inbound (reason, received_at) WHERE status = 'not_lead';
CREATE INDEX inbound_console_recent ON inbound (received_at, reason) WHERE status = 'not_lead';
