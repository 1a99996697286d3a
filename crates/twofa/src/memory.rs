//! In-memory stores: one process, no persistence. For tests, the demo and
//! single-server deployments that accept losing state on restart.
//!
//! Each store is a map behind a `std::sync::Mutex`. Every operation takes
//! the lock, does its whole compare-and-swap and releases it before the
//! returned future is awaited by anyone, so no lock is ever held across an
//! `.await`. Only [`InMemoryUnitOfWork`] holds more than one lock at a
//! time, always in the same order (users, pending logins, audit log), so
//! no two operations can wait on each other.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use twofa_enforcement::CompanySettings;
use twofa_trusted_network::TrustGrantRecord;
use twofa_types::{CompanyId, UserId};

use crate::records::{AuditEntry, CompanyRecord, LoginTicket, PendingLogin, UserRecord};
use crate::store::{
    AuditLog, ChallengeStore, CompanyStore, LoginCommit, SaveError, StoreError, Stores,
    TrustGrantStore, UnitOfWork, UserStore, Version, Versioned,
};

/// A map of versioned records with compare-and-swap.
#[derive(Debug)]
struct VersionedMap<K, V> {
    entries: Mutex<BTreeMap<K, Versioned<V>>>,
}

impl<K: Ord + Clone, V: Clone> VersionedMap<K, V> {
    fn new() -> Self {
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

    fn load(&self, key: &K) -> Option<Versioned<V>> {
        self.lock().get(key).cloned()
    }

    fn save(&self, key: &K, record: V, expected: Option<Version>) -> Result<Version, SaveError> {
        let mut entries = self.lock();
        let current = entries.get(key).map(|stored| stored.version);
        if current != expected {
            return Err(SaveError::Conflict);
        }
        let version = expected.map_or(Version::FIRST, Version::next);
        entries.insert(key.clone(), Versioned { record, version });
        Ok(version)
    }

    /// [`Self::save`], refused as [`StoreError::Refused`] when `accept`
    /// refuses the record as the successor of the stored one.
    fn save_if(
        &self,
        key: &K,
        record: V,
        expected: Option<Version>,
        accept: impl Fn(&V, &V) -> bool,
    ) -> Result<Version, SaveError> {
        let mut entries = self.lock();
        let current = entries.get(key);
        if current.map(|stored| stored.version) != expected {
            return Err(SaveError::Conflict);
        }
        if current.is_some_and(|stored| !accept(&stored.record, &record)) {
            return Err(SaveError::Store(StoreError::Refused));
        }
        let version = expected.map_or(Version::FIRST, Version::next);
        entries.insert(key.clone(), Versioned { record, version });
        Ok(version)
    }

    fn remove(&self, key: &K, expected: Version) -> Result<(), SaveError> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(stored) if stored.version == expected => {
                entries.remove(key);
                Ok(())
            }
            _ => Err(SaveError::Conflict),
        }
    }

    /// Removes the records `keep` refuses and returns how many.
    fn retain(&self, keep: impl Fn(&V) -> bool) -> u64 {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, stored| keep(&stored.record));
        u64::try_from(before.saturating_sub(entries.len())).unwrap_or(u64::MAX)
    }

    fn filter(&self, keep: impl Fn(&V) -> bool) -> Vec<Versioned<V>> {
        self.lock()
            .values()
            .filter(|stored| keep(&stored.record))
            .cloned()
            .collect()
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> Pin<Box<dyn Future<Output = T> + Send + 'a>> {
    Box::pin(std::future::ready(value))
}

/// In-memory [`UserStore`].
#[derive(Debug)]
pub struct InMemoryUserStore {
    map: VersionedMap<UserId, UserRecord>,
}

impl InMemoryUserStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            map: VersionedMap::new(),
        }
    }
}

impl Default for InMemoryUserStore {
    fn default() -> Self {
        Self::new()
    }
}

impl UserStore for InMemoryUserStore {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Versioned<UserRecord>>, StoreError>> + Send + 'a>>
    {
        ready(Ok(self.map.load(user)))
    }

    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: UserRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>> {
        ready(self.map.save(user, record, expected))
    }

    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Versioned<UserRecord>>, StoreError>> + Send + 'a>>
    {
        ready(Ok(self.map.filter(|record| record.company() == company)))
    }
}

/// In-memory [`CompanyStore`].
#[derive(Debug)]
pub struct InMemoryCompanyStore {
    map: VersionedMap<CompanyId, CompanyRecord>,
}

impl InMemoryCompanyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            map: VersionedMap::new(),
        }
    }
}

impl Default for InMemoryCompanyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl CompanyStore for InMemoryCompanyStore {
    fn load<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Pin<
        Box<dyn Future<Output = Result<Option<Versioned<CompanyRecord>>, StoreError>> + Send + 'a>,
    > {
        ready(Ok(self.map.load(company)))
    }

    fn save<'a>(
        &'a self,
        company: &'a CompanyId,
        record: CompanyRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>> {
        // Enforcement is one-way: the enforcement crate decides whether a
        // record may follow the stored one.
        ready(self.map.save_if(company, record, expected, |stored, next| {
            CompanySettings::accept_loaded(stored.settings(), next.settings().clone()).is_ok()
        }))
    }
}

/// In-memory [`ChallengeStore`].
#[derive(Debug)]
pub struct InMemoryChallengeStore {
    map: VersionedMap<LoginTicket, PendingLogin>,
}

impl InMemoryChallengeStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            map: VersionedMap::new(),
        }
    }
}

