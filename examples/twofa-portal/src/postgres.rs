//! The portal's own state in PostgreSQL, beside the `twofa` store's
//! tables, so that every server on the database sees it: sessions, the
//! password-failure counters and, in demo mode, the simulated outbox. The
//! tables (`twofa_portal_*`) are created at start if missing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::{Object, Pool};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use twofa::{Sealer, XChaChaSealer};

use crate::accounts::DemoAccount;
use crate::session::record::{self, id_hash};
use crate::session::{Session, SessionCounts, SessionError, SessionPolicy, Token};

/// The portal's tables. `sealed` columns hold sealed values only (see
/// `session::record`); session rows are found by the SHA-256 of their
/// identifier, never the identifier itself.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS twofa_portal_sessions (
    id_hash    bytea PRIMARY KEY,
    jar        smallint NOT NULL,
    signed_in  boolean NOT NULL,
    created_at timestamptz NOT NULL,
    touched_at timestamptz NOT NULL,
    sealed     bytea NOT NULL
);
-- The order rows were stored in: the pre-login bound keeps the newest
-- (creation times can be equal, and a demo clock stands still). Tables
-- made before it get the column once; later starts take no lock here.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema()
          AND table_name = 'twofa_portal_sessions' AND column_name = 'seq'
    ) THEN
        ALTER TABLE twofa_portal_sessions
            ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
        DROP INDEX IF EXISTS twofa_portal_sessions_pre_login;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS twofa_portal_sessions_pre_login_order
    ON twofa_portal_sessions (jar, seq) WHERE NOT signed_in;
CREATE TABLE IF NOT EXISTS twofa_portal_password_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS twofa_portal_outbox (
    seq     bigserial PRIMARY KEY,
    sent_at timestamptz NOT NULL,
    sealed  bytea NOT NULL
);
";

/// The advisory lock held while creating the tables (servers starting
/// together take turns): the ASCII bytes of `twofa_pt`.
const SCHEMA_LOCK: i64 = 0x7477_6f66_615f_7074;

/// The advisory lock a trim of one jar's rows holds for its statement (the
/// jar is the second key): the ASCII bytes of `twtr`.
const TRIM_LOCK: i32 = 0x7477_7472;

/// Every how many new pre-login sessions a server trims the pre-login
/// rows back to the capacity and removes expired sessions.
const TRIM_EVERY: u64 = 32;

/// How many outbox messages the device pages show (the newest).
const OUTBOX_SHOWN: i64 = 200;

/// A session by the hash of its identifier: touched if alive (the same
/// test as in memory), removed if expired.
const LOAD_SESSION: &str = "WITH expired AS (
         DELETE FROM twofa_portal_sessions
         WHERE id_hash = $1 AND jar = $2
           AND NOT (touched_at > $4 AND created_at > $5 AND created_at <= $3)
     ), alive AS (
         UPDATE twofa_portal_sessions SET touched_at = $3
         WHERE id_hash = $1 AND jar = $2 AND touched_at > $4
           AND created_at > $5 AND created_at <= $3
         RETURNING created_at, sealed
     )
     SELECT created_at, sealed FROM alive";

const INSERT_SESSION: &str = "INSERT INTO twofa_portal_sessions
         (id_hash, jar, signed_in, created_at, touched_at, sealed)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// [`INSERT_SESSION`] that also removes the session it replaces (`$7`).
const ROTATE_SESSION: &str = "WITH replaced AS (
         DELETE FROM twofa_portal_sessions WHERE id_hash = $7 AND jar = $2
     )
     INSERT INTO twofa_portal_sessions
         (id_hash, jar, signed_in, created_at, touched_at, sealed)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// The shared state's connection pool and what reading its rows needs.
#[derive(Clone)]
pub(crate) struct SharedState {
    pool: Pool,
    sealer: Arc<XChaChaSealer>,
    accounts: Arc<[&'static DemoAccount]>,
    inserts: Arc<AtomicU64>,
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState").finish_non_exhaustive()
    }
}

