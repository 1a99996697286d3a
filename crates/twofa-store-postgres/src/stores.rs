//! The facade's store traits on PostgreSQL tables.
//!
//! Every operation is one statement on one pooled connection, so it is
//! atomic on its own: a load is one `SELECT`, an insert one
//! `INSERT … ON CONFLICT DO NOTHING`, a save one
//! `UPDATE … WHERE key = $1 AND version = $2`, a removal one
//! `DELETE … WHERE key = $1 AND version = $2`. A statement that touches no
//! row is the conflict. Nothing is read and then written back without the
//! version condition in the same statement. The unit of work is one
//! statement too: one `SELECT` with joins to load a login, one
//! data-modifying `WITH` statement to commit it.

use std::fmt;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Pool};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use twofa::trusted_network::TrustGrantRecord;
use twofa::types::{CompanyId, UserId};
use twofa::{
    AuditEntry, AuditLog, CompanyRecord, LoadedLogin, LoginCommit, LoginTicket, PendingLogin,
    PendingLoginStore, SaveError, StoreError, StoreFuture, Stores, UnitOfWork, UserRecord,
    UserStore, Version, Versioned, VersionedStore,
};

use crate::error::{corrupt, from_driver, unavailable};

type Params<'p> = [&'p (dyn ToSql + Sync)];
type Param<'p> = &'p (dyn ToSql + Sync);

/// Runs one statement that returns at most one row.
async fn query_opt(pool: &Pool, sql: &str, params: &Params<'_>) -> Result<Option<Row>, StoreError> {
    let client = pool.get().await.map_err(unavailable)?;
    let result = async {
        let statement = client.prepare_cached(sql).await?;
        client.query_opt(&statement, params).await
    }
    .await;
    settle(client, result)
}

/// Runs one statement and returns its rows.
async fn query(pool: &Pool, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
    let client = pool.get().await.map_err(unavailable)?;
    let result = async {
        let statement = client.prepare_cached(sql).await?;
        client.query(&statement, params).await
    }
    .await;
    settle(client, result)
}

/// Runs one statement and returns how many rows it touched.
async fn execute(pool: &Pool, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
    let client = pool.get().await.map_err(unavailable)?;
    let result = async {
        let statement = client.prepare_cached(sql).await?;
        client.execute(&statement, params).await
    }
    .await;
    settle(client, result)
}

/// Returns the connection to the pool after a success; after an error,
/// closes it instead. A connection the server terminated may not look
/// closed yet when it is returned, and would fail the next operation too;
/// errors are rare enough that reconnecting after each costs nothing.
fn settle<T>(client: Object, result: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
    result.map_err(|error| {
        drop(Object::take(client));
        from_driver(&error)
    })
}

fn version_from_column(row: &Row) -> Result<Version, StoreError> {
    let version: i64 = row.try_get("version").map_err(corrupt)?;
    u64::try_from(version).map(Version::new).map_err(corrupt)
}

/// A record and its version from the named columns of a joined row: both
/// null when the join found no row.
fn decode_joined<T: DeserializeOwned>(
    row: &Row,
    version: &str,
    record: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    let stored: Option<i64> = row.try_get(version).map_err(corrupt)?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let Json(record) = row.try_get::<_, Json<T>>(record).map_err(corrupt)?;
    Ok(Some(Versioned {
        record,
        version: u64::try_from(stored).map(Version::new).map_err(corrupt)?,
    }))
}

/// The version a save expects, as the database stores it. A version that
/// does not fit a `bigint` is in no row, so the save is a conflict.
fn version_to_column(version: Version) -> Result<i64, SaveError> {
    i64::try_from(version.get()).map_err(|_| SaveError::Conflict)
}

fn decode<T: DeserializeOwned>(row: &Row) -> Result<Versioned<T>, StoreError> {
    let Json(record) = row.try_get::<_, Json<T>>("record").map_err(corrupt)?;
    Ok(Versioned {
        record,
        version: version_from_column(row)?,
    })
}

async fn load<T: DeserializeOwned>(
    pool: &Pool,
    sql: &str,
    key: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    query_opt(pool, sql, &[&key])
        .await?
        .map(|row| decode(&row))
        .transpose()
}

/// Runs a conditional insert or update that returns the new version, or
/// no row when its condition did not hold.
async fn write(pool: &Pool, sql: &str, params: &Params<'_>) -> Result<Version, SaveError> {
    match query_opt(pool, sql, params).await? {
        Some(row) => Ok(version_from_column(&row)?),
        None => Err(SaveError::Conflict),
    }
}