impl Default for InMemoryChallengeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ChallengeStore for InMemoryChallengeStore {
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> Pin<
        Box<dyn Future<Output = Result<Option<Versioned<PendingLogin>>, StoreError>> + Send + 'a>,
    > {
        ready(Ok(self.map.load(ticket)))
    }

    fn save<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        record: PendingLogin,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>> {
        ready(self.map.save(ticket, record, expected))
    }

    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> Pin<Box<dyn Future<Output = Result<(), SaveError>> + Send + 'a>> {
        ready(self.map.remove(ticket, expected))
    }

    fn purge_expired<'a>(
        &'a self,
        now: DateTime<Utc>,
    ) -> Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send + 'a>> {
        ready(Ok(self.map.retain(|pending| pending.expires_at() > now)))
    }
}

/// In-memory [`TrustGrantStore`].
#[derive(Debug)]
pub struct InMemoryTrustGrantStore {
    map: VersionedMap<UserId, TrustGrantRecord>,
}

impl InMemoryTrustGrantStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            map: VersionedMap::new(),
        }
    }
}

impl Default for InMemoryTrustGrantStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TrustGrantStore for InMemoryTrustGrantStore {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<Option<Versioned<TrustGrantRecord>>, StoreError>>
                + Send
                + 'a,
        >,
    > {
        ready(Ok(self.map.load(user)))
    }

    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: TrustGrantRecord,
        expected: Option<Version>,
    ) -> Pin<Box<dyn Future<Output = Result<Version, SaveError>> + Send + 'a>> {
        ready(self.map.save(user, record, expected))
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
    fn append<'a>(
        &'a self,
        entry: AuditEntry,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>> {
        self.lock().push(entry);
        ready(Ok(()))
    }

    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send + 'a>> {
        let entries = self.lock().iter().skip(skip).take(limit).cloned().collect();
        ready(Ok(entries))
    }
}

/// The [`UnitOfWork`] of the in-memory stores: a login commit is all or
/// nothing, also when requests race it.
///
/// It locks the users, then the pending logins, checks both versions, and
/// only if both are current saves both records and appends the audit
/// entries before it lets go: no other operation can come in between, and
/// a stale version writes nothing. [`Stores::in_memory`] uses it.
///
/// # Security
///
/// It writes to the stores it was made with and ignores the [`Stores`]
/// passed to [`commit_login`](UnitOfWork::commit_login): put it only in a
/// [`Stores`] built on those same three stores.
///
/// ```
/// use std::sync::Arc;
///
/// use twofa::Stores;
/// use twofa::memory::{
///     InMemoryAuditLog, InMemoryChallengeStore, InMemoryCompanyStore, InMemoryTrustGrantStore,
///     InMemoryUnitOfWork, InMemoryUserStore,
/// };
///
/// let users = Arc::new(InMemoryUserStore::new());
/// let challenges = Arc::new(InMemoryChallengeStore::new());
/// let audit = Arc::new(InMemoryAuditLog::new());
/// let unit = InMemoryUnitOfWork::new(users.clone(), challenges.clone(), audit.clone());
/// let stores = Stores::new(
///     users,
///     Arc::new(InMemoryCompanyStore::new()),
///     challenges,
///     Arc::new(InMemoryTrustGrantStore::new()),
///     audit,
/// )
/// .with_unit_of_work(Arc::new(unit));
/// # let _ = stores;
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryUnitOfWork {
    users: Arc<InMemoryUserStore>,
    challenges: Arc<InMemoryChallengeStore>,
    audit: Arc<InMemoryAuditLog>,
}

impl InMemoryUnitOfWork {
    /// The unit of work over these stores.
    #[must_use]
    pub fn new(
        users: Arc<InMemoryUserStore>,
        challenges: Arc<InMemoryChallengeStore>,
        audit: Arc<InMemoryAuditLog>,
    ) -> Self {
        Self {
            users,
            challenges,
            audit,
        }
    }

    fn commit(&self, commit: LoginCommit) -> Result<(), SaveError> {
        // The one place that holds several locks: always users, then
        // pending logins, then the audit log.
        let mut users = self.users.map.lock();
        let mut challenges = self.challenges.map.lock();
        if !at_version(users.get(&commit.user), commit.user_version)
            || !at_version(challenges.get(&commit.ticket), commit.pending_version)
        {
            return Err(SaveError::Conflict);
        }
        // Nothing below can fail: the three writes happen together.
        let mut audit = self.audit.lock();
        users.insert(
            commit.user,
            Versioned {
                record: commit.user_record,
                version: commit.user_version.next(),
            },
        );
        challenges.insert(
            commit.ticket,
            Versioned {
                record: commit.pending,
                version: commit.pending_version.next(),
            },
        );
        audit.extend(commit.audit);
        Ok(())
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
    ) -> Pin<Box<dyn Future<Output = Result<(), SaveError>> + Send + 'a>> {
        ready(self.commit(commit))
    }
}

impl Stores {
    /// Fresh in-memory stores, completing logins with the atomic
    /// [`InMemoryUnitOfWork`].
    #[must_use]
    pub fn in_memory() -> Self {
        let users = Arc::new(InMemoryUserStore::new());
        let challenges = Arc::new(InMemoryChallengeStore::new());
        let audit = Arc::new(InMemoryAuditLog::new());
        let unit = InMemoryUnitOfWork::new(users.clone(), challenges.clone(), audit.clone());
        Self::new(
            users,
            Arc::new(InMemoryCompanyStore::new()),
            challenges,
            Arc::new(InMemoryTrustGrantStore::new()),
            audit,
        )
        .with_unit_of_work(Arc::new(unit))
    }
}
