-- Each source's state as the replica running it last saw it (`[server] replica`, renewed
-- every lease round), so the alerts monitor, on whichever replica holds its own lease, sees
-- a source failing on another replica (a replica's health is its own process's).
CREATE TABLE source_states (
    name          TEXT PRIMARY KEY,
    replica       TEXT NOT NULL,
    state         TEXT NOT NULL,
    last_success  TEXT,
    last_error    TEXT,
    at            TEXT NOT NULL
);
