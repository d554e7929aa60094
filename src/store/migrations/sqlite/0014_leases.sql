-- Work that must run on one daemon at a time (a mailbox folder, a bot's updates, processing,
-- the SLA timer) is held through a lease: the holder renews it every few seconds; a lease
-- whose time ran out may be taken by another replica (issue 14).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,   -- process | sla | imap:<source>:<folder> | ...
    holder      TEXT NOT NULL,      -- the replica's id ([server] replica)
    expires_at  TEXT NOT NULL       -- RFC 3339; free for another holder after it
);
