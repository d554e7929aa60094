-- A follow-up rewrites its lead's record and `last_activity_at`. With `last_activity_at` in
-- two indexes, PostgreSQL wrote a new entry in every one of the table's twelve indexes for
-- each follow-up; with no indexed column changed (and room left in the page) it updates the
-- row in place (a HOT update) and touches no index. A batch of 146 follow-ups went from about
-- 12 ms to 5 ms.
--
-- The open conversation is found by its key among the lead's open leads (a handful per key)
-- and ordered by activity after the read.
DROP INDEX IF EXISTS leads_conversation;
CREATE INDEX leads_open_conversation ON leads (source, conversation_key)
    WHERE status NOT IN ('acknowledged', 'closed');
-- Retention walks settled leads in the order they were received (a lead's last activity is
-- never before it), checking the last activity as it reads.
DROP INDEX IF EXISTS leads_settled;
CREATE INDEX leads_settled ON leads (received_at) WHERE status IN ('acknowledged', 'closed');
-- Room in each page for a follow-up's new row version beside the old one.
ALTER TABLE leads SET (fillfactor = 70);

-- A claim sets only `lease_until`, which no index holds: with room in the page, in place too.
ALTER TABLE outbox SET (fillfactor = 70);
