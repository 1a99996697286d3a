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
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use twofa_trusted_network::{Cidr, TrustGrant, TrustGrantRecord};
use twofa_types::{AccountKind, CompanyId, MethodSet, UserId};

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
    cas_contract(&store, acme, globex, &samples).await?;
    enforcement_is_one_way(store).await
}

/// A company record that enforces 2FA is never replaced by one that does
/// not, whatever is written and at whatever version: the save fails and the
/// stored record keeps its version.
async fn enforcement_is_one_way(store: &dyn CompanyStore) -> Result<(), ConformanceFailure> {
    let rule = "a company record never goes from enforced to not enforced";
    let sample = |what| ConformanceFailure { rule: what };
    let company = CompanyId::new("c-initech").map_err(|_| sample("sample ids"))?;
    let admin = twofa_enforcement::Actor::new(
        UserId::new("admin").map_err(|_| sample("sample ids"))?,
        company.clone(),
        twofa_enforcement::CompanyRole::Admin,
    );
    let open = CompanyRecord::new(company.clone());
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let Ok(twofa_enforcement::EnforceOutcome::Enabled { settings, .. }) =
        open.settings().enforce(&admin, at)
    else {
        return Err(sample("the suite's sample enforcement is accepted"));
    };
    let enforced = open.clone().with_settings(settings);
    let first = store
        .save(&company, open.clone(), None)
        .await
        .map_err(|_| sample("a new company record is inserted"))?;
    let second = store
        .save(&company, enforced.clone(), Some(first))
        .await
        .map_err(|_| sample("enforcement can be switched on"))?;
    // Turning it off again, at the current version, is refused.
    check(
        store
            .save(&company, open.clone(), Some(second))
            .await
            .is_err(),
        rule,
    )?;
    // So is an unenforced record written with another policy.
    let other_policy = open.with_policy(
        twofa_enforcement::CompanyPolicy::builder()
            .with_deferral_length(TimeDelta::hours(1))
            .build()
            .map_err(|_| sample("the suite's sample policies are valid"))?,
    );
    check(
        store
            .save(&company, other_policy, Some(second))
            .await
            .is_err(),
        rule,
    )?;
    let stored = store.load(&company).await.map_err(|_| sample(rule))?;
    check(
        stored.as_ref().is_some_and(|stored| {
            stored.version == second && stored.record.settings().is_enforced()
        }),
        rule,
    )?;
    // An enforced record may still change in other ways.
    check(
        store.save(&company, enforced, Some(second)).await.is_ok(),
        "an enforced company's record can still be updated",
    )
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
                    deferral_until: (n % 2 == 0).then(|| start + TimeDelta::hours(48)),
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
    )?;
    purge_contract(store, &user, &company).await
}

