-- An item kept out that the admin turned into a lead (the console's "this is a lead") goes
-- back to `pending`: it no longer counts as kept out in the reports' daily totals.
CREATE TRIGGER report_kept_on_unkeep AFTER UPDATE OF status ON inbound
    WHEN OLD.status = 'not_lead' AND NEW.status IS NOT 'not_lead'
BEGIN
    UPDATE report_kept SET n = n - 1
        WHERE day = substr(OLD.received_at, 1, 10) AND source = OLD.source
          AND reason = COALESCE(OLD.reason, '');
END;
