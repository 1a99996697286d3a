-- twofa-store-postgres schema, version 3: a cheaper code verification.
--
-- A verification reads the pending login, the user and the company (one
-- query) and then saves the user and the pending login and appends the
-- audit entries (one statement). Measured on the store's own statements,
-- most of that statement's time went into three things this migration
-- removes:
--
-- 1. Out-of-line storage of the user's record. A user row with its sealed
--    enrollment is a little over 2 kB, just past the size at which the
--    server moves a column to the TOAST table, so every save wrote the
--    record there in chunks (and their index entries) besides the row.
--    A toast_tuple_target of 8160 keeps rows up to that size in the page;
--    a fillfactor of 50 leaves room on the page for the next version of
--    the row, so that a save stays a HOT update (no new index entries).
-- 2. Parsing into JSONB. The store never looks inside a user record, a
--    pending login or an audit entry in SQL except to find a pending
--    login's company, so their columns become `json`: checked to be JSON
--    on write, stored as sent, no binary document built on every save and
--    no text rendered back on every read. (Companies keep `jsonb`: their
--    CHECK constraint reads the enforcement state, and they are rarely
--    written.)
-- 3. PL/pgSQL. The commit is now one data-modifying statement sent by the
--    store (see `COMMIT_LOGIN` in src/stores.rs) instead of a call of
--    `twofa_commit_login`, whose body ran four statements through the
--    procedural language, one audit INSERT per entry. That function is
--    kept unchanged for servers still running the previous release during
--    an upgrade: its jsonb arguments are assigned to the json columns by
--    the built-in assignment cast.
--
-- Changing a column's type rewrites the table under an exclusive lock:
-- the time this migration takes grows with the size of the audit log.

ALTER TABLE twofa_users
    SET (toast_tuple_target = 8160, fillfactor = 50);

ALTER TABLE twofa_users
    ALTER COLUMN record TYPE json USING record::json;

ALTER TABLE twofa_challenges
    ALTER COLUMN record TYPE json USING record::json;

ALTER TABLE twofa_audit_log
    ALTER COLUMN entry TYPE json USING entry::json;
