//! The records of recent logins, kept by each server so that the usual
//! verification needs no read of the store: the pending login a
//! `begin_login` created, the user's record with its enrollment already
//! unsealed, and the company's record, each with the version it was read
//! or written at.
//!
//! The rule that keeps this safe: a cached record is only ever acted on
//! through a conditional write. An accepted answer is committed only if
//! the user's record, the pending login and the company are all still at
//! the cached versions, so a change made by any server since turns into a
//! conflict, and the answer is then evaluated again on records read from
//! the store. Every refusal is also decided again on records read from the
//! store: a stale cache can cost a read, never change an outcome.
//!
//! Bounded: each map holds at most its capacity and drops its oldest entry
//! to take a new one; a user's entry is used for at most [`MAX_AGE`] after
//! it was read or written (removing and re-creating a user restarts its
//! versions). A dropped enrollment zeroizes its secrets.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use twofa_enrollment::Enrollment;
use twofa_types::{CompanyId, UserId};

use crate::records::{CompanyRecord, LoginTicket, PendingLogin, UserRecord};
use crate::store::{Version, Versioned};

/// How long a cached user or company record may be used after it was read
/// or written.
pub(crate) const MAX_AGE: TimeDelta = TimeDelta::minutes(10);

/// Entries per map when the builder is not told.
pub(crate) const DEFAULT_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(capacity) => capacity,
    None => NonZeroUsize::MIN,
};

/// A user's record and its enrollment, unsealed.
#[derive(Debug, Clone)]
pub(crate) struct CachedUser {
    pub(crate) user: Arc<Versioned<UserRecord>>,
    pub(crate) enrollment: Arc<Enrollment>,
}

/// A map of at most `capacity` entries that forgets the one put longest ago
/// to take a new one.
#[derive(Debug)]
struct Bounded<K, V> {
    capacity: usize,
    inner: Mutex<Entries<K, V>>,
}

