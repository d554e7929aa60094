-- A CRM's webhook names a lead by the CRM's own id: find the lead whose captured value it is.
CREATE INDEX crm_refs_value ON crm_refs (sink, name, value);
