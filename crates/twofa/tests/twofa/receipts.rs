//! Delivery receipts: a code the provider could not deliver is reported on
//! the verification screen, until a fresh send.

use chrono::TimeDelta;
use twofa::delivery::{ChallengeId, DeliveryReceipt, DeliveryStatus, ResendOption, SentMessage};
use twofa::enrollment::{AuditKind, PhoneChannel};
use twofa::types::{AccountKind, UserId};
use twofa::{AuditEvent, LoginTicket, MethodChoice, PhoneChoice};

use crate::{Portal, challenge, home, into_allowed, set_up};

/// The challenge of the last code message.
fn last_challenge(portal: &Portal) -> ChallengeId {
    match portal.outbox.last() {
        Some(SentMessage::Sms(sms)) => sms.challenge,
        Some(SentMessage::Voice(call)) => call.challenge,
        other => panic!("no code message: {other:?}"),
    }
}

async fn undelivered(portal: &Portal, user: &UserId, ticket: &LoginTicket) -> bool {
    portal.twofa.code_undelivered(user, ticket).await.unwrap()
}

#[tokio::test]
async fn an_undelivered_code_shows_on_the_screen_until_a_fresh_send() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let sent = last_challenge(&portal);
    assert!(!undelivered(&portal, &bob, &screen.ticket).await);

    // Progress and delivery change nothing; neither does another code.
    for status in [DeliveryStatus::InProgress, DeliveryStatus::Delivered] {
        let receipt = DeliveryReceipt::new(sent, status);
        assert!(!portal.twofa.record_delivery(&bob, &receipt).await.unwrap());
    }
    let other = DeliveryReceipt::new(
        "00112233445566778899aabbccddeeff".parse().unwrap(),
        DeliveryStatus::Undelivered,
    );
    assert!(!portal.twofa.record_delivery(&bob, &other).await.unwrap());
    let nobody = UserId::new("nobody").unwrap();
    let failed = DeliveryReceipt::new(sent, DeliveryStatus::Undelivered);
    assert!(
        !portal
            .twofa
            .record_delivery(&nobody, &failed)
            .await
            .unwrap()
    );
    assert!(!undelivered(&portal, &bob, &screen.ticket).await);

    // The carrier could not deliver it.
    assert!(portal.twofa.record_delivery(&bob, &failed).await.unwrap());
    assert!(undelivered(&portal, &bob, &screen.ticket).await);
    // A second report of the same failure changes nothing more.
    assert!(!portal.twofa.record_delivery(&bob, &failed).await.unwrap());
    let audited = portal
        .audit()
        .await
        .into_iter()
        .filter(|entry| {
            matches!(entry.event(), AuditEvent::Enrollment(event) if event.kind == AuditKind::CodeUndelivered)
        })
        .count();
    assert_eq!(audited, 1);

    // The user asks for a call instead: a fresh send, no receipt yet.
    portal.advance(TimeDelta::seconds(30));
    portal
        .twofa
        .resend(&bob, &screen.ticket, ResendOption::Voice)
        .await
        .unwrap();
    assert!(!undelivered(&portal, &bob, &screen.ticket).await);
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // At the next login the login code's receipt counts the same way.
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let receipt = DeliveryReceipt::new(last_challenge(&portal), DeliveryStatus::Undelivered);
    assert!(portal.twofa.record_delivery(&bob, &receipt).await.unwrap());
    assert!(undelivered(&portal, &bob, &login.ticket).await);
}
