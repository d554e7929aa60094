-- A preset's request (method, path under the sink's URL, headers) rendered when the event was
-- queued, as JSON; NULL for a plain Standard Webhooks POST to the sink's URL. Retries send
-- exactly what was rendered.
ALTER TABLE outbox ADD COLUMN request TEXT;
