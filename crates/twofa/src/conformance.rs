//! The store conformance suite: the contract every store implementation
//! must meet, as async checks a store's own tests call.
//!
//! Each function takes a store that is empty and used by nothing else
//! during the check, runs the contract against it and returns the first
//! broken rule as a [`ConformanceFailure`].
//!
//! ```
//! use twofa::conformance;
//! use twofa::memory::{InMemoryAuditLog, InMemoryUserStore};
//!
//! # async fn run() -> Result<(), conformance::ConformanceFailure> {
//! conformance::user_store(&InMemoryUserStore::new()).await?;
//! conformance::audit_log(&InMemoryAuditLog::new()).await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twofa_enforcement::{AccountKind, CompanyId, MethodSet, UserId};
use twofa_trusted_network::{Cidr, TrustGrant, TrustGrantRecord};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord,
};
use crate::store::{
    AuditLog, ChallengeStore, CompanyStore, SaveError, StoreError, TrustGrantStore, UserStore,
    Version, Versioned,
};

/// A rule of the store contract that the store broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("store contract broken: {rule}")]
#[non_exhaustive]
pub struct ConformanceFailure {
    /// The rule, in words.
    pub rule: &'static str,
}

fn check(condition: bool, rule: &'static str) -> Result<(), ConformanceFailure> {
    if condition {
        Ok(())
    } else {
        Err(ConformanceFailure { rule })
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The compare-and-swap part shared by the keyed stores.
trait CasStore<K, V>: Sync {
    fn load_record<'a>(
        &'a self,
        key: &'a K,
    ) -> BoxFuture<'a, Result<Option<Versioned<V>>, StoreError>>;
    fn save_record<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<Version, SaveError>>;
}

macro_rules! cas_store {
    ($store:ident, $key:ty, $record:ty) => {
        impl<'s> CasStore<$key, $record> for &'s dyn $store {
            fn load_record<'a>(
                &'a self,
                key: &'a $key,
            ) -> BoxFuture<'a, Result<Option<Versioned<$record>>, StoreError>> {
                (**self).load(key)
            }
            fn save_record<'a>(
                &'a self,
                key: &'a $key,
                record: $record,
                expected: Option<Version>,
            ) -> BoxFuture<'a, Result<Version, SaveError>> {
                (**self).save(key, record, expected)
            }
        }
    };
}

cas_store!(UserStore, UserId, UserRecord);
cas_store!(CompanyStore, CompanyId, CompanyRecord);
cas_store!(ChallengeStore, LoginTicket, PendingLogin);
cas_store!(TrustGrantStore, UserId, TrustGrantRecord);

/// Polls every future in turn until all are done, so their store
/// operations are in flight together.
struct JoinAll<'a, T> {
    futures: Vec<Option<BoxFuture<'a, T>>>,
    outputs: Vec<Option<T>>,
}

impl<T: Unpin> Future for JoinAll<'_, T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        let mut pending = false;
        for (slot, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
        }
    }
}