fn as_json<T: Serialize>(record: &T) -> Json<&T> {
    Json(record)
}

/// The statements of one keyed table. Both writes take the key as `$1`;
/// the update takes the expected version as `$2`; then come the table's
/// derived columns in order, and the record last. Each returns the new
/// version, or no row when the key exists (insert) or is not at the
/// expected version (update).
struct Table {
    load: &'static str,
    insert: &'static str,
    update: &'static str,
    /// Deletes the row of `$1` if it is at version `$2`.
    remove: &'static str,
}

impl Table {
    async fn load<T: DeserializeOwned>(
        &self,
        pool: &Pool,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        load(pool, self.load, key).await
    }

    /// Inserts (`expected` is `None`) or updates at `expected` the row of
    /// `key` with the derived `columns` and `record`.
    async fn save<T: Serialize + Sync + fmt::Debug>(
        &self,
        pool: &Pool,
        key: &str,
        columns: &Params<'_>,
        record: &T,
        expected: Option<Version>,
    ) -> Result<Version, SaveError> {
        let record = as_json(record);
        let version;
        let (sql, head): (_, Vec<Param<'_>>) = match expected {
            None => (self.insert, vec![&key]),
            Some(expected) => {
                version = version_to_column(expected)?;
                (self.update, vec![&key, &version])
            }
        };
        let params: Vec<Param<'_>> = head
            .into_iter()
            .chain(columns.iter().copied())
            .chain([&record as Param<'_>])
            .collect();
        write(pool, sql, &params).await
    }

    /// Deletes the row of `key` if it is still at `expected`.
    async fn remove(&self, pool: &Pool, key: &str, expected: Version) -> Result<(), SaveError> {
        let version = version_to_column(expected)?;
        match execute(pool, self.remove, &[&key, &version]).await? {
            0 => Err(SaveError::Conflict),
            _ => Ok(()),
        }
    }
}

/// Debug output shared by the store handles: the pool's counters, never its
/// configuration (which may hold a password).
fn debug_pool(f: &mut fmt::Formatter<'_>, name: &str, pool: &Pool) -> fmt::Result {
    let status = pool.status();
    f.debug_struct(name)
        .field("max_connections", &status.max_size)
        .field("open_connections", &status.size)
        .field("idle_connections", &status.available)
        .finish_non_exhaustive()
}

macro_rules! store_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pool: Pool,
        }

        impl $name {
            pub(crate) fn new(pool: Pool) -> Self {
                Self { pool }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                debug_pool(f, stringify!($name), &self.pool)
            }
        }
    };
}

store_handle! {
    /// [`UserStore`] on the `twofa_users` table: the record as JSON, its
    /// version, the user id as key and the company id for listing.
    PostgresUserStore
}

store_handle! {
    /// The company store ([`VersionedStore`] of company records) on the
    /// `twofa_companies` table. Its `enforced` column is derived from the
    /// record on every write, and a trigger refuses any update that turns
    /// it from true to false: the save fails with [`StoreError::Refused`].
    PostgresCompanyStore
}

store_handle! {
    /// [`PendingLoginStore`] on the `twofa_challenges` table (named before
    /// the store was; renaming it would break servers of an older release
    /// during an upgrade), keyed by ticket, with the user id and expiry for
    /// maintenance.
    PostgresPendingLoginStore
}

store_handle! {
    /// The trust-grant store ([`VersionedStore`] of trusted-network grants)
    /// on the `twofa_trust_grants` table.
    PostgresTrustGrantStore
}

store_handle! {
    /// [`AuditLog`] on the append-only `twofa_audit_log` table, in the order
    /// of an identity column.
    PostgresAuditLog
}

const USERS: Table = Table {
    load: "SELECT version, record FROM twofa_users WHERE user_id = $1",
    insert: "INSERT INTO twofa_users (user_id, company_id, version, record) \
         VALUES ($1, $2, 1, $3) ON CONFLICT (user_id) DO NOTHING RETURNING version",
    update: "UPDATE twofa_users SET company_id = $3, record = $4, version = version + 1 \
         WHERE user_id = $1 AND version = $2 RETURNING version",
    // The user's pending logins go with the user: a user created again
    // under the same id starts at version 1 again, and no ticket of the
    // removed one may complete a login of the new one.
    remove: "WITH removed AS ( \
                 DELETE FROM twofa_users WHERE user_id = $1 AND version = $2 RETURNING 1 \
             ), logins AS ( \
                 DELETE FROM twofa_challenges \
                 WHERE user_id = $1 AND EXISTS (SELECT 1 FROM removed) \
             ) \
             SELECT 1 FROM removed",
};
const USER_LIST: &str = "SELECT version, record FROM twofa_users WHERE company_id = $1 \
     ORDER BY user_id";

