//! The store conformance suite: the contract every store implementation
//! must meet, as async checks a store's own tests call.
//!
//! Each function takes a store that is empty and used by nothing else
//! during the check, runs the contract against it and returns the first
//! broken rule as a [`ConformanceFailure`].
//!
//! ```
//! use twofa::conformance;
//! use twofa::memory::{InMemoryAuditLog, InMemoryStore};
//!
//! # async fn run() -> Result<(), conformance::ConformanceFailure> {
//! conformance::user_store(&InMemoryStore::new()).await?;
//! conformance::audit_log(&InMemoryAuditLog::new()).await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
//! ```

mod cas;
mod counters;
mod pending;
mod unit;

use cas::cas_contract;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twofa_trusted_network::{Cidr, TrustGrant, TrustGrantRecord};
use twofa_types::{AccountKind, CompanyId, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::records::{AuditEntry, CompanyRecord, UserRecord};
use crate::store::{AuditLog, SaveError, StoreError, UserStore, VersionedStore};

pub use counters::send_counter_store;
pub use pending::pending_login_store;
pub use unit::unit_of_work;

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

/// How many saves race from the same version in the concurrency check.
const RACERS: usize = 8;

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
    cas_contract(store, ada, bob, &samples).await?;

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

/// Checks a company store: compare-and-swap, and enforcement one-way.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn company_store(
    store: &dyn VersionedStore<CompanyId, CompanyRecord>,
) -> Result<(), ConformanceFailure> {
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
    cas_contract(store, acme, globex, &samples).await?;
    enforcement_is_one_way(store).await
}

/// A company record that enforces 2FA is never replaced by one that does
/// not, nor removed, whatever is written and at whatever version: the save
/// or removal fails and the
/// stored record keeps its version. The failure is a refusal
/// ([`StoreError::Refused`]), not an outage or a conflict, so that the
/// caller does not retry it.
async fn enforcement_is_one_way(
    store: &dyn VersionedStore<CompanyId, CompanyRecord>,
) -> Result<(), ConformanceFailure> {
    let rule = "a company record never goes from enforced to not enforced";
    let refused = "a company record that would turn enforcement off is refused as such";
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
        store.save(&company, open.clone(), Some(second)).await
            == Err(SaveError::Store(StoreError::Refused)),
        refused,
    )?;
    // So is an unenforced record written with another policy.
    let other_policy = open.with_policy(
        twofa_enforcement::CompanyPolicy::builder()
            .with_deferral_length(TimeDelta::hours(1))
            .build()
            .map_err(|_| sample("the suite's sample policies are valid"))?,
    );
    check(
        store.save(&company, other_policy, Some(second)).await
            == Err(SaveError::Store(StoreError::Refused)),
        refused,
    )?;
    let stored = store.load(&company).await.map_err(|_| sample(rule))?;
    check(
        stored.as_ref().is_some_and(|stored| {
            stored.version == second && stored.record.settings().is_enforced()
        }),
        rule,
    )?;
    // An enforced record may still change in other ways.
    let third = store
        .save(&company, enforced, Some(second))
        .await
        .map_err(|_| sample("an enforced company's record can still be updated"))?;
    // Removing it and inserting it again would turn enforcement off.
    check(
        store.remove(&company, third).await == Err(SaveError::Store(StoreError::Refused)),
        "a company that enforces 2FA is never removed",
    )?;
    let stored = store.load(&company).await.map_err(|_| sample(rule))?;
    check(
        stored.as_ref().is_some_and(|stored| {
            stored.version == third && stored.record.settings().is_enforced()
        }),
        "a refused removal leaves the company as it was",
    )
}

/// Checks a trust-grant store's compare-and-swap.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn trust_grant_store(
    store: &dyn VersionedStore<UserId, TrustGrantRecord>,
) -> Result<(), ConformanceFailure> {
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
    cas_contract(store, ada, bob, &samples).await
}

/// Checks an [`AuditLog`]: entries read back in append order; retention
/// removes exactly the entries before its cutoff.
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
    )?;
    audit_retention(log, &entries).await
}

/// The log holds `entries`, at instants 0, 1 and 2.
async fn audit_retention(
    log: &dyn AuditLog,
    entries: &[AuditEntry],
) -> Result<(), ConformanceFailure> {
    check(
        log.purge_older_than(instant(0)).await == Ok(0),
        "retention keeps an entry at its cutoff",
    )?;
    check(
        log.purge_older_than(instant(1)).await == Ok(1),
        "retention removes the entries strictly before its cutoff",
    )?;
    check(
        log.read(0, 10).await.as_deref() == Ok(entries.get(1..).unwrap_or_default()),
        "retention keeps the later entries in order",
    )?;
    check(
        log.purge_older_than(instant(1)).await == Ok(0),
        "retention is idempotent",
    )?;
    check(
        log.purge_older_than(instant(3)).await == Ok(2),
        "retention removes every older entry",
    )?;
    check(
        matches!(log.read(0, 10).await, Ok(read) if read.is_empty()),
        "a log purged of every entry is empty",
    )
}