#[derive(Debug)]
struct Entries<K, V> {
    /// Each value with the instant it was cached and its place in `order`.
    map: HashMap<K, (V, DateTime<Utc>, u64)>,
    /// Keys in the order they were put, with the place they were put at; a
    /// key put again leaves its earlier place behind, skipped on eviction.
    order: VecDeque<(K, u64)>,
    next: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Bounded<K, V> {
    fn new(capacity: NonZeroUsize) -> Self {
        Self {
            capacity: capacity.get(),
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                order: VecDeque::new(),
                next: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        // Every change below leaves the map whole before it can panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value of `key` if it was cached after `since`.
    fn get(&self, key: &K, since: DateTime<Utc>) -> Option<V> {
        let entries = self.lock();
        let (value, at, _) = entries.map.get(key)?;
        (*at > since).then(|| value.clone())
    }

    /// Caches `value` under `key` at `now`, unless `keep` says the value
    /// cached now should stay.
    fn put(&self, key: K, value: V, now: DateTime<Utc>, keep: impl Fn(&V) -> bool) {
        let mut entries = self.lock();
        if entries
            .map
            .get(&key)
            .is_some_and(|(cached, _, _)| keep(cached))
        {
            return;
        }
        let place = entries.next;
        entries.next = entries.next.wrapping_add(1);
        entries.map.insert(key.clone(), (value, now, place));
        entries.order.push_back((key, place));
        while entries.map.len() > self.capacity
            || entries.order.len() > self.capacity.saturating_mul(2)
        {
            let Some((oldest, place)) = entries.order.pop_front() else {
                break;
            };
            if entries
                .map
                .get(&oldest)
                .is_some_and(|(_, _, put_at)| *put_at == place)
            {
                entries.map.remove(&oldest);
            }
        }
    }

    fn forget(&self, key: &K) {
        self.lock().map.remove(key);
    }
}

/// The records of recent logins on this server.
#[derive(Debug)]
pub(crate) struct LoginCache {
    users: Bounded<UserId, CachedUser>,
    companies: Bounded<CompanyId, Arc<Versioned<CompanyRecord>>>,
    pending: Bounded<LoginTicket, Versioned<PendingLogin>>,
}

/// A login's records as cached.
pub(crate) struct CachedLogin {
    pub(crate) pending: Versioned<PendingLogin>,
    pub(crate) user: CachedUser,
    pub(crate) company: Arc<Versioned<CompanyRecord>>,
}

impl LoginCache {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Self {
            users: Bounded::new(capacity),
            companies: Bounded::new(capacity),
            pending: Bounded::new(capacity),
        }
    }

    /// The pending login of `ticket`, the user and the pending login's
    /// company, if all three are cached (and young enough at `now`).
    pub(crate) fn login(
        &self,
        ticket: &LoginTicket,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Option<CachedLogin> {
        let since = now.checked_sub_signed(MAX_AGE)?;
        let pending = self.pending.get(ticket, DateTime::<Utc>::MIN_UTC)?;
        let cached = self.users.get(user, since)?;
        let company = self.companies.get(pending.record.company(), since)?;
        Some(CachedLogin {
            pending,
            user: cached,
            company,
        })
    }

    /// Caches a user's record at `version` with its enrollment, unless a
    /// later version is cached already.
    pub(crate) fn put_user(
        &self,
        user: Arc<Versioned<UserRecord>>,
        enrollment: Arc<Enrollment>,
        now: DateTime<Utc>,
    ) {
        let version = user.version;
        let key = user.record.user().clone();
        self.users.put(
            key,
            CachedUser { user, enrollment },
            now,
            |cached: &CachedUser| cached.user.version > version,
        );
    }

    pub(crate) fn put_company(&self, company: Arc<Versioned<CompanyRecord>>, now: DateTime<Utc>) {
        let version = company.version;
        let key = company.record.company().clone();
        self.companies
            .put(key, company, now, |cached| cached.version > version);
    }

    pub(crate) fn put_pending(
        &self,
        ticket: LoginTicket,
        pending: PendingLogin,
        version: Version,
        now: DateTime<Utc>,
    ) {
        let versioned = Versioned {
            record: pending,
            version,
        };
        self.pending
            .put(ticket, versioned, now, |cached| cached.version > version);
    }

    /// Forgets the pending login of `ticket` (completed, or found stale).
    pub(crate) fn forget_pending(&self, ticket: &LoginTicket) {
        self.pending.forget(ticket);
    }

    /// Forgets everything cached of a login found stale.
    pub(crate) fn forget(&self, ticket: &LoginTicket, user: &UserId, company: &CompanyId) {
        self.pending.forget(ticket);
        self.users.forget(user);
        self.companies.forget(company);
    }

    /// Forgets a user (removed).
    pub(crate) fn forget_user(&self, user: &UserId) {
        self.users.forget(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + second, 0).unwrap_or_default()
    }

    fn capacity(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
    }

    #[test]
    fn holds_at_most_its_capacity_and_drops_the_oldest() {
        let map = Bounded::<u32, u32>::new(capacity(2));
        map.put(1, 10, at(0), |_| false);
        map.put(2, 20, at(0), |_| false);
        map.put(3, 30, at(0), |_| false);
        assert_eq!(map.get(&1, at(-1)), None);
        assert_eq!(map.get(&2, at(-1)), Some(20));
        assert_eq!(map.get(&3, at(-1)), Some(30));
        assert_eq!(map.lock().map.len(), 2);
    }

    #[test]
    fn a_key_put_again_is_young_again_and_the_queue_stays_bounded() {
        let map = Bounded::<u32, u32>::new(capacity(2));
        map.put(1, 10, at(0), |_| false);
        map.put(2, 20, at(0), |_| false);
        for round in 0..100 {
            map.put(1, round, at(0), |_| false);
        }
        map.put(3, 30, at(0), |_| false);
        // 2 was put longest ago: it goes, 1 stays.
        assert_eq!(map.get(&1, at(-1)), Some(99));
        assert_eq!(map.get(&2, at(-1)), None);
        assert!(map.lock().order.len() <= 4);
    }

    #[test]
    fn an_entry_older_than_asked_is_not_returned() {
        let map = Bounded::<u32, u32>::new(capacity(2));
        map.put(1, 10, at(0), |_| false);
        assert_eq!(map.get(&1, at(0)), None);
        assert_eq!(map.get(&1, at(-1)), Some(10));
    }

    #[test]
    fn a_later_version_is_not_replaced_by_an_earlier_one() {
        let map = Bounded::<u32, u32>::new(capacity(2));
        map.put(1, 5, at(0), |_| false);
        map.put(1, 4, at(1), |cached| *cached > 4);
        assert_eq!(map.get(&1, at(-1)), Some(5));
        map.put(1, 6, at(1), |cached| *cached > 6);
        assert_eq!(map.get(&1, at(-1)), Some(6));
        map.forget(&1);
        assert_eq!(map.get(&1, at(-1)), None);
    }
}
