-- twofa-store-postgres schema, version 4: the counters of the send budget.
--
-- One row per counter and window (the key names both, see
-- `twofa_delivery::CounterKey`): how many sends it has charged, and when
-- its window ends. A charge takes every counter of a send in one
-- transaction, in key order, with a conditional upsert each
-- (`INSERT … ON CONFLICT DO UPDATE … WHERE n < limit`), and rolls back
-- if any counter is at its limit: all or none, exact however many
-- servers charge at once, and no two charges wait on each other in a
-- cycle. The key holds a keyed hash of a destination, never a number or
-- an address.
CREATE TABLE twofa_send_counters (
    key        text PRIMARY KEY,
    n          integer NOT NULL CHECK (n >= 0),
    expires_at timestamptz NOT NULL
);

-- The purge deletes by end of window.
CREATE INDEX twofa_send_counters_expires_at ON twofa_send_counters (expires_at);
