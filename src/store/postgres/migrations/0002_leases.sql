-- Work that must run on one daemon at a time (a mailbox folder, a bot's updates, processing,
-- the SLA timer) is held through a lease: the holder renews it every few seconds; a lease
-- whose time ran out may be taken by another replica.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
