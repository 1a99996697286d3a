//! Push approval: number matching, one login per approval, and denials.

use chrono::TimeDelta;
use twofa::delivery::SentMessage;
use twofa::types::{AccountKind, Method};
use twofa::{AllowedBy, MethodChoice, RetryAdvice, SetUpProgress};

use crate::{Now, Portal, challenge, consecutive_failures, home, into_allowed, set_up, totp_code};

// --- Push approval ----------------------------------------------------------------

#[tokio::test]
async fn a_push_approval_with_the_right_number_completes_one_login() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let SetUpProgress::ScanQrCode(uri) = portal
        .twofa
        .choose_method(&bob, &screen.ticket, MethodChoice::PushApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, Method::PushApp);
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    // The app shows where the login comes from and when; the number is
    // typed from the login page.
    assert_eq!(message.client_address, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(message.requested_at, portal.clock.now());
    assert!(matches!(
        portal.twofa.poll_push(&bob, &login.ticket).await.unwrap(),
        twofa::PushPoll::Waiting { .. }
    ));
    let number = sent.match_number;
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number },
        )
        .await
        .unwrap();
    let twofa::PushPoll::Allowed(allowed) =
        portal.twofa.poll_push(&bob, &login.ticket).await.unwrap()
    else {
        panic!("expected the login to complete");
    };
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::PushApp
        }
    );
    // The approval completed that login only.
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());

    // A wrong number denies.
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    let wrong = twofa::delivery::MatchNumber::new((sent.match_number.value() + 1) % 100).unwrap();
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number: wrong },
        )
        .await
        .unwrap();
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());
}

#[tokio::test]
async fn a_push_approval_is_a_fresh_second_factor_and_a_denial_is_a_failure() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let SetUpProgress::ScanQrCode(uri) = portal
        .twofa
        .choose_method(&bob, &screen.ticket, MethodChoice::PushApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // A denied prompt counts as a failed second factor.
    portal.advance(TimeDelta::hours(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    portal
        .twofa
        .respond_to_push(&bob, message.request, twofa::delivery::PushResponse::Deny)
        .await
        .unwrap();
    assert_eq!(consecutive_failures(&portal, &bob).await, 1);
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());
    // An answer to a prompt that is no longer outstanding is refused.
    assert!(
        portal
            .twofa
            .respond_to_push(&bob, message.request, twofa::delivery::PushResponse::Deny)
            .await
            .is_err()
    );
    assert_eq!(consecutive_failures(&portal, &bob).await, 1);

    // An hour after set-up a sensitive change needs a fresh second factor…
    let stale = portal
        .twofa
        .regenerate_recovery_codes(&bob)
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);

    // …and an approved push is one.
    portal.advance(TimeDelta::seconds(30));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    let number = sent.match_number;
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number },
        )
        .await
        .unwrap();
    let twofa::PushPoll::Allowed(_) = portal.twofa.poll_push(&bob, &login.ticket).await.unwrap()
    else {
        panic!("expected the login to complete");
    };
    assert_eq!(consecutive_failures(&portal, &bob).await, 0);
    assert!(portal.twofa.regenerate_recovery_codes(&bob).await.is_ok());
}
