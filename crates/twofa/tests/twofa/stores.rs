//! Stores that fail, records for database stores, and the store contract.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use twofa::enrollment::{EnrollmentPolicy, ThrottlePolicy};
use twofa::trusted_network::{Cidr, TrustGrantRecord};
use twofa::types::{AccountKind, CompanyId};
use twofa::{
    AuditEntry, AuditLog, Channels, CompanyRecord, LoginStep, ManualClock, PendingLogin,
    PendingLoginStore, SaveError, SeededRandom, SetUpProgress, StoreError, StoreFuture, Stores,
    Twofa, UserRecord, UserStore, Version, Versioned, VersionedStore,
};

use crate::{Now, OFFICE, Portal, challenge, home, into_allowed, office, sealer, totp_code};

// --- Failing stores -----------------------------------------------------------

/// Fails every `every`-th call across all stores while armed. Half of the
/// failing saves fail before writing, half after (an ambiguous commit).
#[derive(Debug, Default)]
struct Flaky {
    every: AtomicUsize,
    calls: AtomicUsize,
}

enum Fault {
    None,
    Before,
    After,
}

impl Flaky {
    fn fault(&self) -> Fault {
        let every = self.every.load(Ordering::SeqCst);
        if every == 0 {
            return Fault::None;
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if !call.is_multiple_of(every) {
            Fault::None
        } else if (call / every).is_multiple_of(2) {
            Fault::Before
        } else {
            Fault::After
        }
    }
}

/// Wraps any store: every operation of `inner` goes through `flaky`.
#[derive(Debug)]
struct FlakyStore<S: ?Sized> {
    inner: Arc<S>,
    flaky: Arc<Flaky>,
}

impl<S: ?Sized> FlakyStore<S> {
    /// An operation that fails, when it fails, before it is sent.
    fn flaky_read<'a, T: Send + 'a>(
        &'a self,
        inner: StoreFuture<'a, Result<T, StoreError>>,
    ) -> StoreFuture<'a, Result<T, StoreError>> {
        let flaky = &*self.flaky;
        StoreFuture::new(async move {
            match flaky.fault() {
                Fault::None => inner.await,
                _ => Err(StoreError::Unavailable),
            }
        })
    }

    /// A write that fails, when it fails, before or after it is sent.
    fn flaky_write<'a, T: Send + 'a>(
        &'a self,
        inner: StoreFuture<'a, Result<T, SaveError>>,
    ) -> StoreFuture<'a, Result<T, SaveError>> {
        let flaky = &*self.flaky;
        StoreFuture::new(async move {
            match flaky.fault() {
                Fault::None => inner.await,
                Fault::Before => Err(SaveError::Store(StoreError::Unavailable)),
                Fault::After => {
                    let _ = inner.await;
                    Err(SaveError::Store(StoreError::Unavailable))
                }
            }
        })
    }
}

impl<K, V, S> VersionedStore<K, V> for FlakyStore<S>
where
    K: Sync,
    V: Send + 'static,
    S: VersionedStore<K, V> + ?Sized,
{
    fn load<'a>(&'a self, key: &'a K) -> StoreFuture<'a, Result<Option<Versioned<V>>, StoreError>> {
        self.flaky_read(self.inner.load(key))
    }
    fn save<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.flaky_write(self.inner.save(key, record, expected))
    }
    fn remove<'a>(
        &'a self,
        key: &'a K,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        self.flaky_write(self.inner.remove(key, expected))
    }
}

impl<S: UserStore + ?Sized> UserStore for FlakyStore<S> {
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        self.flaky_read(self.inner.list_company(company))
    }
}

impl<S: PendingLoginStore + ?Sized> PendingLoginStore for FlakyStore<S> {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.flaky_read(self.inner.purge_expired(now))
    }
}

impl<S: AuditLog + ?Sized> AuditLog for FlakyStore<S> {
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>> {
        self.flaky_read(self.inner.append(entry))
    }
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        self.flaky_read(self.inner.read(skip, limit))
    }
    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.flaky_read(self.inner.purge_older_than(cutoff))
    }
}

fn flaky_stores(flaky: &Arc<Flaky>) -> Stores {
    fn wrap<S: ?Sized>(inner: &Arc<S>, flaky: &Arc<Flaky>) -> Arc<FlakyStore<S>> {
        Arc::new(FlakyStore {
            inner: inner.clone(),
            flaky: flaky.clone(),
        })
    }
    let inner = Stores::in_memory();
    Stores::new(
        wrap(inner.users(), flaky),
        wrap(inner.companies(), flaky),
        wrap(inner.pending_logins(), flaky),
        wrap(inner.grants(), flaky),
        wrap(inner.audit(), flaky),
        inner.send_counters().clone(),
    )
}

