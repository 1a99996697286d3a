//! In-memory stores: one process, no persistence. For tests, the demo and
//! single-server deployments that accept losing state on restart.
//!
//! Each store is a map behind a `std::sync::Mutex`. Every operation takes
//! the lock, does its whole compare-and-swap and releases it before the
//! returned future is awaited by anyone, so no lock is ever held across an
//! `.await`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};

use twofa_enforcement::{CompanyId, UserId};
use twofa_trusted_network::TrustGrantRecord;

use crate::records::{AuditEntry, CompanyRecord, LoginTicket, PendingLogin, UserRecord};
use crate::store::{
    AuditLog, ChallengeStore, CompanyStore, SaveError, StoreError, TrustGrantStore, UserStore,
    Version, Versioned,
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
        // Every write below is a single `insert`/`remove`: a panic elsewhere
        // cannot leave a half-written entry, so a poisoned map is still sound.
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
        ready(self.map.save(company, record, expected))
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
