//! The pending-login store: compare-and-swap, removal and purging.

use chrono::TimeDelta;
use twofa_types::{CompanyId, MethodSet, UserId};

use super::{ConformanceFailure, RACERS, cas_contract, check, instant};
use crate::records::{LoginStage, LoginTicket, PendingLogin};
use crate::store::{PendingLoginStore, SaveError, Version};

/// Checks a [`PendingLoginStore`]: compare-and-swap, removal and purging.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn pending_login_store(store: &dyn PendingLoginStore) -> Result<(), ConformanceFailure> {
    let ticket: LoginTicket = "000102030405060708090a0b0c0d0e0f"
        .parse()
        .map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let other: LoginTicket = "f0e0d0c0b0a090807060504030201000"
        .parse()
        .map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let user = UserId::new("u-ada").map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let company =
        CompanyId::new("c-acme").map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let samples: Vec<PendingLogin> = (0..RACERS.saturating_add(2))
        .map(|n| {
            let start = instant(i64::try_from(n).unwrap_or(0));
            PendingLogin::new(
                user.clone(),
                company.clone(),
                start,
                start + TimeDelta::minutes(15),
                None,
                LoginStage::SetUp {
                    methods: MethodSet::all(),
                    deferral_until: (n % 2 == 0).then(|| start + TimeDelta::hours(48)),
                },
            )
        })
        .collect();
    cas_contract(store, &ticket, &other, &samples).await?;

    let current = store
        .load(&ticket)
        .await
        .ok()
        .flatten()
        .ok_or(ConformanceFailure {
            rule: "operations on a healthy store succeed",
        })?;
    let stale = Version::new(current.version.get().wrapping_add(1000));
    check(
        store.remove(&ticket, stale).await == Err(SaveError::Conflict),
        "removing at a stale version is a conflict and keeps the record",
    )?;
    check(
        store.load(&ticket).await.ok().flatten().is_some(),
        "removing at a stale version is a conflict and keeps the record",
    )?;
    check(
        store.remove(&ticket, current.version).await.is_ok(),
        "removing at the loaded version succeeds",
    )?;
    check(
        matches!(store.load(&ticket).await, Ok(None)),
        "a removed record loads as none",
    )?;
    check(
        store.remove(&ticket, current.version).await == Err(SaveError::Conflict),
        "removing a missing record is a conflict",
    )?;
    purge_contract(store, &user, &company).await
}

