-- Audit retention: entries older than the retention are deleted by their
-- time (`DELETE ... WHERE at < cutoff`); this index keeps that one range
-- scan instead of a pass over the whole trail.
CREATE INDEX twofa_audit_log_by_time ON twofa_audit_log (at);