impl VersionedStore<UserId, UserRecord> for PostgresUserStore {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<Option<Versioned<UserRecord>>, StoreError>> {
        StoreFuture::new(USERS.load(&self.pool, user.as_str()))
    }

    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: UserRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(async move {
            let company = record.company().as_str();
            USERS
                .save(&self.pool, user.as_str(), &[&company], &record, expected)
                .await
        })
    }

    fn remove<'a>(
        &'a self,
        user: &'a UserId,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        StoreFuture::new(async move { USERS.remove(&self.pool, user.as_str(), expected).await })
    }
}

impl UserStore for PostgresUserStore {
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        StoreFuture::new(async move {
            query(&self.pool, USER_LIST, &[&company.as_str()])
                .await?
                .iter()
                .map(decode)
                .collect()
        })
    }
}

const COMPANIES: Table = Table {
    load: "SELECT version, record FROM twofa_companies WHERE company_id = $1",
    insert: "INSERT INTO twofa_companies (company_id, version, enforced, record) \
         VALUES ($1, 1, $2, $3) ON CONFLICT (company_id) DO NOTHING RETURNING version",
    update: "UPDATE twofa_companies SET enforced = $3, record = $4, \
         version = version + 1 WHERE company_id = $1 AND version = $2 RETURNING version",
    // The trigger refuses to delete a company that enforces 2FA.
    remove: "DELETE FROM twofa_companies WHERE company_id = $1 AND version = $2",
};

impl VersionedStore<CompanyId, CompanyRecord> for PostgresCompanyStore {
    fn load<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Option<Versioned<CompanyRecord>>, StoreError>> {
        StoreFuture::new(COMPANIES.load(&self.pool, company.as_str()))
    }

    fn save<'a>(
        &'a self,
        company: &'a CompanyId,
        record: CompanyRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(async move {
            // A record that would turn enforcement off is refused by the
            // database's trigger: the save fails as a refusal
            // (`StoreError::Refused`), not as a conflict, and changes
            // nothing.
            let enforced = record.settings().is_enforced();
            COMPANIES
                .save(
                    &self.pool,
                    company.as_str(),
                    &[&enforced],
                    &record,
                    expected,
                )
                .await
        })
    }

    fn remove<'a>(
        &'a self,
        company: &'a CompanyId,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        StoreFuture::new(async move {
            COMPANIES
                .remove(&self.pool, company.as_str(), expected)
                .await
        })
    }
}

const PENDING_LOGINS: Table = Table {
    load: "SELECT version, record FROM twofa_challenges WHERE ticket = $1",
    insert: "INSERT INTO twofa_challenges (ticket, user_id, expires_at, version, record) \
         VALUES ($1, $2, $3, 1, $4) ON CONFLICT (ticket) DO NOTHING RETURNING version",
    update: "UPDATE twofa_challenges SET user_id = $3, expires_at = $4, record = $5, \
         version = version + 1 WHERE ticket = $1 AND version = $2 RETURNING version",
    remove: "DELETE FROM twofa_challenges WHERE ticket = $1 AND version = $2",
};

impl VersionedStore<LoginTicket, PendingLogin> for PostgresPendingLoginStore {
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> StoreFuture<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
        StoreFuture::new(async move { PENDING_LOGINS.load(&self.pool, &ticket.to_string()).await })
    }

    fn save<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        record: PendingLogin,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(async move {
            let key = ticket.to_string();
            let user = record.user().as_str();
            let expires_at = record.expires_at();
            let columns: &Params<'_> = &[&user, &expires_at];
            PENDING_LOGINS
                .save(&self.pool, &key, columns, &record, expected)
                .await
        })
    }

    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        StoreFuture::new(async move {
            PENDING_LOGINS
                .remove(&self.pool, &ticket.to_string(), expected)
                .await
        })
    }
}

impl PendingLoginStore for PostgresPendingLoginStore {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        StoreFuture::new(purge_expired(&self.pool, now))
    }
}