/// Purging expired pending logins, at the exact second of expiry and one
/// second either side. Runs on an empty store.
async fn purge_contract(
    store: &dyn PendingLoginStore,
    user: &UserId,
    company: &CompanyId,
) -> Result<(), ConformanceFailure> {
    let purge = |now| async move {
        store
            .purge_expired(now)
            .await
            .map_err(|_| ConformanceFailure {
                rule: "purging a healthy store succeeds",
            })
    };
    let second = TimeDelta::seconds(1);
    let expiry = instant(900);
    // One login expiring at `expiry`, one a second later, and one already
    // completed that expires at `expiry` too: a used ticket goes as well.
    let logins = [
        ("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", expiry, false),
        ("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf", expiry + second, false),
        ("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", expiry, true),
    ];
    let mut tickets = Vec::new();
    for (text, expires_at, completed) in logins {
        let ticket: LoginTicket = text
            .parse()
            .map_err(|_| ConformanceFailure { rule: "sample ids" })?;
        let stage = if completed {
            LoginStage::Completed { at: instant(60) }
        } else {
            LoginStage::SetUp {
                methods: MethodSet::all(),
                deferral_until: None,
            }
        };
        let pending = PendingLogin::new(
            user.clone(),
            company.clone(),
            instant(0),
            expires_at,
            None,
            stage,
        );
        store
            .save(&ticket, pending, None)
            .await
            .map_err(|_| ConformanceFailure {
                rule: "inserting a new record succeeds",
            })?;
        tickets.push(ticket);
    }
    let [expiring, later, used] = tickets.as_slice() else {
        return Err(ConformanceFailure { rule: "sample ids" });
    };
    let present = |ticket| async move {
        store
            .load(ticket)
            .await
            .map(|loaded| loaded.is_some())
            .map_err(|_| ConformanceFailure {
                rule: "operations on a healthy store succeed",
            })
    };
    check(
        purge(expiry - second).await? == 0,
        "a purge one second before the expiry instant removes nothing",
    )?;
    check(
        present(expiring).await? && present(later).await? && present(used).await?,
        "a purge one second before the expiry instant removes nothing",
    )?;
    check(
        purge(expiry).await? == 2,
        "a purge at the expiry instant removes the logins expiring then, completed or not",
    )?;
    check(
        !present(expiring).await? && !present(used).await?,
        "a purge at the expiry instant removes the logins expiring then, completed or not",
    )?;
    check(
        present(later).await?,
        "a purge keeps a login that expires one second later",
    )?;
    check(
        purge(expiry).await? == 0,
        "a second purge at the same instant removes nothing",
    )?;
    check(
        purge(expiry + second).await? == 1 && !present(later).await?,
        "a purge one second later removes the login expiring then",
    )
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::memory::InMemoryStore;
    use crate::store::{StoreError, StoreFuture, Versioned, VersionedStore};

    /// How a test store gets purging wrong.
    #[derive(Debug, Clone, Copy)]
    enum PurgeFault {
        /// Purges as of one second earlier than asked.
        Late,
        /// Never implemented purging: refuses it.
        Unsupported,
    }

    /// An in-memory pending-login store whose purge is faulty.
    #[derive(Debug)]
    struct FaultyPurge(InMemoryStore<LoginTicket, PendingLogin>, PurgeFault);

    impl VersionedStore<LoginTicket, PendingLogin> for FaultyPurge {
        fn load<'a>(
            &'a self,
            ticket: &'a LoginTicket,
        ) -> StoreFuture<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
            self.0.load(ticket)
        }
        fn save<'a>(
            &'a self,
            ticket: &'a LoginTicket,
            record: PendingLogin,
            expected: Option<Version>,
        ) -> StoreFuture<'a, Result<Version, SaveError>> {
            self.0.save(ticket, record, expected)
        }
        fn remove<'a>(
            &'a self,
            ticket: &'a LoginTicket,
            expected: Version,
        ) -> StoreFuture<'a, Result<(), SaveError>> {
            self.0.remove(ticket, expected)
        }
    }

    impl PendingLoginStore for FaultyPurge {
        fn purge_expired<'a>(
            &'a self,
            now: DateTime<Utc>,
        ) -> StoreFuture<'a, Result<u64, StoreError>> {
            match self.1 {
                PurgeFault::Late => self.0.purge_expired(now - TimeDelta::seconds(1)),
                PurgeFault::Unsupported => StoreFuture::ready(Err(StoreError::Unavailable)),
            }
        }
    }

    #[tokio::test]
    async fn purging_is_checked_at_the_exact_second() {
        pending_login_store(&InMemoryStore::new()).await.unwrap();
        assert_eq!(
            pending_login_store(&FaultyPurge(InMemoryStore::new(), PurgeFault::Late)).await,
            Err(ConformanceFailure {
                rule: "a purge at the expiry instant removes the logins expiring then, completed or not",
            })
        );
    }

    #[tokio::test]
    async fn a_store_without_purging_refuses_it_and_fails_the_suite() {
        let store = FaultyPurge(InMemoryStore::new(), PurgeFault::Unsupported);
        assert_eq!(
            store.purge_expired(instant(0)).await,
            Err(StoreError::Unavailable)
        );
        assert_eq!(
            pending_login_store(&store).await,
            Err(ConformanceFailure {
                rule: "purging a healthy store succeeds",
            })
        );
    }
}
