-- The "manager unreachable" alert asks, per address, whether a message got through after the
-- dead ones; dead messages are few, and this finds the later sent ones by address.
CREATE INDEX notifications_address ON notifications (channel, address, status, id);