const GRANTS: Table = Table {
    load: "SELECT version, record FROM twofa_trust_grants WHERE user_id = $1",
    insert: "INSERT INTO twofa_trust_grants (user_id, version, record) \
         VALUES ($1, 1, $2) ON CONFLICT (user_id) DO NOTHING RETURNING version",
    update: "UPDATE twofa_trust_grants SET record = $3, version = version + 1 \
         WHERE user_id = $1 AND version = $2 RETURNING version",
    remove: "DELETE FROM twofa_trust_grants WHERE user_id = $1 AND version = $2",
};

impl VersionedStore<UserId, TrustGrantRecord> for PostgresTrustGrantStore {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<Option<Versioned<TrustGrantRecord>>, StoreError>> {
        StoreFuture::new(GRANTS.load(&self.pool, user.as_str()))
    }

    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: TrustGrantRecord,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(async move {
            GRANTS
                .save(&self.pool, user.as_str(), &[], &record, expected)
                .await
        })
    }

    fn remove<'a>(
        &'a self,
        user: &'a UserId,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        StoreFuture::new(async move { GRANTS.remove(&self.pool, user.as_str(), expected).await })
    }
}

const AUDIT_APPEND: &str = "INSERT INTO twofa_audit_log (at, company_id, user_id, entry) \
     VALUES ($1, $2, $3, $4)";
const AUDIT_READ: &str = "SELECT entry FROM twofa_audit_log ORDER BY seq OFFSET $1 LIMIT $2";
const AUDIT_PURGE: &str = "DELETE FROM twofa_audit_log WHERE at < $1";

impl AuditLog for PostgresAuditLog {
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>> {
        StoreFuture::new(async move {
            let at = entry.at();
            let company = entry.company().map(CompanyId::as_str);
            let user = entry.user().map(UserId::as_str);
            let json = as_json(&entry);
            execute(&self.pool, AUDIT_APPEND, &[&at, &company, &user, &json])
                .await
                .map(drop)
        })
    }

    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        StoreFuture::new(async move {
            // Past i64::MAX rows there is nothing to skip to or read.
            let skip = i64::try_from(skip).unwrap_or(i64::MAX);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            query(&self.pool, AUDIT_READ, &[&skip, &limit])
                .await?
                .iter()
                .map(|row| {
                    row.try_get::<_, Json<AuditEntry>>("entry")
                        .map(|Json(entry)| entry)
                        .map_err(corrupt)
                })
                .collect()
        })
    }

    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>> {
        // One statement on the block range index of `at` (migration 6); the
        // append-only trigger refuses updates, not this deletion.
        StoreFuture::new(async move { execute(&self.pool, AUDIT_PURGE, &[&cutoff]).await })
    }
}

store_handle! {
    /// [`UnitOfWork`] on the same tables: loading a login is one query, and
    /// a login commit one statement, all or nothing; each one round trip.
    ///
    /// # Security
    ///
    /// It reads and writes the tables of its own pool: use it only with the
    /// stores of the same database, as
    /// [`PostgresStores::stores`](crate::PostgresStores::stores) does.
    PostgresUnitOfWork
}

/// The pending login of `$1`, the user `$2` and the company the pending
/// login names, as one row whatever is missing (a missing record's columns
/// are null).
const LOAD_LOGIN: &str = "SELECT \
         c.version AS pending_version, c.record AS pending_record, \
         u.version AS user_version, u.record AS user_record, \
         co.version AS company_version, co.record AS company_record \
     FROM (VALUES (1)) AS one (n) \
     LEFT JOIN twofa_challenges AS c ON c.ticket = $1 \
     LEFT JOIN twofa_users AS u ON u.user_id = $2 \
     LEFT JOIN twofa_companies AS co \
         ON co.company_id = (c.record ->> 'company') COLLATE \"C\"";

