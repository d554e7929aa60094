-- A Telegram bot's answer to the person is queued with their lead now (`reply:<lead>`), so the
-- time of each chat's last message is no longer kept. Those cursors named a person's Telegram
-- chat id for as long as the store lived, and `forget` did not reach them.
DELETE FROM cursors WHERE key LIKE 'telegram:%:conversation:%';
