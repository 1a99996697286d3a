-- The audit trail's index by time as a block range (BRIN) index.
--
-- Entries are appended in time order, so each block of the table holds a
-- narrow range of `at`: a BRIN index records that range per group of
-- blocks, a few kilobytes for millions of rows, where the B-tree of
-- migration 5 grew by an entry for every row and cost an index insertion
-- in every login commit. The retention purge (`DELETE ... WHERE at <
-- cutoff`) reads the block ranges that may hold older entries and checks
-- each row, so it stays a range scan. Entries that arrive out of order
-- (clocks of several servers) widen a range, which costs the purge a few
-- more rows to check, never a wrong answer.
DROP INDEX twofa_audit_log_by_time;
CREATE INDEX twofa_audit_log_by_time ON twofa_audit_log USING brin (at);
