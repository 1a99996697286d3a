//! Store traits: small, object-safe, async, with versioned compare-and-swap,
//! and [`Stores`], the bundle of them the service works with.
//!
//! Every record is loaded as a [`Versioned`] value and saved with the version
//! it was loaded with. The save succeeds only if nobody saved in between;
//! otherwise it returns [`SaveError::Conflict`] and changes nothing. The
//! service then re-loads, re-evaluates and tries again, a bounded number of
//! times. This single rule is what keeps a one-time code single-use and a
//! failure count exact when several servers serve the same user at once: two
//! acceptances of one code would need two saves from the same version, and
//! only one of them can succeed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use twofa_trusted_network::TrustGrantRecord;
use twofa_types::{CompanyId, UserId};

use crate::budget::SendCounterStore;
use crate::join::join;
use crate::records::{AuditEntry, CompanyRecord, LoginTicket, PendingLogin, UserRecord};

/// The version of a stored record. A store gives a new record version 1 and
/// increments it on every successful save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Version(u64);

impl Version {
    /// The version of a record just inserted.
    pub const FIRST: Self = Self(1);

    /// A version as a store keeps it.
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after this one, saturating (a record is not saved
    /// 2^64 times).
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

/// A record with the version it was loaded at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The record.
    pub record: T,
    /// Its version; pass it back to `save`.
    pub version: Version,
}

/// A store could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer or refused the operation.
    #[error("store unavailable")]
    Unavailable,
    /// A stored record could not be decoded (or unsealed).
    #[error("stored record is corrupt")]
    Corrupt,
    /// The store refused a record that breaks a rule every store keeps
    /// (a company record that would turn enforcement off). Nothing changed.
    #[error("store refused the record")]
    Refused,
}

/// Why a compare-and-swap save did not happen. Either way nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The record changed (or appeared, or disappeared) since it was loaded.
    #[error("record changed since it was loaded")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store operation in flight: a boxed future, `Send` so that a store can
/// be used from any thread of a multi-threaded runtime.
///
/// Store traits return it instead of `impl Future` so that they stay
/// object-safe: the service holds every store as an `Arc<dyn …>`, chosen at
/// run time. It is not `Sync`: a future is polled through a unique
/// reference, and requiring `Sync` would refuse the futures of most
/// database drivers.
#[must_use = "a store operation does nothing unless it is awaited"]
pub struct StoreFuture<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<'a, T> StoreFuture<'a, T> {
    /// Boxes `future`.
    pub fn new(future: impl Future<Output = T> + Send + 'a) -> Self {
        Self(Box::pin(future))
    }

    /// An operation that is already done, for stores that answer without
    /// waiting (in memory, or a refusal decided before any I/O).
    pub fn ready(value: T) -> Self
    where
        T: Send + 'a,
    {
        Self::new(std::future::ready(value))
    }
}

impl<T> Future for StoreFuture<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for StoreFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreFuture").finish_non_exhaustive()
    }
}

/// A map from keys `K` to records `V`, each saved with compare-and-swap on
/// its [`Version`]: the contract every keyed store keeps (users, companies,
/// pending logins, trust grants).
///
/// - `load(key)` returns the record and its version, or `None` when there
///   is none.
/// - `save(key, record, None)` inserts, and fails with
///   [`SaveError::Conflict`] if the key exists.
/// - `save(key, record, Some(version))` replaces only a record still at
///   `version`, and fails with [`SaveError::Conflict`] if the record is at
///   another version or missing.
/// - `remove(key, version)` removes only a record still at `version`.
/// - A save that fails changes nothing; a save that succeeds returns the
///   new version ([`Version::FIRST`] for an insert, a different one for
///   every later save).
///
/// A store may refuse a record that breaks a rule every store keeps with
/// [`StoreError::Refused`]: a company record that would turn enforcement
/// off is refused by every company store, and so is the removal of a
/// company that enforces 2FA.
pub trait VersionedStore<K, V>: Send + Sync + fmt::Debug {
    /// Loads the record of `key`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn load<'a>(&'a self, key: &'a K) -> StoreFuture<'a, Result<Option<Versioned<V>>, StoreError>>;