fn join_all<T>(futures: Vec<BoxFuture<'_, T>>) -> JoinAll<'_, T> {
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll {
        futures: futures.into_iter().map(Some).collect(),
        outputs,
    }
}

/// How many saves race from the same version in the concurrency check.
const RACERS: usize = 8;

async fn cas_contract<K: Sync, V: Clone + PartialEq + Debug + Send + 'static>(
    store: &(dyn CasStore<K, V> + '_),
    key: &K,
    other_key: &K,
    records: &[V],
) -> Result<(), ConformanceFailure> {
    let [first, second, third, racers @ ..] = records else {
        return Err(ConformanceFailure {
            rule: "the suite needs at least three sample records",
        });
    };
    let fail = |_| ConformanceFailure {
        rule: "operations on a healthy store succeed",
    };

    check(
        store.load_record(key).await.map_err(fail)?.is_none(),
        "a missing record loads as none",
    )?;
    let v1 = store
        .save_record(key, first.clone(), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let loaded = store.load_record(key).await.map_err(fail)?;
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == Some((first, v1)),
        "an inserted record loads back unchanged at the version the insert returned",
    )?;
    check(
        store.save_record(key, second.clone(), None).await == Err(SaveError::Conflict),
        "inserting over an existing record is a conflict",
    )?;
    let v2 = store
        .save_record(key, second.clone(), Some(v1))
        .await
        .map_err(|_| ConformanceFailure {
            rule: "saving at the loaded version succeeds",
        })?;
    check(v2 != v1, "a successful save changes the version")?;
    check(
        store.save_record(key, third.clone(), Some(v1)).await == Err(SaveError::Conflict),
        "saving at a stale version is a conflict",
    )?;
    let loaded = store.load_record(key).await.map_err(fail)?;
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == Some((second, v2)),
        "a conflicting save leaves the record and its version unchanged",
    )?;
    check(
        store.save_record(other_key, third.clone(), Some(v2)).await == Err(SaveError::Conflict),
        "saving a missing record at some version is a conflict",
    )?;
    check(
        store.load_record(other_key).await.map_err(fail)?.is_none(),
        "records under different keys are independent",
    )?;

    // Every racer saves from v2: exactly one may win.
    let racing: Vec<V> = racers.iter().chain([third]).cloned().collect();
    let futures = racing
        .iter()
        .map(|record| store.save_record(key, record.clone(), Some(v2)))
        .collect();
    let results = join_all(futures).await;
    let winners: Vec<(usize, Version)> = results
        .iter()
        .enumerate()
        .filter_map(|(index, result)| result.ok().map(|version| (index, version)))
        .collect();
    check(
        winners.len() == 1,
        "concurrent saves from the same version have exactly one winner",
    )?;
    check(
        results
            .iter()
            .all(|result| matches!(result, Ok(_) | Err(SaveError::Conflict))),
        "the losers of a race get a conflict",
    )?;
    let loaded = store.load_record(key).await.map_err(fail)?;
    let winner = winners
        .first()
        .and_then(|(index, version)| racing.get(*index).map(|record| (record, *version)));
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == winner,
        "the winner's record and version are what loads after a race",
    )
}

fn instant(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_772_355_600_i64.saturating_add(seconds), 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn ids<T>(make: impl Fn(&str) -> Option<T>, names: &[&str]) -> Result<Vec<T>, ConformanceFailure> {
    names
        .iter()
        .map(|name| make(name))
        .collect::<Option<Vec<T>>>()
        .ok_or(ConformanceFailure {
            rule: "the suite's sample identifiers are valid",
        })
}

/// Checks a [`UserStore`]: compare-and-swap, and listing by company.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn user_store(store: &dyn UserStore) -> Result<(), ConformanceFailure> {
    let users = ids(|n| UserId::new(n).ok(), &["u-ada", "u-bob", "u-cy"])?;
    let companies = ids(|n| CompanyId::new(n).ok(), &["c-acme", "c-globex"])?;
    let [ada, bob, cy] = users.as_slice() else {
        return Err(ConformanceFailure { rule: "sample ids" });
    };
    let [acme, globex] = companies.as_slice() else {
        return Err(ConformanceFailure { rule: "sample ids" });
    };
    let samples: Vec<UserRecord> = (0..RACERS.saturating_add(2))
        .map(|n| {
            UserRecord::new(
                ada.clone(),
                acme.clone(),
                AccountKind::PartnerEmployee,
                format!("Ada {n}"),
            )
        })
        .collect();
    cas_contract(&store, ada, bob, &samples).await?;

    for (user, company) in [(cy, acme), (bob, globex)] {
        let record = UserRecord::new(
            user.clone(),
            company.clone(),
            AccountKind::EndUserClient,
            "x",
        );
        store
            .save(user, record, None)
            .await
            .map_err(|_| ConformanceFailure {
                rule: "inserting a new record succeeds",
            })?;
    }
    let listed = store
        .list_company(acme)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "listing a company succeeds",
        })?;
    let listed: Vec<&UserId> = listed.iter().map(|v| v.record.user()).collect();
    check(
        listed == [ada, cy],
        "list_company returns exactly the company's users in user-id order",
    )
}

