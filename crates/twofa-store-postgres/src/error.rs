//! Errors of connecting and migrating, and the mapping of driver errors to
//! the facade's store errors.

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

/// A row that does not decode into the expected record.
pub(crate) fn corrupt<E>(_error: E) -> StoreError {
    StoreError::Corrupt
}