/// Purging expired pending logins, at the exact second of expiry and one
/// second either side. Runs on an empty store.
async fn purge_contract(
    store: &dyn ChallengeStore,
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

/// Checks the [`UnitOfWork`](crate::UnitOfWork) of a set of stores:
/// loading a login reads the pending login, the user and the pending
/// login's company as they are stored; a login commit is all or nothing
/// when either version is stale, its audit entries are appended in order,
/// of several commits racing from the same versions exactly one wins and
/// nothing of the others is written, and a commit whose pending login is
/// changed by another request while it runs writes nothing (the individual
/// operations in order fail this last rule: they save the user's record
/// first).
///
/// `stores` must be empty (the user, company, challenge and audit stores)
/// and used by nothing else during the check.
///
/// # Errors
///
/// The first rule the stores break.
pub async fn unit_of_work(stores: &crate::Stores) -> Result<(), ConformanceFailure> {
    fn sample<E>(_: E) -> ConformanceFailure {
        ConformanceFailure { rule: "sample ids" }
    }
    let fail = |_| ConformanceFailure {
        rule: "operations on a healthy store succeed",
    };
    let user = UserId::new("u-ada").map_err(sample)?;
    let company = CompanyId::new("c-acme").map_err(sample)?;
    let ticket: LoginTicket = "00112233445566778899aabbccddeeff".parse().map_err(sample)?;
    let missing: LoginTicket = "ffeeddccbbaa99887766554433221100".parse().map_err(sample)?;
    let user_record = |n: usize| {
        UserRecord::new(
            user.clone(),
            company.clone(),
            AccountKind::PartnerEmployee,
            format!("Ada {n}"),
        )
    };
    let pending = |n: usize| {
        let start = instant(i64::try_from(n).unwrap_or(0));
        PendingLogin::new(
            user.clone(),
            company.clone(),
            start,
            start + TimeDelta::minutes(15),
            None,
            LoginStage::Challenge {
                method: twofa_enrollment::MethodId::new(1),
                usable: MethodSet::empty(),
                then_set_up: None,
            },
        )
    };
    let completed = |n: usize| {
        let at = instant(i64::try_from(n).unwrap_or(0));
        pending(0).with_stage(LoginStage::Completed { at })
    };
    let entry = |n: usize| {
        AuditEntry::new(
            instant(i64::try_from(n).unwrap_or(0)),
            Some(company.clone()),
            Some(user.clone()),
            AuditEvent::Rejected {
                detail: RejectionDetail::Replayed,
            },
        )
    };
    let unit = stores.unit_of_work();
    let audit_len = || async { stores.audit.read(0, usize::MAX).await.map(|all| all.len()) };

    let v1 = stores
        .users
        .save(&user, user_record(0), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let w1 = stores
        .challenges
        .save(&ticket, pending(0), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let before = audit_len().await.map_err(fail)?;
    load_login_contract(stores, (&ticket, &missing), &user, company.clone()).await?;
    let unchanged = || async {
        let users = stores.users.load(&user).await.map_err(fail)?;
        let tickets = stores.challenges.load(&ticket).await.map_err(fail)?;
        let len = audit_len().await.map_err(fail)?;
        Ok::<_, ConformanceFailure>(
            users.map(|u| (u.record, u.version)) == Some((user_record(0), v1))
                && tickets.map(|t| (t.record, t.version)) == Some((pending(0), w1))
                && len == before,
        )
    };
    let commit = |user_version, ticket: LoginTicket, pending_version, n: usize| {
        crate::LoginCommit::new(
            user.clone(),
            user_record(n),
            user_version,
            ticket,
            completed(n),
            pending_version,
        )
        .with_audit(entry(n))
        .with_audit(entry(n.saturating_add(1000)))
    };

    let stale_user = Version::new(v1.get().wrapping_add(1000));
    check(
        unit.commit_login(stores, commit(stale_user, ticket, w1, 1))
            .await
            == Err(SaveError::Conflict),
        "a login commit with a stale user version is a conflict",
    )?;
    check(
        unchanged().await?,
        "a login commit with a stale user version writes nothing",
    )?;
    let stale_ticket = Version::new(w1.get().wrapping_add(1000));
    check(
        unit.commit_login(stores, commit(v1, ticket, stale_ticket, 2))
            .await
            == Err(SaveError::Conflict),
        "a login commit with a stale pending-login version is a conflict",
    )?;
    check(
        unchanged().await?,
        "a login commit with a stale pending-login version writes nothing",
    )?;
    check(
        unit.commit_login(stores, commit(v1, missing, w1, 3)).await == Err(SaveError::Conflict),
        "a login commit for a missing pending login is a conflict",
    )?;
    check(
        unchanged().await?,
        "a login commit for a missing pending login writes nothing",
    )?;

    unit.commit_login(stores, commit(v1, ticket, w1, 4))
        .await
        .map_err(|_| ConformanceFailure {
            rule: "a login commit at the loaded versions succeeds",
        })?;
    let v2 = stores
        .users
        .load(&user)
        .await
        .map_err(fail)?
        .filter(|u| u.record == user_record(4) && u.version != v1)
        .ok_or(ConformanceFailure {
            rule: "a login commit saves the user's record at a new version",
        })?
        .version;
    let w2 = stores
        .challenges
        .load(&ticket)
        .await
        .map_err(fail)?
        .filter(|t| t.record == completed(4) && t.version != w1)
        .ok_or(ConformanceFailure {
            rule: "a login commit saves the pending login at a new version",
        })?
        .version;
    let appended = stores.audit.read(before, usize::MAX).await.map_err(fail)?;
    check(
        appended == [entry(4), entry(1004)],
        "a login commit appends its audit entries, in order",
    )?;

    // Every racer commits from (v2, w2): exactly one may win, and nothing
    // of the losers may be written.
    let before = audit_len().await.map_err(fail)?;
    let racers: Vec<usize> = (10..10_usize.saturating_add(RACERS)).collect();
    let futures = racers
        .iter()
        .map(|n| unit.commit_login(stores, commit(v2, ticket, w2, *n)))
        .collect();
    let results = join_all(futures).await;
    let winners: Vec<usize> = results
        .iter()
        .zip(&racers)
        .filter_map(|(result, n)| result.is_ok().then_some(*n))
        .collect();
    let [winner] = winners.as_slice() else {
        return Err(ConformanceFailure {
            rule: "concurrent login commits from the same versions have exactly one winner",
        });
    };
    check(
        results
            .iter()
            .all(|result| matches!(result, Ok(()) | Err(SaveError::Conflict))),
        "the losers of a login-commit race get a conflict",
    )?;
    let users = stores.users.load(&user).await.map_err(fail)?;
    let tickets = stores.challenges.load(&ticket).await.map_err(fail)?;
    check(
        users.is_some_and(|u| u.record == user_record(*winner))
            && tickets.is_some_and(|t| t.record == completed(*winner)),
        "the winner's records are what loads after a login-commit race",
    )?;
    let appended = stores.audit.read(before, usize::MAX).await.map_err(fail)?;
    check(
        appended == [entry(*winner), entry(winner.saturating_add(1000))],
        "only the winner of a login-commit race appends audit entries",
    )?;

    // Another request saves the pending login right after the commit could
    // first have read it: an atomic unit either ran before (and wrote
    // everything) or sees the new version (and writes nothing).
    let raced: LoginTicket = "0123456789abcdef0123456789abcdef".parse().map_err(sample)?;
    let pending_version = stores
        .challenges
        .save(&raced, pending(0), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let stored_user = stores
        .users
        .load(&user)
        .await
        .map_err(fail)?
        .ok_or(ConformanceFailure {
            rule: "operations on a healthy store succeed",
        })?;
    let before = audit_len().await.map_err(fail)?;
    let racing = RacingChallenges {
        inner: stores.challenges.clone(),
        ticket: raced,
        raced: AtomicBool::new(false),
    };
    let racing = crate::Stores::new(
        stores.users.clone(),
        stores.companies.clone(),
        std::sync::Arc::new(racing),
        stores.grants.clone(),
        stores.audit.clone(),
    );
    let result = unit
        .commit_login(
            &racing,
            commit(stored_user.version, raced, pending_version, 30),
        )
        .await;
    let users = stores.users.load(&user).await.map_err(fail)?;
    let tickets = stores.challenges.load(&raced).await.map_err(fail)?;
    let appended = stores.audit.read(before, usize::MAX).await.map_err(fail)?;
    match result {
        Ok(()) => check(
            users.is_some_and(|u| u.record == user_record(30))
                && tickets.is_some_and(|t| t.record == completed(30))
                && appended == [entry(30), entry(1030)],
            "a login commit that saw no other request writes everything",
        ),
        Err(SaveError::Conflict) => check(
            users == Some(stored_user)
                && tickets.is_some_and(|t| t.record == pending(0))
                && appended.is_empty(),
            "a login commit whose pending login changed while it ran writes nothing",
        ),
        Err(SaveError::Store(_)) => Err(ConformanceFailure {
            rule: "operations on a healthy store succeed",
        }),
    }
}

/// `load_login` against records stored one by one.
async fn load_login_contract(
    stores: &crate::Stores,
    (ticket, missing): (&LoginTicket, &LoginTicket),
    user: &UserId,
    company: CompanyId,
) -> Result<(), ConformanceFailure> {
    let fail = |_| ConformanceFailure {
        rule: "operations on a healthy store succeed",
    };
    let unit = stores.unit_of_work();
    let record = CompanyRecord::new(company.clone());
    let version = stores
        .companies
        .save(&company, record.clone(), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let company = Some(Versioned { record, version });
    let pending = stores.challenges.load(ticket).await.map_err(fail)?;
    let loaded = stores.users.load(user).await.map_err(fail)?;
    check(
        pending.is_some() && loaded.is_some(),
        "operations on a healthy store succeed",
    )?;
    let read = unit.load_login(stores, ticket, user).await.map_err(fail)?;
    check(
        read == crate::LoadedLogin::new(pending.clone(), loaded.clone(), company.clone()),
        "loading a login reads the pending login, the user and its company as stored",
    )?;
    let read = unit.load_login(stores, missing, user).await.map_err(fail)?;
    check(
        read == crate::LoadedLogin::new(None, loaded, None),
        "loading a login with an unknown ticket reads the user and no company",
    )?;
    let nobody = UserId::new("u-nobody").map_err(|_| ConformanceFailure { rule: "sample ids" })?;
    let read = unit
        .load_login(stores, ticket, &nobody)
        .await
        .map_err(fail)?;
    check(
        read == crate::LoadedLogin::new(pending, None, company),
        "loading a login for an unknown user reads no user",
    )
}

/// A challenge store that lets another request save the pending login of
/// `ticket` right after the first read of it.
#[derive(Debug)]
struct RacingChallenges {
    inner: std::sync::Arc<dyn ChallengeStore>,
    ticket: LoginTicket,
    raced: AtomicBool,
}

impl ChallengeStore for RacingChallenges {
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> BoxFuture<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
        Box::pin(async move {
            let loaded = self.inner.load(ticket).await?;
            if *ticket == self.ticket
                && !self.raced.swap(true, Ordering::SeqCst)
                && let Some(current) = &loaded
            {
                // The other request's save; it wins, being first.
                let _won = self
                    .inner
                    .save(ticket, current.record.clone(), Some(current.version))
                    .await;
            }
            Ok(loaded)
        })
    }

    fn save<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        record: PendingLogin,
        expected: Option<Version>,
    ) -> BoxFuture<'a, Result<Version, SaveError>> {
        self.inner.save(ticket, record, expected)
    }

    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> BoxFuture<'a, Result<(), SaveError>> {
        self.inner.remove(ticket, expected)
    }

    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.inner.purge_expired(now)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Stores;
    use crate::memory::{
        InMemoryAuditLog, InMemoryChallengeStore, InMemoryCompanyStore, InMemoryTrustGrantStore,
        InMemoryUserStore,
    };

    /// In-memory stores completing logins with the individual operations in
    /// order, as `Stores::new` does for stores that bring no unit of work.
    fn in_order() -> Stores {
        Stores::new(
            Arc::new(InMemoryUserStore::new()),
            Arc::new(InMemoryCompanyStore::new()),
            Arc::new(InMemoryChallengeStore::new()),
            Arc::new(InMemoryTrustGrantStore::new()),
            Arc::new(InMemoryAuditLog::new()),
        )
    }

    #[tokio::test]
    async fn the_in_memory_unit_of_work_is_all_or_nothing_under_a_race() {
        unit_of_work(&Stores::in_memory()).await.unwrap();
    }

    #[tokio::test]
    async fn the_operations_in_order_are_told_apart_by_the_race() {
        let stores = in_order();
        assert_eq!(
            unit_of_work(&stores).await,
            Err(ConformanceFailure {
                rule: "a login commit whose pending login changed while it ran writes nothing",
            })
        );
        // What the rule guards against: the code is used up (the user's
        // record was saved) while the login was not completed.
        let ada = UserId::new("u-ada").unwrap();
        let user = stores.users.load(&ada).await.unwrap().unwrap();
        assert_eq!(user.record.display_name(), "Ada 30");
    }

    /// How a test store gets purging wrong.
    #[derive(Debug, Clone, Copy)]
    enum PurgeFault {
        /// Purges as of one second earlier than asked.
        Late,
        /// Never implemented purging: refuses it.
        Unsupported,
    }

    /// An in-memory challenge store whose purge is faulty.
    #[derive(Debug)]
    struct FaultyPurge(InMemoryChallengeStore, PurgeFault);

    impl ChallengeStore for FaultyPurge {
        fn load<'a>(
            &'a self,
            ticket: &'a LoginTicket,
        ) -> BoxFuture<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
            self.0.load(ticket)
        }
        fn save<'a>(
            &'a self,
            ticket: &'a LoginTicket,
            record: PendingLogin,
            expected: Option<Version>,
        ) -> BoxFuture<'a, Result<Version, SaveError>> {
            self.0.save(ticket, record, expected)
        }
        fn remove<'a>(
            &'a self,
            ticket: &'a LoginTicket,
            expected: Version,
        ) -> BoxFuture<'a, Result<(), SaveError>> {
            self.0.remove(ticket, expected)
        }
        fn purge_expired<'a>(
            &'a self,
            now: DateTime<Utc>,
        ) -> BoxFuture<'a, Result<u64, StoreError>> {
            match self.1 {
                PurgeFault::Late => self.0.purge_expired(now - TimeDelta::seconds(1)),
                PurgeFault::Unsupported => {
                    Box::pin(std::future::ready(Err(StoreError::Unavailable)))
                }
            }
        }
    }

    #[tokio::test]
    async fn purging_is_checked_at_the_exact_second() {
        challenge_store(&InMemoryChallengeStore::new())
            .await
            .unwrap();
        assert_eq!(
            challenge_store(&FaultyPurge(
                InMemoryChallengeStore::new(),
                PurgeFault::Late
            ))
            .await,
            Err(ConformanceFailure {
                rule: "a purge at the expiry instant removes the logins expiring then, completed or not",
            })
        );
    }

    #[tokio::test]
    async fn a_store_without_purging_refuses_it_and_fails_the_suite() {
        let store = FaultyPurge(InMemoryChallengeStore::new(), PurgeFault::Unsupported);
        assert_eq!(
            store.purge_expired(instant(0)).await,
            Err(StoreError::Unavailable)
        );
        assert_eq!(
            challenge_store(&store).await,
            Err(ConformanceFailure {
                rule: "purging a healthy store succeeds",
            })
        );
    }
}
