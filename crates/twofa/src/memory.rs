//! In-memory stores: one process, no persistence. For tests, the demo and
//! single-server deployments that accept losing state on restart.
//!
//! Each store is a map behind a `std::sync::Mutex`. Every operation takes
//! the lock, does its whole compare-and-swap and releases it before the
//! returned future is awaited by anyone, so no lock is ever held across an
//! `.await`. Only [`InMemoryUnitOfWork`] holds more than one lock at a
//! time, always in the same order (users, pending logins, audit log), so
//! no two operations can wait on each other.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use twofa_trusted_network::TrustGrantRecord;
use twofa_types::{CompanyId, UserId};

use twofa_delivery::{BudgetDecision, Charges, CounterKey};

use crate::budget::SendCounterStore;
use crate::records::{AuditEntry, CompanyRecord, LoginTicket, PendingLogin, UserRecord};
use crate::store::{
    AuditLog, LoginCommit, PendingLoginStore, SaveError, StoreError, StoreFuture, Stores,
    UnitOfWork, UserStore, Version, Versioned, VersionedStore,
};

/// A map of versioned records with compare-and-swap: the in-memory store
/// of every keyed record (users, companies, pending logins, trust grants).
///
/// It keeps the rules every store keeps on the records it holds: a company
/// record that would turn enforcement off is refused with
/// [`StoreError::Refused`].
///
/// ```
/// use twofa::memory::InMemoryStore;
/// use twofa::types::UserId;
/// use twofa::{UserRecord, UserStore};
///
/// let users: InMemoryStore<UserId, UserRecord> = InMemoryStore::new();
/// let users: &dyn UserStore = &users;
/// # let _ = users;
/// ```
#[derive(Debug)]
pub struct InMemoryStore<K, V> {
    entries: Mutex<BTreeMap<K, Versioned<V>>>,
}

impl<K, V> InMemoryStore<K, V> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<K, Versioned<V>>> {
        // Every write is a single `insert`/`remove`/`retain` (the unit of
        // work's writes follow its checks with nothing that can fail in
        // between): a panic elsewhere cannot leave a half-written entry, so a
        // poisoned map is still sound.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K, V> Default for InMemoryStore<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// The records an [`InMemoryStore`] holds: the facade's keyed records.
/// Sealed: each carries the rule on which record may replace it, and only
/// this crate knows the rules.
pub trait InMemoryRecord: sealed::Successor + Clone + Send + Sync + Debug {}

impl InMemoryRecord for UserRecord {}
impl InMemoryRecord for CompanyRecord {}
impl InMemoryRecord for PendingLogin {}
impl InMemoryRecord for TrustGrantRecord {}

mod sealed {
    use twofa_enforcement::CompanySettings;
    use twofa_trusted_network::TrustGrantRecord;

    use crate::records::{CompanyRecord, PendingLogin, UserRecord};

    /// Whether a record may replace the stored one.
    pub trait Successor {
        /// `true` unless a rule every store keeps refuses `self` as the
        /// successor of `stored`.
        fn may_replace(&self, _stored: &Self) -> bool {
            true
        }

        /// `true` unless a rule every store keeps refuses to remove `self`.
        fn may_remove(&self) -> bool {
            true
        }
    }

    impl Successor for UserRecord {}
    impl Successor for PendingLogin {}
    impl Successor for TrustGrantRecord {}

    impl Successor for CompanyRecord {
        // Enforcement is one-way: the enforcement crate decides whether a
        // record may follow the stored one.
        fn may_replace(&self, stored: &Self) -> bool {
            CompanySettings::accept_loaded(stored.settings(), self.settings().clone()).is_ok()
        }

        // Removing a company that enforces 2FA and adding it again would
        // turn enforcement off.
        fn may_remove(&self) -> bool {
            !self.settings().is_enforced()
        }
    }
}

impl<K, V> InMemoryStore<K, V>
where
    K: Ord + Clone,
    V: InMemoryRecord,
{
    fn save_now(
        &self,
        key: &K,
        record: V,
        expected: Option<Version>,
    ) -> Result<Version, SaveError> {
        let mut entries = self.lock();
        let current = entries.get(key);
        if current.map(|stored| stored.version) != expected {
            return Err(SaveError::Conflict);
        }
        if current.is_some_and(|stored| !record.may_replace(&stored.record)) {
            return Err(SaveError::Store(StoreError::Refused));
        }
        let version = expected.map_or(Version::FIRST, Version::next);
        entries.insert(key.clone(), Versioned { record, version });
        Ok(version)
    }

    fn remove_now(&self, key: &K, expected: Version) -> Result<(), SaveError> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(stored) if stored.version == expected => {
                if !stored.record.may_remove() {
                    return Err(SaveError::Store(StoreError::Refused));
                }
                entries.remove(key);
                Ok(())
            }
            _ => Err(SaveError::Conflict),
        }
    }
}