    /// Saves `record` under `key` if its version is still `expected`
    /// (`None`: insert).
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the stored version differs;
    /// [`SaveError::Store`] when the store fails or refuses the record.
    /// Nothing is written either way.
    fn save<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>>;

    /// Removes the record of `key` if its version is still `expected`.
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the record is gone or at another
    /// version; [`SaveError::Store`] when the store fails or refuses (a
    /// company that enforces 2FA is never removed:
    /// [`StoreError::Refused`]). Nothing is removed either way.
    fn remove<'a>(
        &'a self,
        key: &'a K,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>>;
}

/// Users: identity, company, account kind and the sealed enrollment, and
/// the list of a company's users.
pub trait UserStore: VersionedStore<UserId, UserRecord> {
    /// Every user of a company, in user-id order.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>>;
}

/// Pending logins, keyed by their opaque ticket: the login's stage and its
/// out-of-band code challenge or push request.
pub trait PendingLoginStore: VersionedStore<LoginTicket, PendingLogin> {
    /// Removes every pending login whose ticket expires at or before
    /// `now` ([`PendingLogin::expires_at`]), completed ones included, and
    /// returns how many it removed. A ticket is refused from its expiry
    /// instant on, so nothing removed here could still be used.
    ///
    /// A store that wraps another one passes it on.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; nothing is removed then.
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>>;
}

/// The append-only audit trail.
pub trait AuditLog: Send + Sync + fmt::Debug {
    /// Appends an entry after every entry appended before.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; the entry is then not recorded.
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>>;

    /// Up to `limit` entries in append order, skipping the first `skip`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>>;

    /// Removes every entry that happened strictly before `cutoff` (its
    /// [`AuditEntry::at`]) and returns how many; the rest keep their order.
    /// The only removal the log allows: retention, never a rewrite.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; nothing is removed then.
    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>>;
}

/// The six stores the service works with.
#[derive(Debug, Clone)]
pub struct Stores {
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) companies: Arc<dyn VersionedStore<CompanyId, CompanyRecord>>,
    pub(crate) pending_logins: Arc<dyn PendingLoginStore>,
    pub(crate) grants: Arc<dyn VersionedStore<UserId, TrustGrantRecord>>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) counters: Arc<dyn SendCounterStore>,
    pub(crate) unit: Arc<dyn UnitOfWork>,
}

impl Stores {
    /// The given stores. Logins are completed by the individual store
    /// operations in order (see [`UnitOfWork`]); give stores that can do it
    /// as one unit theirs with [`Stores::with_unit_of_work`] (for in-memory
    /// stores, [`InMemoryUnitOfWork`](crate::memory::InMemoryUnitOfWork)).
    ///
    /// # Security
    ///
    /// `counters` holds the send budgets: give every server the same one
    /// (the database's, like the other stores), or each server gets its
    /// own budget and the limits multiply by the number of servers.
    #[must_use]
    pub fn new(
        users: Arc<dyn UserStore>,
        companies: Arc<dyn VersionedStore<CompanyId, CompanyRecord>>,
        pending_logins: Arc<dyn PendingLoginStore>,
        grants: Arc<dyn VersionedStore<UserId, TrustGrantRecord>>,
        audit: Arc<dyn AuditLog>,
        counters: Arc<dyn SendCounterStore>,
    ) -> Self {
        Self {
            users,
            companies,
            pending_logins,
            grants,
            audit,
            counters,
            unit: Arc::new(InOrder),
        }
    }

    /// Commits the writes that complete a login with `unit` instead of
    /// the individual operations in order (see [`UnitOfWork`]).
    ///
    /// # Security
    ///
    /// `unit` must write to the same records as these stores.
    #[must_use]
    pub fn with_unit_of_work(mut self, unit: Arc<dyn UnitOfWork>) -> Self {
        self.unit = unit;
        self
    }

