//! The unit of work of a set of stores: loading a login, and committing
//! one all or nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use twofa_types::{AccountKind, CompanyId, MethodSet, UserId};

use super::cas::join_all;
use super::{ConformanceFailure, RACERS, check, instant};
use crate::audit::{AuditEvent, RejectionDetail};
use crate::records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord,
};
use crate::store::{
    PendingLoginStore, SaveError, StoreError, StoreFuture, Version, Versioned, VersionedStore,
};

/// Checks the [`UnitOfWork`](crate::UnitOfWork) of a set of stores:
/// loading a login reads the pending login, the user and the pending
/// login's company as they are stored; a login commit is all or nothing
/// when either version is stale or its company is not at the version it
/// names, returns the user's new version, its audit entries are appended
/// in order,
/// of several commits racing from the same versions exactly one wins and
/// nothing of the others is written, and a commit whose pending login is
/// changed by another request while it runs writes nothing (the individual
/// operations in order fail this last rule: they save the user's record
/// first).
///
/// `stores` must be empty (the user, company, pending-login and audit stores)
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
        .pending_logins
        .save(&ticket, pending(0), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let before = audit_len().await.map_err(fail)?;
    load_login_contract(stores, (&ticket, &missing), &user, company.clone()).await?;
    let unchanged = || async {
        let users = stores.users.load(&user).await.map_err(fail)?;
        let tickets = stores.pending_logins.load(&ticket).await.map_err(fail)?;
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
    let company_version = stores
        .companies
        .load(&company)
        .await
        .map_err(fail)?
        .ok_or(ConformanceFailure {
            rule: "operations on a healthy store succeed",
        })?
        .version;
    let stale_company = Version::new(company_version.get().wrapping_add(1000));
    check(
        unit.commit_login(
            stores,
            commit(v1, ticket, w1, 5).with_company(company.clone(), stale_company),
        )
        .await
            == Err(SaveError::Conflict),
        "a login commit whose company is at another version is a conflict",
    )?;
    let elsewhere = CompanyId::new("c-elsewhere").map_err(sample)?;
    check(
        unit.commit_login(
            stores,
            commit(v1, ticket, w1, 6).with_company(elsewhere, company_version),
        )
        .await
            == Err(SaveError::Conflict),
        "a login commit whose company is missing is a conflict",
    )?;
    check(
        unchanged().await?,
        "a login commit whose company is not at its version writes nothing",
    )?;

    let committed = unit
        .commit_login(
            stores,
            commit(v1, ticket, w1, 4).with_company(company.clone(), company_version),
        )
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
    check(
        committed == v2,
        "a login commit returns the user's record's new version",
    )?;
    let w2 = stores
        .pending_logins
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
            .all(|result| matches!(result, Ok(_) | Err(SaveError::Conflict))),
        "the losers of a login-commit race get a conflict",
    )?;
    let users = stores.users.load(&user).await.map_err(fail)?;
    let tickets = stores.pending_logins.load(&ticket).await.map_err(fail)?;
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
        .pending_logins
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
    let racing = RacingPendingLogins {
        inner: stores.pending_logins.clone(),
        ticket: raced,
        raced: AtomicBool::new(false),
    };
    let racing = crate::Stores::new(
        stores.users.clone(),
        stores.companies.clone(),
        std::sync::Arc::new(racing),
        stores.grants.clone(),
        stores.audit.clone(),
        stores.counters.clone(),
    );
    let result = unit
        .commit_login(
            &racing,
            commit(stored_user.version, raced, pending_version, 30),
        )
        .await;
    let users = stores.users.load(&user).await.map_err(fail)?;
    let tickets = stores.pending_logins.load(&raced).await.map_err(fail)?;
    let appended = stores.audit.read(before, usize::MAX).await.map_err(fail)?;
    match result {
        Ok(_) => check(
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
    let pending = stores.pending_logins.load(ticket).await.map_err(fail)?;
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

/// A pending-login store that lets another request save the pending
/// login of `ticket` right after the first read of it.
#[derive(Debug)]
struct RacingPendingLogins {
    inner: std::sync::Arc<dyn PendingLoginStore>,
    ticket: LoginTicket,
    raced: AtomicBool,
}

impl VersionedStore<LoginTicket, PendingLogin> for RacingPendingLogins {
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> StoreFuture<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
        StoreFuture::new(async move {
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
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.inner.save(ticket, record, expected)
    }

    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        self.inner.remove(ticket, expected)
    }
}

impl PendingLoginStore for RacingPendingLogins {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.inner.purge_expired(now)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Stores;
    use crate::memory::{InMemoryAuditLog, InMemoryStore};

    /// In-memory stores completing logins with the individual operations in
    /// order, as `Stores::new` does for stores that bring no unit of work.
    fn in_order() -> Stores {
        Stores::new(
            Arc::new(InMemoryStore::<UserId, UserRecord>::new()),
            Arc::new(InMemoryStore::<CompanyId, CompanyRecord>::new()),
            Arc::new(InMemoryStore::<LoginTicket, PendingLogin>::new()),
            Arc::new(InMemoryStore::<
                UserId,
                twofa_trusted_network::TrustGrantRecord,
            >::new()),
            Arc::new(InMemoryAuditLog::new()),
            Arc::new(crate::memory::InMemorySendCounters::new()),
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
}
