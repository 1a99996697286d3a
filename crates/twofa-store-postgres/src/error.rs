//! Errors of connecting and migrating, and the mapping of driver errors to
//! the facade's store errors.

use tokio_postgres::error::SqlState;
use twofa::StoreError;

/// A pool for the given URL could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection URL (or key-value string) could not be parsed. The
    /// text is not repeated here because it may hold a password.
    #[error("database url is not a valid postgresql connection string")]
    InvalidUrl,
    /// The pool could not be built from the configuration.
    #[error("connection pool could not be configured")]
    PoolConfig,
    /// The server could not be reached or refused the connection.
    #[error("database unavailable")]
    Unavailable,
}

/// The schema could not be brought up to date. The transaction that applies
/// migrations is rolled back, so the schema is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The server could not be reached or the connection broke.
    #[error("database unavailable")]
    Unavailable,
    /// The database was migrated by a newer release of this crate; this
    /// release does not know its schema and refuses to use it.
    #[error("database schema version {found} is newer than the newest known version {supported}")]
    SchemaTooNew {
        /// The version recorded in the database.
        found: u32,
        /// The newest version this release knows.
        supported: u32,
    },
    /// The server refused a migration statement (missing privilege, a
    /// conflicting object of the same name, ...).
    #[error("migration to schema version {version} was refused by the server")]
    Refused {
        /// The migration that failed (0: creating the bookkeeping table
        /// `twofa_schema_migrations`).
        version: u32,
    },
    /// The migration bookkeeping table holds a value this crate never writes.
    #[error("migration bookkeeping table is corrupt")]
    Corrupt,
}

/// A driver error as the facade sees it. Never carries the record or the
/// statement's parameters.
pub(crate) fn unavailable<E>(_error: E) -> StoreError {
    StoreError::Unavailable
}

/// The prefix of every message the schema's own guards raise (the
/// triggers of `migrations/0001_initial.sql`).
const GUARD_PREFIX: &str = "twofa:";

/// A statement's error as the facade sees it: a refusal by one of the
/// schema's guards (a company that would stop enforcing 2FA) is
/// [`StoreError::Refused`], so that the caller does not take a rule for an
/// outage and retry; anything else is [`StoreError::Unavailable`].
///
/// A guard raises with SQLSTATE `check_violation` (a `RAISE` without an
/// error code would be `raise_exception`) and a message starting with
/// `twofa:`; both must hold, so that neither another constraint nor a
/// function of the application's own is read as the store's rule.
pub(crate) fn from_driver(error: &tokio_postgres::Error) -> StoreError {
    let guarded = error.as_db_error().is_some_and(|db| {
        (*db.code() == SqlState::CHECK_VIOLATION || *db.code() == SqlState::RAISE_EXCEPTION)
            && db.message().starts_with(GUARD_PREFIX)
    });
    if guarded {
        StoreError::Refused
    } else {
        StoreError::Unavailable
    }
}

/// A row that does not decode into the expected record.
pub(crate) fn corrupt<E>(_error: E) -> StoreError {
    StoreError::Corrupt
}
