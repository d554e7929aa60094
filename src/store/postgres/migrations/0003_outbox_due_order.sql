-- The outbox claim reads due rows in (next_attempt_at, id) order and stops at its batch:
-- with `id` in the index the order comes from the index, so a claim no longer checks and
-- sorts every pending row of the sink (its cost grew with the backlog: 26 s on 50k rows).
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at, id) WHERE status = 'pending';