    /// The user store (the application provisions users here).
    #[must_use]
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    /// The company store (the application provisions companies here).
    #[must_use]
    pub fn companies(&self) -> &Arc<dyn VersionedStore<CompanyId, CompanyRecord>> {
        &self.companies
    }

    /// The pending-login store.
    #[must_use]
    pub fn pending_logins(&self) -> &Arc<dyn PendingLoginStore> {
        &self.pending_logins
    }

    /// The trust-grant store.
    #[must_use]
    pub fn grants(&self) -> &Arc<dyn VersionedStore<UserId, TrustGrantRecord>> {
        &self.grants
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> &Arc<dyn AuditLog> {
        &self.audit
    }

    /// The counters of the send budget.
    #[must_use]
    pub fn send_counters(&self) -> &Arc<dyn SendCounterStore> {
        &self.counters
    }

    /// The unit of work that completes a login.
    #[must_use]
    pub fn unit_of_work(&self) -> &Arc<dyn UnitOfWork> {
        &self.unit
    }
}

/// The writes that complete a login after an accepted second factor,
/// committed together by [`UnitOfWork::commit_login`]: the user's record
/// saved at the version it was loaded at, the pending login saved (as
/// completed) at the version it was loaded at, and the audit entries that
/// record the acceptance; all only if the company whose policy decided is
/// still at the version it was read at.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginCommit {
    /// The user whose record is saved.
    pub user: UserId,
    /// The user's new record.
    pub user_record: UserRecord,
    /// The version the user's record was loaded at.
    pub user_version: Version,
    /// The login's ticket.
    pub ticket: LoginTicket,
    /// The pending login's new record.
    pub pending: PendingLogin,
    /// The version the pending login was loaded at.
    pub pending_version: Version,
    /// Entries appended to the audit trail, in this order.
    pub audit: Vec<AuditEntry>,
    /// The company whose policy decided, and the version it was read at:
    /// nothing is written if the company is at another version (or gone).
    /// `None`: not checked.
    pub company: Option<(CompanyId, Version)>,
}

impl LoginCommit {
    /// A unit saving `user_record` over version `user_version` and
    /// `pending` over version `pending_version`, with no audit entries.
    #[must_use]
    pub fn new(
        user: UserId,
        user_record: UserRecord,
        user_version: Version,
        ticket: LoginTicket,
        pending: PendingLogin,
        pending_version: Version,
    ) -> Self {
        Self {
            user,
            user_record,
            user_version,
            ticket,
            pending,
            pending_version,
            audit: Vec::new(),
            company: None,
        }
    }

    /// Commits only if `company` is still at `version`.
    #[must_use]
    pub fn with_company(mut self, company: CompanyId, version: Version) -> Self {
        self.company = Some((company, version));
        self
    }

    /// Appends `entry` to the audit entries of the unit.
    #[must_use]
    pub fn with_audit(mut self, entry: AuditEntry) -> Self {
        self.audit.push(entry);
        self
    }
}

/// What a code verification reads before it decides: the pending login of
/// the ticket, the user, and the company the pending login belongs to, each
/// with its version (`None`: not found). See [`UnitOfWork::load_login`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadedLogin {
    /// The pending login of the ticket.
    pub pending: Option<Versioned<PendingLogin>>,
    /// The user the login is for.
    pub user: Option<Versioned<UserRecord>>,
    /// The company named by the pending login (`None` also when there is
    /// no pending login).
    pub company: Option<Versioned<CompanyRecord>>,
}

impl LoadedLogin {
    /// The three records as read.
    #[must_use]
    pub fn new(
        pending: Option<Versioned<PendingLogin>>,
        user: Option<Versioned<UserRecord>>,
        company: Option<Versioned<CompanyRecord>>,
    ) -> Self {
        Self {
            pending,
            user,
            company,
        }
    }
}