#[tokio::test]
async fn failing_stores_never_grant_an_acceptance_and_leave_whole_records() {
    let mut accepted_total = 0;
    for every in [2, 3, 5, 7, 11] {
        let flaky = Arc::new(Flaky::default());
        let portal = Portal::with(
            flaky_stores(&flaky),
            EnrollmentPolicy::default()
                .with_throttle(ThrottlePolicy::default().with_free_failures(1000)),
        )
        .await;
        portal
            .twofa
            .add_trusted_network(
                portal.admin().await,
                Cidr::parse(OFFICE).unwrap(),
                "Head office",
            )
            .await
            .unwrap();
        let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
        let (uri, _) = portal.enroll_app(&bob).await;
        flaky.every.store(every, Ordering::SeqCst);
        let mut accepted_codes: Vec<String> = Vec::new();
        for round in 0..40 {
            portal.advance(TimeDelta::seconds(30));
            let client = if round % 3 == 0 { office() } else { home() };
            let Ok(step) = portal.twofa.begin_login(&bob, &client).await else {
                continue;
            };
            let LoginStep::Challenge(screen) = step else {
                continue;
            };
            let right = totp_code(&uri, portal.clock.now());
            let wrong = if right == "000000" {
                "111111"
            } else {
                "000000"
            };
            assert!(
                portal
                    .twofa
                    .submit_code(&bob, &screen.ticket, wrong)
                    .await
                    .is_err(),
                "a wrong code was accepted with every={every}"
            );
            // A replay of any code accepted before is never accepted.
            for old in &accepted_codes {
                assert!(
                    portal
                        .twofa
                        .submit_code(&bob, &screen.ticket, old)
                        .await
                        .is_err()
                );
            }
            if portal
                .twofa
                .submit_code(&bob, &screen.ticket, &right)
                .await
                .is_ok()
            {
                accepted_codes.push(right);
            }
        }
        flaky.every.store(0, Ordering::SeqCst);
        // Every record is whole: it loads, unseals and serves a login.
        let stored = portal
            .twofa
            .stores()
            .users()
            .load(&bob)
            .await
            .unwrap()
            .unwrap();
        stored.record.enrollment().unwrap().open(&sealer()).unwrap();
        portal.advance(TimeDelta::days(30));
        let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        into_allowed(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, &code)
                .await
                .unwrap(),
        );
        accepted_total += accepted_codes.len();
    }
    // The faults are not so dense that nothing ever succeeds.
    assert!(accepted_total > 0);
}

// --- Records for database stores ---------------------------------------------------

#[cfg(feature = "serde")]
#[tokio::test]
async fn stored_records_round_trip_through_serde_without_secrets() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let stores = portal.twofa.stores();

    let user = stores.users().load(&bob).await.unwrap().unwrap().record;
    let json = serde_json::to_string(&user).unwrap();
    let secret = uri.key_uri().secret().to_base32();
    assert!(!json.contains(secret.as_str()), "the TOTP secret is sealed");
    assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), user);

    let company = stores
        .companies()
        .load(&portal.acme)
        .await
        .unwrap()
        .unwrap()
        .record;
    let json = serde_json::to_string(&company).unwrap();
    assert_eq!(
        serde_json::from_str::<CompanyRecord>(&json).unwrap(),
        company
    );

    let pending = stores
        .pending_logins()
        .load(&login.ticket)
        .await
        .unwrap()
        .unwrap()
        .record;
    let json = serde_json::to_string(&pending).unwrap();
    assert_eq!(
        serde_json::from_str::<PendingLogin>(&json).unwrap(),
        pending
    );

    let grant = stores.grants().load(&bob).await.unwrap().unwrap().record;
    let json = serde_json::to_string(&grant).unwrap();
    assert_eq!(
        serde_json::from_str::<TrustGrantRecord>(&json).unwrap(),
        grant
    );

    for entry in portal.audit().await {
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<AuditEntry>(&json).unwrap(), entry);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Twofa>();
    assert_send_sync::<Stores>();
    assert_send_sync::<Channels>();
    assert_send_sync::<LoginStep>();
    assert_send_sync::<twofa::Allowed>();
    assert_send_sync::<twofa::Rejected>();
    assert_send_sync::<SetUpProgress>();
    assert_send_sync::<twofa::PushPoll>();
    assert_send_sync::<UserRecord>();
    assert_send_sync::<PendingLogin>();
    assert_send_sync::<AuditEntry>();
    assert_send_sync::<twofa::AdminError>();
    assert_send_sync::<ManualClock>();
    assert_send_sync::<SeededRandom>();
}

// --- The store contract ----------------------------------------------------------

#[cfg(feature = "conformance")]
#[tokio::test]
async fn the_in_memory_stores_meet_the_conformance_suite() {
    use twofa::conformance;
    let stores = Stores::in_memory();
    conformance::user_store(&**stores.users()).await.unwrap();
    conformance::company_store(&**stores.companies())
        .await
        .unwrap();
    conformance::pending_login_store(&**stores.pending_logins())
        .await
        .unwrap();
    conformance::trust_grant_store(&**stores.grants())
        .await
        .unwrap();
    conformance::audit_log(&**stores.audit()).await.unwrap();
    conformance::send_counter_store(&**stores.send_counters())
        .await
        .unwrap();
    conformance::unit_of_work(&Stores::in_memory())
        .await
        .unwrap();
}
