#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod counters;
mod error;
mod migrate;
mod stores;

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use twofa::{StoreError, Stores};

pub use counters::PostgresSendCounters;
pub use error::{ConnectError, MigrateError};
pub use migrate::Migrated;
pub use stores::{
    PostgresAuditLog, PostgresCompanyStore, PostgresPendingLoginStore, PostgresTrustGrantStore,
    PostgresUnitOfWork, PostgresUserStore,
};

/// The connection pool crate this store is built on, re-exported so that a
/// caller building its own [`Pool`] (for TLS, sizing or timeouts) uses the
/// same version. Its `tokio_postgres` re-export is the driver.
pub use deadpool_postgres;

/// How long a returned connection may take to be checked.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per pool when [`PostgresStores::connect`] is not told.
const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = match NonZeroUsize::new(16) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};

/// How long each store call may wait, at most: every call is bounded, so a
/// locked table, a full pool or a server that stopped answering turns into
/// [`StoreError::Unavailable`] (the facade's "temporarily unavailable, try
/// again") instead of a request that hangs.
///
/// The defaults: 16 connections; 5 s to open a connection; 2 s to wait for
/// a free pooled connection; 2 s to wait for a row or table lock; 5 s for a
/// whole statement. The server enforces the last two
/// (`lock_timeout`, `statement_timeout`, set for each connection the pool
/// opens), so a statement is stopped on the server too, not only
/// abandoned by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolOptions {
    max_connections: NonZeroUsize,
    connect_timeout: Duration,
    wait_timeout: Duration,
    lock_timeout: Duration,
    statement_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

impl PoolOptions {
    /// The defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Connections in the pool.
    #[must_use]
    pub fn with_max_connections(mut self, max: NonZeroUsize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long opening a connection may take.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a call waits for a free pooled connection.
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How long a statement waits for a lock (`lock_timeout`).
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How long a statement may run in all (`statement_timeout`).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }
}

/// A duration as PostgreSQL's setting in milliseconds: at least 1 (0 would
/// switch the timeout off), at most `i32::MAX`.
fn millis(timeout: Duration) -> u128 {
    timeout.as_millis().clamp(1, 2_147_483_647)
}

/// All five `twofa` stores on one PostgreSQL connection pool.
///
/// Cloning is cheap: clones share the pool. Several processes (servers
/// behind a load balancer) each open their own `PostgresStores` on the same
/// database and see one consistent state: every exactly-once rule of the
/// facade is a conditional statement executed by the database.
///
/// # Security
///
/// TLS is the pool's business: [`PostgresStores::connect`] connects without
/// TLS (for a server on the same host or a private network); build a
/// [`Pool`] with a TLS connector and pass it to
/// [`PostgresStores::from_pool`] otherwise. `Debug` shows pool counters,
/// never the connection configuration.
#[derive(Clone)]
pub struct PostgresStores {
    pool: Pool,
}

impl fmt::Debug for PostgresStores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStores")
            .field("max_connections", &status.max_size)
            .field("open_connections", &status.size)
            .field("idle_connections", &status.available)
            .finish_non_exhaustive()
    }
}

impl PostgresStores {
    /// Stores on a pool the caller built: with its TLS connector, size and
    /// timeouts. A pool without timeouts waits as long as the server takes.
    #[must_use]
    pub fn from_pool(pool: Pool) -> Self {
        Self { pool }
    }