/// Reads what a code verification needs and commits the writes that
/// complete a login as one unit.
///
/// The default [`load_login`](UnitOfWork::load_login) reads the pending
/// login and the user together, then the company the pending login names:
/// two round trips for a store on a server. A store whose records live in
/// one database overrides it with one query.
///
/// The default [`commit_login`](UnitOfWork::commit_login) performs the
/// individual operations of the given [`Stores`] in the safe order: it
/// checks the pending login's version, saves the user's record (the
/// compare-and-swap that accepts the code), saves the pending login, then
/// appends the audit entries. That order fails closed but is not all or
/// nothing: a request that changes the pending login between the check and
/// its save leaves the user's record saved (the code is used up) while the
/// login is not completed, and the user has to log in again. A store whose
/// records live in one place overrides it so that the unit is all or
/// nothing even when a request races it:
/// [`InMemoryUnitOfWork`](crate::memory::InMemoryUnitOfWork) for the
/// in-memory stores, one transaction for a database.
///
/// # Security
///
/// Whichever implementation runs, a code is accepted at most once: the
/// user's record is saved only at the version it was loaded at. An
/// implementation that reads or writes its own records must only be put in
/// a [`Stores`] whose user, company and pending-login stores and audit log hold
/// those same records.
pub trait UnitOfWork: Send + Sync + fmt::Debug {
    /// Loads the pending login of `ticket`, the record of `user` and the
    /// company the pending login names, each as it is at the moment of the
    /// read. Nothing is checked here: the flow checks what it loaded.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when a store fails.
    fn load_login<'a>(
        &'a self,
        stores: &'a Stores,
        ticket: &'a LoginTicket,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<LoadedLogin, StoreError>> {
        StoreFuture::new(load_login_in_turn(stores, ticket, user))
    }

    /// Saves the user's record at `commit.user_version`, the pending login
    /// at `commit.pending_version` and appends `commit.audit`, if the
    /// company of `commit.company` is at its version. Returns the user's
    /// record's new version.
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when either record is no longer at its
    /// version (or is missing), or the company is not; an atomic
    /// implementation then writes nothing. [`SaveError::Store`] when a
    /// store fails; the login must be refused.
    fn commit_login<'a>(
        &'a self,
        stores: &'a Stores,
        commit: LoginCommit,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::new(commit_in_order(stores, commit))
    }
}

/// The default unit of work: the individual store operations, in the safe
/// order (see [`UnitOfWork`] for what that does not guarantee).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InOrder;

impl UnitOfWork for InOrder {}

async fn load_login_in_turn(
    stores: &Stores,
    ticket: &LoginTicket,
    user: &UserId,
) -> Result<LoadedLogin, StoreError> {
    // The ticket and the user are independent reads: in flight together.
    // The company's id is in the pending login, so it comes after.
    let (pending, loaded) = join(stores.pending_logins.load(ticket), stores.users.load(user)).await;
    let pending = pending?;
    let loaded = loaded?;
    let company = match &pending {
        Some(pending) => stores.companies.load(pending.record.company()).await?,
        None => None,
    };
    Ok(LoadedLogin::new(pending, loaded, company))
}

async fn commit_in_order(stores: &Stores, commit: LoginCommit) -> Result<Version, SaveError> {
    // Checked first so that a stale pending login or company changes
    // nothing when no other request races this one.
    match stores.pending_logins.load(&commit.ticket).await? {
        Some(stored) if stored.version == commit.pending_version => {}
        _ => return Err(SaveError::Conflict),
    }
    if let Some((company, version)) = &commit.company {
        match stores.companies.load(company).await? {
            Some(stored) if stored.version == *version => {}
            _ => return Err(SaveError::Conflict),
        }
    }
    let saved = stores
        .users
        .save(&commit.user, commit.user_record, Some(commit.user_version))
        .await?;
    stores
        .pending_logins
        .save(&commit.ticket, commit.pending, Some(commit.pending_version))
        .await?;
    for entry in commit.audit {
        stores.audit.append(entry).await?;
    }
    Ok(saved)
}
