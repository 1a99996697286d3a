-- twofa-store-postgres schema, version 2: the writes that complete a login,
-- as one statement.
--
-- Saves the user's record at the version it was loaded at, saves the pending
-- login at the version it was loaded at and appends the audit entries, all
-- or nothing. Returns false, having written nothing, when either record is
-- missing or at another version.
--
-- The pending login is locked first (`FOR UPDATE` re-reads the newest row
-- and re-checks its version), so once the user's record is saved the
-- pending login's update cannot miss. Every call takes the two row locks in
-- the same order (pending login, then user), and every other statement of
-- the store touches one row, so concurrent calls cannot deadlock.
CREATE FUNCTION twofa_commit_login(
    p_user_id         text,
    p_user_version    bigint,
    p_company_id      text,
    p_user_record     jsonb,
    p_ticket          text,
    p_ticket_version  bigint,
    p_expires_at      timestamptz,
    p_ticket_record   jsonb,
    p_audit_at        timestamptz[],
    p_audit_company   text[],
    p_audit_user      text[],
    p_audit_entry     jsonb[]
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM twofa_challenges
        WHERE ticket = p_ticket AND version = p_ticket_version
        FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE twofa_users
        SET company_id = p_company_id, record = p_user_record, version = version + 1
        WHERE user_id = p_user_id AND version = p_user_version;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE twofa_challenges
        SET user_id = p_user_id, expires_at = p_expires_at, record = p_ticket_record,
            version = version + 1
        WHERE ticket = p_ticket AND version = p_ticket_version;
    IF NOT FOUND THEN
        -- Unreachable while the lock above is held; raising undoes the
        -- user's save rather than leaving half a unit.
        RAISE EXCEPTION 'twofa: pending login changed during a login commit'
            USING ERRCODE = 'serialization_failure';
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_audit_entry, 1), 0) LOOP
        INSERT INTO twofa_audit_log (at, company_id, user_id, entry)
            VALUES (p_audit_at[i], p_audit_company[i], p_audit_user[i], p_audit_entry[i]);
    END LOOP;
    RETURN true;
END
$$;
