-- The texts of each rules version that routed a lead (every test as written, every entry's name,
-- line and points). A lead's trace points into them by index, so the rules are stored once per
-- version instead of spelt out in every lead (issue 13: a trace of the 400-entry rules was
-- 233 KB a lead).
CREATE TABLE rules_texts (
    version    TEXT PRIMARY KEY,
    texts      TEXT NOT NULL,
    stored_at  TEXT NOT NULL
) WITHOUT ROWID;
