-- A claim sets only `lease_until`, which no index holds, so its new row version can go in
-- place (a HOT update, no index entry written) when it fits in the row's page. 0005 left 30 %
-- of each page free; an event body makes a row of about 1.4 KiB, so a page took three or four
-- rows and had room for the new version of only one or two of them when they were claimed,
-- a few milliseconds later: about half the claims wrote a new entry in each of the table's
-- five indexes that hold pending rows. With half of each page free, every row of a page can
-- be claimed in place (the peer benchmark: all claims in place against half, 3 % more forms a
-- second). The row moves out at its delivery anyway (its status is indexed).
ALTER TABLE outbox SET (fillfactor = 50);