/// The writes that complete a login, as one statement (one implicit
/// transaction): lock the pending login `$5` at version `$6` if the company
/// `$13` (when given) is at version `$14`, then save the user `$1` at
/// version `$2`, then the pending login, then append the audit entries
/// (`$9`–`$12`, one array per column), each step only if the one before it
/// touched its row. `committed` is false, and nothing was written, when a
/// version was stale or a record missing; otherwise `user_version` is the
/// user's new version.
///
/// Why the lock comes first: once the user's record is saved (the code is
/// used up), the pending login's save must not miss, or half the unit
/// would be written. `FOR UPDATE` re-reads the newest version of the row
/// and re-checks its version, and holds it until the statement commits, so
/// the pending login's save finds the row it locked. Every commit locks the
/// pending login before the user, and every other statement of the store
/// touches a single row, so commits cannot deadlock.
const COMMIT_LOGIN: &str = "WITH locked AS ( \
         SELECT 1 FROM twofa_challenges WHERE ticket = $5 AND version = $6 \
         AND ($13::text IS NULL OR EXISTS ( \
             SELECT 1 FROM twofa_companies WHERE company_id = $13 AND version = $14 \
         )) \
         FOR UPDATE \
     ), saved_user AS ( \
         UPDATE twofa_users SET company_id = $3, record = $4, version = version + 1 \
         WHERE user_id = $1 AND version = $2 AND EXISTS (SELECT 1 FROM locked) \
         RETURNING version \
     ), saved_login AS ( \
         UPDATE twofa_challenges \
         SET user_id = $1, expires_at = $7, record = $8, version = version + 1 \
         WHERE ticket = $5 AND version = $6 AND EXISTS (SELECT 1 FROM saved_user) \
         RETURNING 1 \
     ), audited AS ( \
         INSERT INTO twofa_audit_log (at, company_id, user_id, entry) \
         SELECT * FROM unnest($9::timestamptz[], $10::text[], $11::text[], $12::json[]) \
         WHERE EXISTS (SELECT 1 FROM saved_login) \
     ) \
     SELECT EXISTS (SELECT 1 FROM saved_login) AS committed, \
         (SELECT version FROM saved_user) AS user_version";

impl UnitOfWork for PostgresUnitOfWork {
    fn load_login<'a>(
        &'a self,
        _stores: &'a Stores,
        ticket: &'a LoginTicket,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<LoadedLogin, StoreError>> {
        StoreFuture::new(async move {
            let key = ticket.to_string();
            let row = query_opt(&self.pool, LOAD_LOGIN, &[&key, &user.as_str()])
                .await?
                .ok_or(StoreError::Corrupt)?;
            Ok(LoadedLogin::new(
                decode_joined(&row, "pending_version", "pending_record")?,
                decode_joined(&row, "user_version", "user_record")?,
                decode_joined(&row, "company_version", "company_record")?,
            ))
        })
    }

    fn commit_login<'a>(
        &'a self,
        _stores: &'a Stores,
        commit: LoginCommit,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(async move {
            let user = commit.user.as_str();
            let user_version = version_to_column(commit.user_version)?;
            let company = commit.user_record.company().as_str();
            let user_record = as_json(&commit.user_record);
            let ticket = commit.ticket.to_string();
            let ticket_version = version_to_column(commit.pending_version)?;
            let expires_at = commit.pending.expires_at();
            let pending = as_json(&commit.pending);
            let audit_at: Vec<_> = commit.audit.iter().map(AuditEntry::at).collect();
            let audit_company: Vec<Option<&str>> = commit
                .audit
                .iter()
                .map(|entry| entry.company().map(CompanyId::as_str))
                .collect();
            let audit_user: Vec<Option<&str>> = commit
                .audit
                .iter()
                .map(|entry| entry.user().map(UserId::as_str))
                .collect();
            let audit_entry: Vec<Json<&AuditEntry>> = commit.audit.iter().map(as_json).collect();
            let company_check = commit
                .company
                .as_ref()
                .map(|(company, version)| (company.as_str(), version_to_column(*version)))
                .unzip();
            let (check_company, check_version): (Option<&str>, Option<i64>) =
                (company_check.0, company_check.1.transpose()?);
            let params: &Params<'_> = &[
                &user,
                &user_version,
                &company,
                &user_record,
                &ticket,
                &ticket_version,
                &expires_at,
                &pending,
                &audit_at,
                &audit_company,
                &audit_user,
                &audit_entry,
                &check_company,
                &check_version,
            ];
            let row = query_opt(&self.pool, COMMIT_LOGIN, params)
                .await?
                .ok_or(SaveError::Store(StoreError::Corrupt))?;
            if !row.try_get::<_, bool>("committed").map_err(corrupt)? {
                return Err(SaveError::Conflict);
            }
            let version: i64 = row.try_get("user_version").map_err(corrupt)?;
            Ok(u64::try_from(version).map(Version::new).map_err(corrupt)?)
        })
    }
}

const PURGE_EXPIRED: &str = "DELETE FROM twofa_challenges WHERE expires_at <= $1";

pub(crate) async fn purge_expired(pool: &Pool, now: DateTime<Utc>) -> Result<u64, StoreError> {
    execute(pool, PURGE_EXPIRED, &[&now]).await
}
