//! Store traits: small, object-safe, async, with versioned compare-and-swap.
//!
//! Every record is loaded as a [`Versioned`] value and saved with the version
//! it was loaded with. The save succeeds only if nobody saved in between;
//! otherwise it returns [`SaveError::Conflict`] and changes nothing. The
//! service then re-loads, re-evaluates and tries again, a bounded number of
//! times. This single rule is what keeps a one-time code single-use and a
//! failure count exact when several servers serve the same user at once: two
//! acceptances of one code would need two saves from the same version, and
//! only one of them can succeed.

use std::future::Future;
use std::pin::Pin;

use twofa_enforcement::{CompanyId, UserId};
use twofa_trusted_network::TrustGrantRecord;

use crate::records::{AuditEntry, CompanyRecord, LoginTicket, PendingLogin, UserRecord};
use crate::service::Stores;

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

/// Users: identity, company, account kind and the sealed enrollment.
///
/// `save(key, record, None)` inserts and fails with
/// [`SaveError::Conflict`] if the key exists; `save(key, record,
/// Some(version))` replaces only a record still at `version`.
#[expect(
    clippy::type_complexity,
    reason = "the boxed-future signature is spelled out: the public API has no type aliases"
)]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// Loads a user.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Versioned<UserRecord>>, StoreError>> + Send + 'a>>;

    /// Saves a user if its version is still `expected` (`None`: insert).
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the stored version differs; nothing is
    /// written.
    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: UserRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>>;

    /// Every user of a company, in user-id order.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Versioned<UserRecord>>, StoreError>> + Send + 'a>>;
}

/// Companies: enforcement settings, policy and trusted-network allowlist.
#[expect(
    clippy::type_complexity,
    reason = "the boxed-future signature is spelled out: the public API has no type aliases"
)]
pub trait CompanyStore: Send + Sync + std::fmt::Debug {
    /// Loads a company.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn load<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Pin<
        Box<dyn Future<Output = Result<Option<Versioned<CompanyRecord>>, StoreError>> + Send + 'a>,
    >;

    /// Saves a company if its version is still `expected` (`None`: insert).
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the stored version differs.
    fn save<'a>(
        &'a self,
        company: &'a CompanyId,
        record: CompanyRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>>;
}

/// Pending logins, keyed by their opaque ticket: the login's stage and its
/// out-of-band code challenge or push request.
#[expect(
    clippy::type_complexity,
    reason = "the boxed-future signature is spelled out: the public API has no type aliases"
)]
pub trait ChallengeStore: Send + Sync + std::fmt::Debug {
    /// Loads a pending login.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> Pin<
        Box<dyn Future<Output = Result<Option<Versioned<PendingLogin>>, StoreError>> + Send + 'a>,
    >;

    /// Saves a pending login if its version is still `expected` (`None`:
    /// insert).
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the stored version differs.
    fn save<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        record: PendingLogin,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>>;

    /// Removes a pending login if its version is still `expected`.
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the record is gone or at another
    /// version.
    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> Pin<Box<dyn Future<Output = Result<(), SaveError>> + Send + 'a>>;
}

/// Trusted-network grants, one per user.
#[expect(
    clippy::type_complexity,
    reason = "the boxed-future signature is spelled out: the public API has no type aliases"
)]
pub trait TrustGrantStore: Send + Sync + std::fmt::Debug {
    /// Loads a user's grant.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<Option<Versioned<TrustGrantRecord>>, StoreError>>
                + Send
                + 'a,
        >,
    >;

    /// Saves a user's grant if its version is still `expected` (`None`:
    /// insert).
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when the stored version differs.
    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: TrustGrantRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>>;
}

/// The append-only audit trail.
pub trait AuditLog: Send + Sync + std::fmt::Debug {
    /// Appends an entry after every entry appended before.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; the entry is then not recorded.
    fn append<'a>(
        &'a self,
        entry: AuditEntry,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

    /// Up to `limit` entries in append order, skipping the first `skip`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails.
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send + 'a>>;
}

/// The writes that complete a login after an accepted second factor,
/// committed together by [`UnitOfWork::commit_login`]: the user's record
/// saved at the version it was loaded at, the pending login saved (as
/// completed) at the version it was loaded at, and the audit entries that
/// record the acceptance.
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
        }
    }

    /// Appends `entry` to the audit entries of the unit.
    #[must_use]
    pub fn with_audit(mut self, entry: AuditEntry) -> Self {
        self.audit.push(entry);
        self
    }
}

/// Commits the writes that complete a login as one unit.
///
/// The default [`commit_login`](UnitOfWork::commit_login) performs the
/// individual operations of the given [`Stores`] in the safe order: it
/// checks the pending login's version, saves the user's record (the
/// compare-and-swap that accepts the code), saves the pending login, then
/// appends the audit entries. A store whose records live in one database
/// overrides it with one transaction, so the unit is all or nothing even
/// when a request races it.
///
/// # Security
///
/// Whichever implementation runs, a code is accepted at most once: the
/// user's record is saved only at the version it was loaded at. An
/// implementation that writes through its own connection must only be put
/// in a [`Stores`] whose user store, challenge store and audit log are on
/// that same database.
pub trait UnitOfWork: Send + Sync + std::fmt::Debug {
    /// Saves the user's record at `commit.user_version`, the pending login
    /// at `commit.pending_version` and appends `commit.audit`.
    ///
    /// # Errors
    ///
    /// [`SaveError::Conflict`] when either record is no longer at its
    /// version (or is missing); an atomic implementation then writes
    /// nothing. [`SaveError::Store`] when a store fails; the login must be
    /// refused.
    fn commit_login<'a>(
        &'a self,
        stores: &'a Stores,
        commit: LoginCommit,
    ) -> Pin<Box<dyn Future<Output = Result<(), SaveError>> + Send + 'a>> {
        Box::pin(commit_in_order(stores, commit))
    }
}

/// The default unit of work: the individual store operations in the safe
/// order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InOrder;

impl UnitOfWork for InOrder {}

async fn commit_in_order(stores: &Stores, commit: LoginCommit) -> Result<(), SaveError> {
    // Checked first so that a stale pending login changes nothing when no
    // other request races this one.
    match stores.challenges.load(&commit.ticket).await? {
        Some(stored) if stored.version == commit.pending_version => {}
        _ => return Err(SaveError::Conflict),
    }
    stores
        .users
        .save(&commit.user, commit.user_record, Some(commit.user_version))
        .await?;
    stores
        .challenges
        .save(&commit.ticket, commit.pending, Some(commit.pending_version))
        .await?;
    for entry in commit.audit {
        stores.audit.append(entry).await?;
    }
    Ok(())
}
