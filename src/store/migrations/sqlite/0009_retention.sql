-- Retention (issue 18): the sweeper removes personal data once it is no longer needed, in
-- small batches read in time order from these indexes, never by scanning a whole table.

-- When an item's raw bytes were removed (it made or joined a lead, which keeps what was read
-- from it); NULL while they are kept.
ALTER TABLE inbound ADD COLUMN purged_at TEXT;
CREATE INDEX inbound_unpurged ON inbound (received_at)
    WHERE purged_at IS NULL AND status IN ('lead', 'joined');
-- Items that were not leads (spam, auto-replies, test posts) go whole.
CREATE INDEX inbound_not_lead ON inbound (received_at) WHERE status = 'not_lead';

-- Bodies of events a sink took and of messages a manager got, blanked once they are old
-- (an undelivered or dead row keeps its body: it is still to be sent or replayed).
CREATE INDEX outbox_delivered ON outbox (delivered_at)
    WHERE status = 'delivered' AND body != '';
CREATE INDEX notifications_sent ON notifications (sent_at)
    WHERE status = 'sent' AND message != '';

-- Settled leads (taken or closed) by when they last moved: the whole lead goes once old.
CREATE INDEX leads_settled ON leads (last_activity_at)
    WHERE status IN ('acknowledged', 'closed');

-- Removing a lead (the sweeper, `leadgate forget`) finds its rows in every table by lead id.
CREATE INDEX inbound_lead ON inbound (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX lead_refs_lead ON lead_refs (lead_id);
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);
CREATE INDEX crm_refs_lead ON crm_refs (lead_id);