fn unavailable<E>(_: E) -> SessionError {
    SessionError::Unavailable
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Runs one statement on `client`, prepared once per connection (each
/// later run is one round trip), and returns how many rows it touched.
async fn execute(client: &Object, sql: &str, params: &Params<'_>) -> Result<u64, SessionError> {
    let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
    client
        .execute(&statement, params)
        .await
        .map_err(unavailable)
}

impl SharedState {
    /// The portal's tables on `pool`, created if missing.
    pub(crate) async fn open(
        pool: Pool,
        sealer: Arc<XChaChaSealer>,
        accounts: &[&'static DemoAccount],
    ) -> Result<Self, SessionError> {
        let mut client = pool.get().await.map_err(unavailable)?;
        let transaction = client.transaction().await.map_err(unavailable)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(unavailable)?;
        transaction
            .batch_execute(SCHEMA)
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        Ok(Self {
            pool,
            sealer,
            accounts: accounts.into(),
            inserts: Arc::new(AtomicU64::new(0)),
        })
    }

    async fn client(&self) -> Result<Object, SessionError> {
        self.pool.get().await.map_err(unavailable)
    }

    /// Runs one statement on a pooled connection and returns how many rows
    /// it touched.
    async fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64, SessionError> {
        execute(&self.client().await?, sql, params).await
    }

    /// Runs one statement on a pooled connection and returns its row, if
    /// any.
    async fn query_opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>, SessionError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        client
            .query_opt(&statement, params)
            .await
            .map_err(unavailable)
    }

    pub(crate) async fn load_session(
        &self,
        jar: u8,
        id: &Token,
        policy: &SessionPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, SessionError> {
        let hash = id_hash(id);
        let idle_cutoff = now.checked_sub_signed(policy.idle).unwrap_or(now);
        let absolute_cutoff = now.checked_sub_signed(policy.absolute).unwrap_or(now);
        // Alive (the same test as in memory) and touched, in one
        // statement; a row that is there but expired goes in the same
        // statement too.
        let row = self
            .query_opt(
                LOAD_SESSION,
                &[&hash, &i16::from(jar), &now, &idle_cutoff, &absolute_cutoff],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let created_at: DateTime<Utc> = row.try_get(0).map_err(unavailable)?;
        let sealed: Vec<u8> = row.try_get(1).map_err(unavailable)?;
        record::open(
            &self.sealer,
            &self.accounts,
            jar,
            &hash,
            &sealed,
            (created_at, now),
        )
        .map(Some)
    }

    /// Stores a new session under `id`; with `replacing`, the session of
    /// that identifier goes in the same statement (a rotation: both or
    /// neither).
    pub(crate) async fn insert_session(
        &self,
        jar: u8,
        (id, replacing): (&Token, Option<&Token>),
        session: &Session,
        policy: &SessionPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let hash = id_hash(id);
        let sealed = record::seal(&self.sealer, jar, &hash, session)?;
        let signed_in = session.stage.signed_in();
        let jar_column = i16::from(jar);
        let client = self.client().await?;
        let old_hash = replacing.map(id_hash);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &hash,
            &jar_column,
            &signed_in,
            &session.created_at,
            &session.touched_at,
            &sealed,
        ];
        let sql = match &old_hash {
            None => INSERT_SESSION,
            Some(old_hash) => {
                params.push(old_hash);
                ROTATE_SESSION
            }
        };
        execute(&client, sql, &params).await?;
        if !signed_in
            && self
                .inserts
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(TRIM_EVERY)
        {
            // The session is stored: a trim that fails leaves the rows to
            // the next one and does not refuse the request.
            if let Err(error) = self.trim(&client, jar, policy, now).await {
                tracing::warn!(target: "twofa_portal::sessions", %error, "sessions not trimmed");
            }
        }
        Ok(())
    }

    /// Removes expired sessions, then the oldest pre-login sessions
    /// beyond the capacity (never a signed-in one).
    async fn trim(
        &self,
        client: &Object,
        jar: u8,
        policy: &SessionPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let idle_cutoff = now.checked_sub_signed(policy.idle).unwrap_or(now);
        let absolute_cutoff = now.checked_sub_signed(policy.absolute).unwrap_or(now);
        let capacity = i64::try_from(policy.pre_login_capacity).unwrap_or(i64::MAX);
        // One trim of a jar at a time, whichever server: two deleting the
        // same rows in different orders would deadlock, and one that finds
        // the lock taken leaves the rows to the holder.
        let turn = (TRIM_LOCK, i32::from(jar));
        execute(
            client,
            "WITH turn AS (SELECT pg_try_advisory_xact_lock($4, $5) AS mine)
             DELETE FROM twofa_portal_sessions
             WHERE (SELECT mine FROM turn)
               AND jar = $1 AND (touched_at <= $2 OR created_at <= $3)",
            &[
                &i16::from(jar),
                &idle_cutoff,
                &absolute_cutoff,
                &turn.0,
                &turn.1,
            ],
        )
        .await?;
        execute(
            client,
            "WITH turn AS (SELECT pg_try_advisory_xact_lock($3, $4) AS mine)
             DELETE FROM twofa_portal_sessions
             WHERE (SELECT mine FROM turn) AND id_hash IN (
                 SELECT id_hash FROM twofa_portal_sessions
                 WHERE jar = $1 AND NOT signed_in
                 ORDER BY seq DESC OFFSET $2)",
            &[&i16::from(jar), &capacity, &turn.0, &turn.1],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn save_session(
        &self,
        jar: u8,
        id: &Token,
        session: &Session,
    ) -> Result<(), SessionError> {
        let hash = id_hash(id);
        let sealed = record::seal(&self.sealer, jar, &hash, session)?;
        self.execute(
            "UPDATE twofa_portal_sessions SET signed_in = $3, sealed = $4
             WHERE id_hash = $1 AND jar = $2",
            &[&hash, &i16::from(jar), &session.stage.signed_in(), &sealed],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn remove_session(&self, jar: u8, id: &Token) -> Result<(), SessionError> {
        self.execute(
            "DELETE FROM twofa_portal_sessions WHERE id_hash = $1 AND jar = $2",
            &[&id_hash(id), &i16::from(jar)],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn session_counts(&self, jar: u8) -> Result<SessionCounts, SessionError> {
        let row = self
            .query_opt(
                "SELECT count(*) FILTER (WHERE NOT signed_in),
                        count(*) FILTER (WHERE signed_in)
                 FROM twofa_portal_sessions WHERE jar = $1",
                &[&i16::from(jar)],
            )
            .await?
            .ok_or(SessionError::Unavailable)?;
        Ok(SessionCounts {
            pre_login: count(row.try_get(0).map_err(unavailable)?),
            signed_in: count(row.try_get(1).map_err(unavailable)?),
        })
    }

    /// Failures of `key` in the window that is still open at `now`, and
    /// when it closes.
    pub(crate) async fn failures(
        &self,
        key: &str,
        window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<(u32, DateTime<Utc>)>, SessionError> {
        let opened_after = now.checked_sub_signed(window).unwrap_or(now);
        let row = self
            .query_opt(
                "SELECT failures, window_start FROM twofa_portal_password_failures
                 WHERE key = $1 AND window_start > $2",
                &[&key, &opened_after],
            )
            .await?;
        row.map(|row| {
            let failures: i32 = row.try_get(0).map_err(unavailable)?;
            let start: DateTime<Utc> = row.try_get(1).map_err(unavailable)?;
            Ok((
                u32::try_from(failures).unwrap_or(0),
                start.checked_add_signed(window).unwrap_or(start),
            ))
        })
        .transpose()
    }

    /// Counts one failure of `key` in one statement (a window that has
    /// closed starts again at `now`).
    pub(crate) async fn record_failure(
        &self,
        key: &str,
        window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let opened_after = now.checked_sub_signed(window).unwrap_or(now);
        self.execute(
            "INSERT INTO twofa_portal_password_failures AS f (key, failures, window_start)
             VALUES ($1, 1, $2)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN f.window_start > $3 THEN f.failures + 1 ELSE 1 END,
                 window_start = CASE WHEN f.window_start > $3 THEN f.window_start ELSE $2 END",
            &[&key, &now, &opened_after],
        )
        .await?;
        Ok(())
    }

    /// Forgets the failures of `key` (a correct password).
    pub(crate) async fn clear_failures(&self, key: &str) -> Result<(), SessionError> {
        self.execute(
            "DELETE FROM twofa_portal_password_failures WHERE key = $1",
            &[&key],
        )
        .await?;
        Ok(())
    }

    /// Removes failure windows that closed before `now`.
    pub(crate) async fn purge_failures(
        &self,
        window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<u64, SessionError> {
        let opened_after = now.checked_sub_signed(window).unwrap_or(now);
        self.execute(
            "DELETE FROM twofa_portal_password_failures WHERE window_start <= $1",
            &[&opened_after],
        )
        .await
    }

    /// Adds a message to the simulated outbox (sealed: it holds codes).
    pub(crate) async fn push_outbox(
        &self,
        sent_at: DateTime<Utc>,
        plain: &[u8],
    ) -> Result<(), SessionError> {
        let sealed = self
            .sealer
            .seal(OUTBOX_AAD, plain, &mut rand::rng())
            .map_err(unavailable)?;
        self.execute(
            "INSERT INTO twofa_portal_outbox (sent_at, sealed) VALUES ($1, $2)",
            &[&sent_at, &sealed],
        )
        .await?;
        Ok(())
    }

    /// The newest messages of the simulated outbox, oldest first.
    pub(crate) async fn outbox(&self) -> Result<Vec<zeroize::Zeroizing<Vec<u8>>>, SessionError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT sealed FROM (
                     SELECT seq, sealed FROM twofa_portal_outbox
                     ORDER BY seq DESC LIMIT $1) newest
                 ORDER BY seq",
            )
            .await
            .map_err(unavailable)?;
        let rows = client
            .query(&statement, &[&OUTBOX_SHOWN])
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let sealed: Vec<u8> = row.try_get(0).map_err(unavailable)?;
                self.sealer.open(OUTBOX_AAD, &sealed).map_err(unavailable)
            })
            .collect()
    }
}

/// What the sealing of an outbox message is bound to.
const OUTBOX_AAD: &[u8] = b"twofa-portal outbox";