impl<K, V> VersionedStore<K, V> for InMemoryStore<K, V>
where
    K: Ord + Clone + Send + Sync + Debug,
    V: InMemoryRecord,
{
    fn load<'a>(&'a self, key: &'a K) -> StoreFuture<'a, Result<Option<Versioned<V>>, StoreError>> {
        StoreFuture::ready(Ok(self.lock().get(key).cloned()))
    }

    fn save<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::ready(self.save_now(key, record, expected))
    }

    fn remove<'a>(
        &'a self,
        key: &'a K,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        StoreFuture::ready(self.remove_now(key, expected))
    }
}

impl UserStore for InMemoryStore<UserId, UserRecord> {
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        // A `BTreeMap` iterates in key order: user-id order.
        let listed = self
            .lock()
            .values()
            .filter(|stored| stored.record.company() == company)
            .cloned()
            .collect();
        StoreFuture::ready(Ok(listed))
    }
}

impl PendingLoginStore for InMemoryStore<LoginTicket, PendingLogin> {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, stored| stored.record.expires_at() > now);
        let removed = u64::try_from(before.saturating_sub(entries.len())).unwrap_or(u64::MAX);
        StoreFuture::ready(Ok(removed))
    }
}

/// In-memory [`AuditLog`].
#[derive(Debug, Default)]
pub struct InMemoryAuditLog {
    entries: Mutex<Vec<AuditEntry>>,
}

impl InMemoryAuditLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<AuditEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AuditLog for InMemoryAuditLog {
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>> {
        self.lock().push(entry);
        StoreFuture::ready(Ok(()))
    }

    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        let entries = self.lock().iter().skip(skip).take(limit).cloned().collect();
        StoreFuture::ready(Ok(entries))
    }

    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>> {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|entry| entry.at() >= cutoff);
        let removed = u64::try_from(before.saturating_sub(entries.len())).unwrap_or(u64::MAX);
        StoreFuture::ready(Ok(removed))
    }
}

/// The [`UnitOfWork`] of the in-memory stores: a login commit is all or
/// nothing, also when requests race it.
///
/// It locks the users, then the pending logins, then the companies, checks
/// the three versions, and only if all are current saves both records and
/// appends the audit entries before it lets go: no other operation can come in between, and
/// a stale version writes nothing. [`Stores::in_memory`] uses it.
///
/// # Security
///
/// It writes to the stores it was made with and ignores the [`Stores`]
/// passed to [`commit_login`](UnitOfWork::commit_login): put it only in a
/// [`Stores`] built on those same four stores.
///
/// ```
/// use std::sync::Arc;
///
/// use twofa::memory::{
///     InMemoryAuditLog, InMemorySendCounters, InMemoryStore, InMemoryUnitOfWork,
/// };
/// use twofa::{CompanyRecord, LoginTicket, PendingLogin, Stores, UserRecord};
/// use twofa::types::{CompanyId, UserId};
///
/// let users = Arc::new(InMemoryStore::<UserId, UserRecord>::new());
/// let companies = Arc::new(InMemoryStore::<CompanyId, CompanyRecord>::new());
/// let pending_logins = Arc::new(InMemoryStore::<LoginTicket, PendingLogin>::new());
/// let audit = Arc::new(InMemoryAuditLog::new());
/// let unit = InMemoryUnitOfWork::new(
///     users.clone(),
///     companies.clone(),
///     pending_logins.clone(),
///     audit.clone(),
/// );
/// let stores = Stores::new(
///     users,
///     companies,
///     pending_logins,
///     Arc::new(InMemoryStore::new()),
///     audit,
///     Arc::new(InMemorySendCounters::new()),
/// )
/// .with_unit_of_work(Arc::new(unit));
/// # let _ = stores;
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryUnitOfWork {
    users: Arc<InMemoryStore<UserId, UserRecord>>,
    companies: Arc<InMemoryStore<CompanyId, CompanyRecord>>,
    pending_logins: Arc<InMemoryStore<LoginTicket, PendingLogin>>,
    audit: Arc<InMemoryAuditLog>,
}

