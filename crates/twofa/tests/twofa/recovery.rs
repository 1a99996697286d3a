//! Recovery codes, suspension and the administrator's reset.

use chrono::TimeDelta;
use twofa::enrollment::{EnrollmentPolicy, ThrottlePolicy};
use twofa::types::AccountKind;
use twofa::{AllowedBy, AuditEvent, RetryAdvice, Stores};

use crate::{Now, Portal, challenge, home, into_allowed, recovery_remaining, set_up, totp_code};

// --- Recovery codes and admin reset ----------------------------------------

#[tokio::test]
async fn a_recovery_code_logs_in_once() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (_, recovery) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::hours(1));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, "AAAA-BBBB-CCCC-DDDD")
            .await
            .is_err()
    );
    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &again.ticket, &recovery[0])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_whole_set_and_need_a_recent_second_factor() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (_, old) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let sheet = portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    let new: Vec<String> = sheet.expose_secret().map(str::to_owned).collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|code| !old.contains(code)));
    assert_eq!(recovery_remaining(&portal, &bob).await, 10);
    let generated = portal
        .audit()
        .await
        .iter()
        .filter(|e| {
            e.user() == Some(&bob)
                && matches!(e.event(), AuditEvent::Enrollment(event)
                if event.kind == twofa::enrollment::AuditKind::RecoveryCodesGenerated)
        })
        .count();
    assert_eq!(generated, 2, "one set at activation, one now");

    // An hour later the second factor is no longer recent: refused, and
    // the set just generated is still the one that works.
    portal.advance(TimeDelta::hours(1));
    let stale = portal
        .twofa
        .regenerate_recovery_codes(&bob)
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);
    assert_eq!(recovery_remaining(&portal, &bob).await, 10);

    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &old[1])
            .await
            .is_err(),
        "a code of the old set"
    );
    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &new[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    assert_eq!(recovery_remaining(&portal, &bob).await, 9);
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &again.ticket, &new[0])
            .await
            .is_err(),
        "each code works once"
    );
}

#[tokio::test]
async fn a_suspended_factor_is_lifted_by_a_recovery_code_or_an_admin_reset() {
    let policy = EnrollmentPolicy::default().with_throttle(
        ThrottlePolicy::default()
            .with_free_failures(10)
            .with_suspend_after(3)
            .unwrap(),
    );
    let portal = Portal::with(Stores::in_memory(), policy).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    for _ in 0..3 {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, wrong)
                .await
                .is_err()
        );
    }
    let suspended = portal
        .twofa
        .submit_code(&bob, &screen.ticket, &right)
        .await
        .unwrap_err();
    assert_eq!(suspended.advice(), RetryAdvice::TryLater);
    // A recovery code still works and lifts the suspension.
    into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[1])
            .await
            .unwrap(),
    );
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // Suspended again, then reset by the administrator.
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    for _ in 0..3 {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, wrong)
                .await
                .is_err()
        );
    }
    portal
        .twofa
        .reset_factor(portal.admin().await, &bob)
        .await
        .unwrap();
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}

#[tokio::test]
async fn an_admin_reset_sends_the_user_back_to_set_up() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal
        .twofa
        .reset_factor(portal.admin().await, &bob)
        .await
        .unwrap();
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}