/// Checks a [`CompanyStore`]'s compare-and-swap.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn company_store(store: &dyn CompanyStore) -> Result<(), ConformanceFailure> {
    let companies = ids(|n| CompanyId::new(n).ok(), &["c-acme", "c-globex"])?;
    let [acme, globex] = companies.as_slice() else {
        return Err(ConformanceFailure { rule: "sample ids" });
    };
    let mut samples = Vec::new();
    for n in 0..RACERS.saturating_add(2) {
        let policy = twofa_enforcement::CompanyPolicy::builder()
            .with_deferral_length(TimeDelta::hours(
                i64::try_from(n).unwrap_or(0).saturating_add(1),
            ))
            .build()
            .map_err(|_| ConformanceFailure {
                rule: "the suite's sample policies are valid",
            })?;
        samples.push(CompanyRecord::new(acme.clone()).with_policy(policy));
    }
    cas_contract(&store, acme, globex, &samples).await
}

/// Checks a [`ChallengeStore`]: compare-and-swap and removal.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn challenge_store(store: &dyn ChallengeStore) -> Result<(), ConformanceFailure> {
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
                    deferral_offered: n % 2 == 0,
                },
            )
        })
        .collect();
    cas_contract(&store, &ticket, &other, &samples).await?;

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
    )
}

/// Checks a [`TrustGrantStore`]'s compare-and-swap.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn trust_grant_store(store: &dyn TrustGrantStore) -> Result<(), ConformanceFailure> {
    let users = ids(|n| UserId::new(n).ok(), &["u-ada", "u-bob"])?;
    let [ada, bob] = users.as_slice() else {
        return Err(ConformanceFailure { rule: "sample ids" });
    };
    let network =
        Cidr::parse("198.51.100.0/24").map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let mut samples = Vec::new();
    for n in 0..RACERS.saturating_add(2) {
        let issued = instant(i64::try_from(n).unwrap_or(0).saturating_mul(60));
        let grant =
            TrustGrant::from_parts(network, instant(0), issued, issued + TimeDelta::days(21))
                .map_err(|_| ConformanceFailure {
                    rule: "the suite's sample grants are valid",
                })?;
        samples.push(TrustGrantRecord::from(grant));
    }
    cas_contract(&store, ada, bob, &samples).await
}

/// Checks an [`AuditLog`]: entries read back in append order.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn audit_log(log: &dyn AuditLog) -> Result<(), ConformanceFailure> {
    let entries: Vec<AuditEntry> = [
        RejectionDetail::WrongCode,
        RejectionDetail::Replayed,
        RejectionDetail::UnknownUser,
    ]
    .into_iter()
    .enumerate()
    .map(|(n, detail)| {
        AuditEntry::new(
            instant(i64::try_from(n).unwrap_or(0)),
            None,
            None,
            AuditEvent::Rejected { detail },
        )
    })
    .collect();
    check(
        matches!(log.read(0, 10).await, Ok(read) if read.is_empty()),
        "a new log is empty",
    )?;
    for entry in &entries {
        log.append(entry.clone())
            .await
            .map_err(|_| ConformanceFailure {
                rule: "appending to a healthy log succeeds",
            })?;
    }
    check(
        log.read(0, 10).await.as_deref() == Ok(entries.as_slice()),
        "entries read back in append order, unchanged",
    )?;
    check(
        log.read(1, 1).await.as_deref() == Ok(entries.get(1..2).unwrap_or_default()),
        "read skips and limits",
    )?;
    check(
        matches!(log.read(3, 10).await, Ok(read) if read.is_empty()),
        "reading past the end yields nothing",
    )
}