impl InMemoryUnitOfWork {
    /// The unit of work over these stores.
    #[must_use]
    pub fn new(
        users: Arc<InMemoryStore<UserId, UserRecord>>,
        companies: Arc<InMemoryStore<CompanyId, CompanyRecord>>,
        pending_logins: Arc<InMemoryStore<LoginTicket, PendingLogin>>,
        audit: Arc<InMemoryAuditLog>,
    ) -> Self {
        Self {
            users,
            companies,
            pending_logins,
            audit,
        }
    }

    fn commit(&self, commit: LoginCommit) -> Result<Version, SaveError> {
        // The one place that holds several locks: always users, then
        // pending logins, then companies, then the audit log.
        let mut users = self.users.lock();
        let mut pending_logins = self.pending_logins.lock();
        let company_current = match &commit.company {
            Some((company, version)) => at_version(self.companies.lock().get(company), *version),
            None => true,
        };
        if !company_current
            || !at_version(users.get(&commit.user), commit.user_version)
            || !at_version(pending_logins.get(&commit.ticket), commit.pending_version)
        {
            return Err(SaveError::Conflict);
        }
        // Nothing below can fail: the three writes happen together.
        let mut audit = self.audit.lock();
        let version = commit.user_version.next();
        users.insert(
            commit.user,
            Versioned {
                record: commit.user_record,
                version,
            },
        );
        pending_logins.insert(
            commit.ticket,
            Versioned {
                record: commit.pending,
                version: commit.pending_version.next(),
            },
        );
        audit.extend(commit.audit);
        Ok(version)
    }
}

fn at_version<V>(stored: Option<&Versioned<V>>, expected: Version) -> bool {
    stored.is_some_and(|stored| stored.version == expected)
}

impl UnitOfWork for InMemoryUnitOfWork {
    fn commit_login<'a>(
        &'a self,
        _stores: &'a Stores,
        commit: LoginCommit,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        StoreFuture::ready(self.commit(commit))
    }
}

impl Stores {
    /// Fresh in-memory stores, completing logins with the atomic
    /// [`InMemoryUnitOfWork`].
    #[must_use]
    pub fn in_memory() -> Self {
        let users = Arc::new(InMemoryStore::new());
        let companies = Arc::new(InMemoryStore::<CompanyId, CompanyRecord>::new());
        let pending_logins = Arc::new(InMemoryStore::new());
        let audit = Arc::new(InMemoryAuditLog::new());
        let unit = InMemoryUnitOfWork::new(
            users.clone(),
            companies.clone(),
            pending_logins.clone(),
            audit.clone(),
        );
        Self::new(
            users,
            companies,
            pending_logins,
            Arc::new(InMemoryStore::<UserId, TrustGrantRecord>::new()),
            audit,
            Arc::new(InMemorySendCounters::new()),
        )
        .with_unit_of_work(Arc::new(unit))
    }
}

/// The send-budget counters of one process: a map behind one lock, so a
/// charge reads every count and adds to all of them, or to none, with
/// nothing in between.
///
/// # Security
///
/// One process only: servers that each keep their own counters each grant
/// the whole budget. Several servers share a database's counters.
#[derive(Debug, Default)]
pub struct InMemorySendCounters {
    counters: Mutex<HashMap<CounterKey, (u32, DateTime<Utc>)>>,
}

impl InMemorySendCounters {
    /// No counts.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CounterKey, (u32, DateTime<Utc>)>> {
        // A charge changes the map only after its decision, with inserts
        // that cannot fail: a poisoned map is still whole.
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn charge_now(&self, charges: &Charges, now: DateTime<Utc>) -> BudgetDecision {
        let mut counters = self.lock();
        let counts: Vec<u32> = charges
            .counters()
            .iter()
            .map(|counter| match counters.get(counter.key()) {
                Some((count, ends)) if *ends > now => *count,
                _ => 0,
            })
            .collect();
        let decision = charges.decide(&counts);
        if decision == BudgetDecision::Allowed {
            for (counter, count) in charges.counters().iter().zip(counts) {
                counters.insert(
                    counter.key().clone(),
                    (count.saturating_add(1), counter.window_end()),
                );
            }
        }
        decision
    }
}

impl SendCounterStore for InMemorySendCounters {
    fn charge<'a>(
        &'a self,
        charges: &'a Charges,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<BudgetDecision, StoreError>> {
        StoreFuture::ready(Ok(self.charge_now(charges, now)))
    }

    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        let mut counters = self.lock();
        let before = counters.len();
        counters.retain(|_, (_, ends)| *ends > now);
        let removed = before.saturating_sub(counters.len());
        StoreFuture::ready(Ok(u64::try_from(removed).unwrap_or(u64::MAX)))
    }
}
