//! In-memory stores whose every call passes through a [`Tap`]: to count
//! the calls, or to make some of them fail.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use twofa::types::{CompanyId, UserId};
use twofa::{
    AuditEntry, AuditLog, LoadedLogin, LoginCommit, LoginTicket, PendingLoginStore, SaveError,
    StoreError, StoreFuture, Stores, UnitOfWork, UserRecord, UserStore, Version, Versioned,
    VersionedStore,
};

/// What happens to each store call on its way.
pub(crate) trait Tap: Send + Sync + fmt::Debug {
    /// A call that reads, or appends to the audit log.
    fn read<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, StoreError>>,
    ) -> StoreFuture<'a, Result<T, StoreError>>;

    /// A compare-and-swap save or removal, or a login commit.
    fn write<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, SaveError>>,
    ) -> StoreFuture<'a, Result<T, SaveError>>;
}

/// A store whose calls go through `tap` to `inner`.
#[derive(Debug)]
pub(crate) struct Tapped<S: ?Sized, H> {
    inner: Arc<S>,
    tap: Arc<H>,
}

impl<K, V, S, H> VersionedStore<K, V> for Tapped<S, H>
where
    K: Sync,
    V: Send + 'static,
    S: VersionedStore<K, V> + ?Sized,
    H: Tap,
{
    fn load<'a>(&'a self, key: &'a K) -> StoreFuture<'a, Result<Option<Versioned<V>>, StoreError>> {
        self.tap.read(self.inner.load(key))
    }
    fn save<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.tap.write(self.inner.save(key, record, expected))
    }
    fn remove<'a>(
        &'a self,
        key: &'a K,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        self.tap.write(self.inner.remove(key, expected))
    }
}

impl<S: UserStore + ?Sized, H: Tap> UserStore for Tapped<S, H> {
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        self.tap.read(self.inner.list_company(company))
    }
}

impl<S: PendingLoginStore + ?Sized, H: Tap> PendingLoginStore for Tapped<S, H> {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.tap.read(self.inner.purge_expired(now))
    }
}

impl<S: AuditLog + ?Sized, H: Tap> AuditLog for Tapped<S, H> {
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>> {
        self.tap.read(self.inner.append(entry))
    }
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        self.tap.read(self.inner.read(skip, limit))
    }
    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.tap.read(self.inner.purge_older_than(cutoff))
    }
}

impl<S: UnitOfWork + ?Sized, H: Tap> UnitOfWork for Tapped<S, H> {
    fn load_login<'a>(
        &'a self,
        stores: &'a Stores,
        ticket: &'a LoginTicket,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<LoadedLogin, StoreError>> {
        // The in-memory unit reads through `stores`, whose reads are tapped
        // one by one.
        self.inner.load_login(stores, ticket, user)
    }
    fn commit_login<'a>(
        &'a self,
        stores: &'a Stores,
        commit: LoginCommit,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.tap.write(self.inner.commit_login(stores, commit))
    }
}

/// Fresh in-memory stores, every call through `tap`; with `atomic`, logins
/// are committed by the in-memory unit of work (tapped too), otherwise by
/// the store operations in order.
pub(crate) fn tapped_stores<H: Tap + 'static>(tap: &Arc<H>, atomic: bool) -> Stores {
    fn wrap<S: ?Sized, H>(inner: &Arc<S>, tap: &Arc<H>) -> Arc<Tapped<S, H>> {
        Arc::new(Tapped {
            inner: inner.clone(),
            tap: tap.clone(),
        })
    }
    let inner = Stores::in_memory();
    let stores = Stores::new(
        wrap(inner.users(), tap),
        wrap(inner.companies(), tap),
        wrap(inner.pending_logins(), tap),
        wrap(inner.grants(), tap),
        wrap(inner.audit(), tap),
        inner.send_counters().clone(),
    );
    match atomic {
        true => stores.with_unit_of_work(wrap(inner.unit_of_work(), tap)),
        false => stores,
    }
}
