//! The cache of recent logins: the usual verification on the server that
//! began the login writes once and reads nothing; a record changed by
//! another server since is seen, and every refusal is decided on records
//! read from the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use twofa::delivery::{EmailAddress, Issuer, ServerKey};
use twofa::enforcement::CompanyPolicy;
use twofa::types::{AccountKind, Method, MethodSet};
use twofa::{
    AuditEvent, Channels, LoginStep, RejectionDetail, SaveError, StoreError, StoreFuture, Twofa,
    XChaChaSealer,
};

use crate::tap::{Tap, tapped_stores};
use crate::{Now, Portal, challenge, home, into_allowed, totp_code};

/// Counts the store calls.
#[derive(Debug, Default)]
struct Calls(AtomicUsize);

impl Tap for Calls {
    fn read<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, StoreError>>,
    ) -> StoreFuture<'a, Result<T, StoreError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        call
    }
    fn write<'a, T: Send + 'a>(
        &'a self,
        call: StoreFuture<'a, Result<T, SaveError>>,
    ) -> StoreFuture<'a, Result<T, SaveError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        call
    }
}

/// Another server of the same portal: the same stores, keys and clock,
/// a cache of its own.
fn second_server(portal: &Portal) -> Twofa {
    Twofa::builder()
        .stores(portal.twofa.stores().clone())
        .channels(Channels::outbox(&portal.outbox))
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .with_clock(portal.clock.clone())
        .build()
        .unwrap()
}

async fn rejections(portal: &Portal, detail: RejectionDetail) -> usize {
    portal
        .audit()
        .await
        .iter()
        .filter(|entry| matches!(entry.event(), AuditEvent::Rejected { detail: d } if *d == detail))
        .count()
}

#[tokio::test]
async fn a_verification_on_the_server_that_began_the_login_is_one_store_call() {
    let calls = Arc::new(Calls::default());
    let portal = Portal::with_stores(tapped_stores(&calls, true)).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    for _ in 0..3 {
        portal.advance(TimeDelta::seconds(30));
        let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        let before = calls.0.load(Ordering::SeqCst);
        let step = portal.twofa.submit_code(&bob, &screen.ticket, &code);
        into_allowed(step.await.unwrap());
        // The commit, which also writes the audit entries: nothing read.
        assert_eq!(calls.0.load(Ordering::SeqCst) - before, 1);
    }
}

#[tokio::test]
async fn a_code_accepted_on_another_server_is_a_replay_here() {
    let portal = Portal::new().await;
    let other = second_server(&portal);
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::seconds(30));
    // This server caches Bob's record when the login begins.
    let here = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let there = challenge(other.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(other.submit_code(&bob, &there.ticket, &code).await.unwrap());
    let refused = portal
        .twofa
        .submit_code(&bob, &here.ticket, &code)
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::Replayed);
    // The next step's code still works here, on the records read again.
    portal.advance(TimeDelta::seconds(30));
    let code = totp_code(&uri, portal.clock.now());
    let step = portal.twofa.submit_code(&bob, &here.ticket, &code);
    into_allowed(step.await.unwrap());
}

#[tokio::test]
async fn a_ticket_completed_on_another_server_is_refused_here() {
    let portal = Portal::new().await;
    let other = second_server(&portal);
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        other
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    portal.advance(TimeDelta::seconds(30));
    let code = totp_code(&uri, portal.clock.now());
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, &code)
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::TicketAlreadyUsed);
}

#[tokio::test]
async fn a_company_change_on_another_server_is_applied_to_a_cached_login() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    // Another server switches the authenticator app off for the company,
    // after this one cached the company with the login.
    let acme = portal.twofa.stores().companies().load(&portal.acme).await;
    let acme = acme.unwrap().unwrap();
    let no_app = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[Method::Sms, Method::VoiceCall]))
        .build()
        .unwrap();
    let changed = acme.record.clone().with_policy(no_app);
    portal
        .twofa
        .stores()
        .companies()
        .save(&portal.acme, changed, Some(acme.version))
        .await
        .unwrap();
    let code = totp_code(&uri, portal.clock.now());
    let step = portal.twofa.submit_code(&bob, &screen.ticket, &code);
    // The app still proves who Bob is, but the login goes on to set up a
    // method the company allows now.
    match step.await.unwrap() {
        LoginStep::SetUp(set_up) => assert!(!set_up.methods.contains(Method::AuthenticatorApp)),
        other => panic!("expected set-up, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_code_on_cached_records_is_counted_once() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let users = portal.twofa.stores().users().clone();
    let before = users.load(&bob).await.unwrap().unwrap().version;
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "000000")
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::WrongCode);
    // One save (the failure count), one audited refusal.
    let after = users.load(&bob).await.unwrap().unwrap().version;
    assert_eq!(after, before.next());
    assert_eq!(rejections(&portal, RejectionDetail::WrongCode).await, 1);
}

#[tokio::test]
async fn a_user_changed_on_another_server_is_read_again() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    // Another server changes Bob's email: his record is at a new version.
    let users = portal.twofa.stores().users().clone();
    let stored = users.load(&bob).await.unwrap().unwrap();
    let email = EmailAddress::parse("robert@example.com").unwrap();
    let renamed = stored.record.clone().with_email(email.clone());
    users
        .save(&bob, renamed, Some(stored.version))
        .await
        .unwrap();
    let code = totp_code(&uri, portal.clock.now());
    let step = portal.twofa.submit_code(&bob, &screen.ticket, &code);
    into_allowed(step.await.unwrap());
    // The login's save kept the change.
    let saved = users.load(&bob).await.unwrap().unwrap();
    assert_eq!(saved.record.email(), Some(&email));
    assert_eq!(saved.version, stored.version.next().next());
}
