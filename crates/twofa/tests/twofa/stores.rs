//! Stores that fail, records for database stores, and the store contract.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use twofa::enrollment::{EnrollmentPolicy, ThrottlePolicy};
use twofa::trusted_network::{Cidr, TrustGrantRecord};
use twofa::types::AccountKind;
use twofa::{
    AuditEntry, Channels, CompanyRecord, LoginStep, ManualClock, PendingLogin, SaveError,
    SeededRandom, SetUpProgress, StoreError, StoreFuture, Stores, Twofa, UserRecord,
};

use crate::tap::{Tap, tapped_stores};
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

impl Tap for Flaky {
    /// A call that fails, when it fails, before it is sent.
    fn read<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, StoreError>>,
    ) -> StoreFuture<'a, Result<T, StoreError>> {
        StoreFuture::new(async move {
            match self.fault() {
                Fault::None => call.await,
                _ => Err(StoreError::Unavailable),
            }
        })
    }

    /// A write that fails, when it fails, before or after it is sent.
    fn write<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, SaveError>>,
    ) -> StoreFuture<'a, Result<T, SaveError>> {
        StoreFuture::new(async move {
            match self.fault() {
                Fault::None => call.await,
                Fault::Before => Err(SaveError::Store(StoreError::Unavailable)),
                Fault::After => {
                    let _ = call.await;
                    Err(SaveError::Store(StoreError::Unavailable))
                }
            }
        })
    }
}

fn flaky_stores(flaky: &Arc<Flaky>) -> Stores {
    tapped_stores(flaky, false)
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
