-- twofa-store-postgres schema, version 1.
--
-- Every keyed record is a JSONB document plus a `version` counter for
-- compare-and-swap and the key columns the store filters on. No column holds
-- a plain secret or a code: the records arrive with their secrets sealed and
-- their one-time codes hashed.
--
-- Identifier columns use the "C" collation so that ordering is byte order,
-- the order the Rust types sort in, whatever the database's default locale.

CREATE TABLE twofa_users (
    user_id    text COLLATE "C" PRIMARY KEY,
    company_id text COLLATE "C" NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    record     jsonb NOT NULL
);

-- list_company: one index range scan, already in user-id order.
CREATE INDEX twofa_users_by_company ON twofa_users (company_id, user_id);

CREATE TABLE twofa_companies (
    company_id text COLLATE "C" PRIMARY KEY,
    version    bigint NOT NULL CHECK (version > 0),
    -- Derived from the record on every write; the constraint ties the two
    -- together so that the record cannot say "not enforced" while the
    -- column the trigger guards says "enforced", or the other way round.
    enforced   boolean NOT NULL,
    record     jsonb NOT NULL,
    CONSTRAINT twofa_companies_enforced_matches_record CHECK (
        enforced = coalesce(record #>> '{settings,enforcement,state}' = 'enforced', false)
    )
);

-- Requiring 2FA for a whole company can never be undone: refuse any update
-- that turns `enforced` from true to false, and the deletion of an enforced
-- company (which a re-insert would otherwise undo).
CREATE FUNCTION twofa_refuse_unenforce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.enforced THEN
            RAISE EXCEPTION 'twofa: a company that enforces 2fa cannot be deleted'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.enforced AND NOT NEW.enforced THEN
        RAISE EXCEPTION 'twofa: 2fa enforcement cannot be turned off'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER twofa_companies_enforcement_one_way
    BEFORE UPDATE OR DELETE ON twofa_companies
    FOR EACH ROW EXECUTE FUNCTION twofa_refuse_unenforce();

CREATE TABLE twofa_challenges (
    ticket     text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL,
    -- The first instant the ticket is refused; lets expired logins be purged.
    expires_at timestamptz NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    record     jsonb NOT NULL
);

CREATE INDEX twofa_challenges_by_expiry ON twofa_challenges (expires_at);

CREATE TABLE twofa_trust_grants (
    user_id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL CHECK (version > 0),
    record  jsonb NOT NULL
);

CREATE TABLE twofa_audit_log (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    company_id text COLLATE "C",
    user_id    text COLLATE "C",
    entry      jsonb NOT NULL
);

CREATE INDEX twofa_audit_log_by_user ON twofa_audit_log (user_id, seq);

-- The trail is append-only: an entry, once written, is never rewritten.
-- (Deleting old entries for retention stays possible.)
CREATE FUNCTION twofa_refuse_audit_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'twofa: audit entries cannot be modified'
        USING ERRCODE = 'check_violation';
END
$$;

CREATE TRIGGER twofa_audit_log_append_only
    BEFORE UPDATE ON twofa_audit_log
    FOR EACH ROW EXECUTE FUNCTION twofa_refuse_audit_rewrite();