    /// Connects without TLS to `url` (`postgresql://user:password@host/db`
    /// or `host=… user=…`) with a pool of up to 16 connections, and checks
    /// that the server answers.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] when `url` does not parse,
    /// [`ConnectError::Unavailable`] when no connection can be opened.
    ///
    /// # Security
    ///
    /// Without TLS, traffic (records with sealed secrets, hashed codes) is
    /// readable on the network path. Use it for a local socket or a trusted
    /// network; otherwise use [`PostgresStores::from_pool`] with a TLS pool.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, PoolOptions::default()).await
    }

    /// [`PostgresStores::connect`] with a pool of up to `max_connections`.
    ///
    /// # Errors
    ///
    /// As [`PostgresStores::connect`].
    pub async fn connect_with_max_connections(
        url: &str,
        max_connections: NonZeroUsize,
    ) -> Result<Self, ConnectError> {
        Self::connect_with(
            url,
            PoolOptions::default().with_max_connections(max_connections),
        )
        .await
    }

    /// [`PostgresStores::connect`] with the pool size and the timeouts of
    /// `options`.
    ///
    /// # Errors
    ///
    /// As [`PostgresStores::connect`].
    pub async fn connect_with(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|_| ConnectError::InvalidUrl)?;
        // The server stops a statement that waits on a lock or runs too
        // long; settings given in the URL's own `options` come first and
        // are overridden.
        let settings = format!(
            "{} -c lock_timeout={} -c statement_timeout={}",
            config.get_options().unwrap_or(""),
            millis(options.lock_timeout),
            millis(options.statement_timeout),
        );
        config.options(settings.trim_start());
        let max_connections = options.max_connections;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection the server closed is noticed by the driver and
                // dropped on return; checking each one with a query would
                // add a round trip to every operation.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.get())
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .wait_timeout(Some(options.wait_timeout))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .build()
            .map_err(|_| ConnectError::PoolConfig)?;
        drop(pool.get().await.map_err(|_| ConnectError::Unavailable)?);
        Ok(Self { pool })
    }

    /// Creates or upgrades the schema to the newest version this release
    /// knows. Idempotent, and safe when several servers call it at once:
    /// they take turns on an advisory lock and the later ones find nothing
    /// to do. Call it at start-up, before serving.
    ///
    /// # Errors
    ///
    /// [`MigrateError`]; the schema is then left as it was.
    pub async fn migrate(&self) -> Result<Migrated, MigrateError> {
        migrate::migrate(&self.pool).await
    }

    /// The pool, for the application's own health checks or metrics.
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The user store.
    #[must_use]
    pub fn users(&self) -> PostgresUserStore {
        PostgresUserStore::new(self.pool.clone())
    }

    /// The company store.
    #[must_use]
    pub fn companies(&self) -> PostgresCompanyStore {
        PostgresCompanyStore::new(self.pool.clone())
    }

    /// The store of logins in progress.
    #[must_use]
    pub fn pending_logins(&self) -> PostgresPendingLoginStore {
        PostgresPendingLoginStore::new(self.pool.clone())
    }

    /// The trusted-network grant store.
    #[must_use]
    pub fn trust_grants(&self) -> PostgresTrustGrantStore {
        PostgresTrustGrantStore::new(self.pool.clone())
    }

    /// The audit log.
    #[must_use]
    pub fn audit_log(&self) -> PostgresAuditLog {
        PostgresAuditLog::new(self.pool.clone())
    }

    /// The unit of work that completes a login in one statement.
    #[must_use]
    pub fn unit_of_work(&self) -> PostgresUnitOfWork {
        PostgresUnitOfWork::new(self.pool.clone())
    }

    /// The send-budget counters, shared by every server on the database.
    #[must_use]
    pub fn send_counters(&self) -> PostgresSendCounters {
        PostgresSendCounters::new(self.pool.clone())
    }

    /// The six stores as the facade's builder takes them, with the login
    /// commit as one statement ([`PostgresStores::unit_of_work`]).
    #[must_use]
    pub fn stores(&self) -> Stores {
        Stores::new(
            Arc::new(self.users()),
            Arc::new(self.companies()),
            Arc::new(self.pending_logins()),
            Arc::new(self.trust_grants()),
            Arc::new(self.audit_log()),
            Arc::new(self.send_counters()),
        )
        .with_unit_of_work(Arc::new(self.unit_of_work()))
    }

    /// Deletes the logins in progress whose ticket expired at or before
    /// `now`, and returns how many; then the send-budget counters whose
    /// window ended at or before `now`. The facade refuses an expired
    /// ticket and an ended window counts nothing anyway; this only keeps
    /// the tables small. Run it now and then from any one server.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the database fails; nothing is
    /// deleted then.
    pub async fn purge_expired_logins(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let logins = stores::purge_expired(&self.pool, now).await?;
        counters::purge_expired(&self.pool, now).await?;
        Ok(logins)
    }
}
