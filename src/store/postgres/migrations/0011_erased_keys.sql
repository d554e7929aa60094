-- What `leadgate forget` erased stays erased: the digest of each removed item's dedupe key,
-- by source, so a poller that reads the same comment or entry again (a WordPress recheck, a
-- feed that still lists it) does not store it as a new lead. A digest, not the key: the key
-- can name the person (a VK peer id, a WhatsApp message id).
CREATE TABLE erased_keys (
    source      TEXT NOT NULL,
    key_digest  TEXT NOT NULL,
    PRIMARY KEY (source, key_digest)
);
