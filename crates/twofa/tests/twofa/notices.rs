//! Security notices: who hears of which change, and what the audit trail
//! records when a notice cannot go out.

use std::sync::Arc;

use chrono::TimeDelta;
use twofa::delivery::{
    FailureCause, Issuer, Notice, NoticeMessage, Outbox, SendError, SentMessage, ServerKey,
};
use twofa::enforcement::{Actor, CompanyRole};
use twofa::enrollment::{EnrollmentPolicy, PhoneChannel, ThrottlePolicy};
use twofa::types::Channel;
use twofa::types::{AccountKind, CompanyId, Method, UserId};
use twofa::{
    AllowedBy, AuditEvent, Channels, CompanyRecord, ManualClock, MethodChoice, PhoneChoice,
    RetryAdvice, SeededRandom, Stores, Twofa, UserRecord, XChaChaSealer,
};

use crate::{
    Now, Portal, allow_only, challenge, home, into_allowed, recovery_remaining, set_up, start,
    totp_code,
};

// --- Security notices ------------------------------------------------------------

/// The notices among `sent`, each with its full destination; any other
/// message fails the test.
fn notices_in(sent: &[SentMessage]) -> Vec<(Notice, String)> {
    sent.iter()
        .map(|message| match message {
            SentMessage::Notice(NoticeMessage::Sms(sms)) => {
                (sms.notice, sms.to.expose_e164().to_owned())
            }
            SentMessage::Notice(NoticeMessage::Email(mail)) => {
                (mail.notice, mail.to.expose_address().to_owned())
            }
            other => panic!("expected only notices, got {other:?}"),
        })
        .collect()
}

/// The notices the outbox accepted from message number `from` on.
fn notices_since(portal: &Portal, from: usize) -> Vec<(Notice, String)> {
    notices_in(&portal.outbox.sent()[from..])
}

/// The notice entries of the audit trail, oldest first.
async fn notice_audit(portal: &Portal, user: &UserId) -> Vec<AuditEvent> {
    portal
        .audit()
        .await
        .into_iter()
        .filter(|e| e.user() == Some(user))
        .map(|e| e.event().clone())
        .filter(|event| {
            matches!(
                event,
                AuditEvent::NoticeSent { .. }
                    | AuditEvent::NoticeFailed { .. }
                    | AuditEvent::NoticeUndeliverable { .. }
            )
        })
        .collect()
}

/// Enrolls `user` with SMS to `number` and returns the recovery codes.
async fn enroll_sms(portal: &Portal, user: &UserId, number: &str) -> Vec<String> {
    let screen = set_up(portal.twofa.begin_login(user, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            user,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let code = portal.last_code();
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(user, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    let sheet = allowed
        .recovery_codes
        .expect("recovery codes at activation");
    sheet.expose_secret().map(str::to_owned).collect()
}

const BOB_EMAIL: &str = "bob@example.com";

#[tokio::test]
async fn a_number_change_is_notified_to_the_old_number_and_the_email() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &bob, "+44 7400 123456").await;
    let before = portal.outbox.len();

    portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap();
    // The code goes to the new number first; the notices, after the save,
    // to the old number and the email, never to the number not yet proven.
    let sent = portal.outbox.sent();
    let SentMessage::Sms(code_sms) = &sent[before] else {
        panic!("expected the code to the new number first");
    };
    assert_eq!(code_sms.to.expose_e164(), "+447400654321");
    assert_eq!(
        notices_in(&sent[before + 1..]),
        vec![
            (Notice::NumberChangeStarted, "+447400123456".to_owned()),
            (Notice::NumberChangeStarted, BOB_EMAIL.to_owned()),
        ]
    );
    let new_code = portal.last_code();

    // A wrong confirmation code changes nothing and notifies no one.
    let before = portal.outbox.len();
    let wrong = if new_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(
        portal
            .twofa
            .confirm_phone_change(&bob, wrong)
            .await
            .is_err()
    );
    assert_eq!(portal.outbox.len(), before);

    portal
        .twofa
        .confirm_phone_change(&bob, &new_code)
        .await
        .unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![
            (Notice::NumberChanged, "+447400123456".to_owned()),
            (Notice::NumberChanged, BOB_EMAIL.to_owned()),
        ]
    );
    let Some(SentMessage::Notice(NoticeMessage::Email(mail))) = portal.outbox.last() else {
        panic!("expected the email notice last");
    };
    assert!(mail.body.contains(
        "phone number used for two-factor authentication on your Partner Portal account was changed"
    ));
    for notice in portal.outbox.notices() {
        let text = match notice {
            NoticeMessage::Sms(sms) => sms.text,
            NoticeMessage::Email(mail) => format!("{}\n{}", mail.subject, mail.body),
            other => panic!("{other:?}"),
        };
        assert!(!text.contains(|c: char| c.is_ascii_digit()), "{text}");
    }

    // One audit entry per destination, naming neither.
    let audited = notice_audit(&portal, &bob).await;
    let sent_entries = |notice| {
        audited
            .iter()
            .filter(
                |event| matches!(event, AuditEvent::NoticeSent { notice: n, .. } if *n == notice),
            )
            .count()
    };
    assert_eq!(sent_entries(Notice::NumberChangeStarted), 2);
    assert_eq!(sent_entries(Notice::NumberChanged), 2);
    assert!(audited.contains(&AuditEvent::NoticeSent {
        notice: Notice::NumberChanged,
        channel: Channel::Sms
    }));
    assert!(audited.contains(&AuditEvent::NoticeSent {
        notice: Notice::NumberChanged,
        channel: Channel::Email
    }));
    for event in &audited {
        let printed = format!("{event:?}");
        assert!(
            !printed.contains("7400") && !printed.contains('@'),
            "{printed}"
        );
    }
}

#[tokio::test]
async fn a_suspension_is_notified_once_when_it_starts() {
    let policy = EnrollmentPolicy::default().with_throttle(
        ThrottlePolicy::default()
            .with_free_failures(10)
            .with_suspend_after(3)
            .unwrap(),
    );
    let portal = Portal::with(Stores::in_memory(), policy).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let before = portal.outbox.len();
    for _ in 0..2 {
        let refused = portal
            .twofa
            .submit_code(&bob, &screen.ticket, wrong)
            .await
            .unwrap_err();
        assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    }
    assert!(
        notices_since(&portal, before).is_empty(),
        "one short of the limit"
    );

    // The failure that suspends: the same refusal as without notices
    // (suspended: try later), and the notice goes to the email.
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, wrong)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryLater);
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::FactorSuspended, BOB_EMAIL.to_owned())]
    );
    // Refusals while suspended do not repeat it.
    for code in [wrong, right.as_str()] {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, code)
                .await
                .is_err()
        );
    }
    assert_eq!(notices_since(&portal, before).len(), 1);
    assert_eq!(
        notice_audit(&portal, &bob).await,
        vec![AuditEvent::NoticeSent {
            notice: Notice::FactorSuspended,
            channel: Channel::Email
        }]
    );
}

#[tokio::test]
async fn a_recovery_code_login_is_notified_with_the_count_left() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let recovery = enroll_sms(&portal, &bob, "+44 7400 123456").await;
    portal.advance(TimeDelta::hours(1));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let before = portal.outbox.len();
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, "AAAA-BBBB-CCCC-DDDD")
            .await
            .is_err()
    );
    assert!(notices_since(&portal, before).is_empty());

    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    let used = Notice::RecoveryCodeUsed { remaining: 9 };
    assert_eq!(
        notices_since(&portal, before),
        vec![
            (used, "+447400123456".to_owned()),
            (used, BOB_EMAIL.to_owned()),
        ]
    );
    let Some(SentMessage::Notice(NoticeMessage::Email(mail))) = portal.outbox.last() else {
        panic!("expected the email notice last");
    };
    assert!(mail.body.contains("unused codes left: 9."), "{}", mail.body);
}

#[tokio::test]
async fn regenerated_recovery_codes_are_notified() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let before = portal.outbox.len();
    portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::RecoveryCodesRegenerated, BOB_EMAIL.to_owned())]
    );
    // A refused regeneration (no recent second factor) notifies no one.
    portal.advance(TimeDelta::hours(1));
    assert!(portal.twofa.regenerate_recovery_codes(&bob).await.is_err());
    assert_eq!(notices_since(&portal, before).len(), 1);
}

#[tokio::test]
async fn an_admin_reset_is_notified() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &bob, "+44 7400 123456").await;
    let before = portal.outbox.len();
    let member = Actor::new(bob.clone(), portal.acme.clone(), CompanyRole::Member);
    assert!(portal.twofa.reset_factor(&member, &bob).await.is_err());
    assert!(notices_since(&portal, before).is_empty());

    portal
        .twofa
        .reset_factor(portal.admin().await, &bob)
        .await
        .unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::AdminReset, BOB_EMAIL.to_owned())]
    );
}

#[tokio::test]
async fn a_method_added_while_logging_in_is_notified_after_the_login_commits() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    allow_only(&portal, &[Method::Sms]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let before = portal.outbox.len();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::MethodAdded, BOB_EMAIL.to_owned())]
    );
    assert!(
        notice_audit(&portal, &bob)
            .await
            .contains(&AuditEvent::NoticeSent {
                notice: Notice::MethodAdded,
                channel: Channel::Email
            })
    );
}

#[tokio::test]
async fn a_failing_notice_channel_changes_no_result_and_is_audited() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let error = SendError::Transient(FailureCause::ProviderUnavailable);
    portal.outbox.fail_next(1, error);
    let sheet = portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    assert_eq!(sheet.expose_secret().count(), 10);
    assert_eq!(
        recovery_remaining(&portal, &bob).await,
        10,
        "the new set was saved"
    );
    assert!(portal.outbox.notices().is_empty());
    assert_eq!(
        notice_audit(&portal, &bob).await,
        vec![AuditEvent::NoticeFailed {
            notice: Notice::RecoveryCodesRegenerated,
            channel: Channel::Email,
            error,
        }]
    );
}

#[tokio::test]
async fn without_a_notice_sender_every_notice_is_audited_as_not_configured() {
    let outbox = Arc::new(Outbox::new());
    let channels = Channels::new(
        outbox.clone(),
        outbox.clone(),
        outbox.clone(),
        outbox.clone(),
    );
    let twofa = Twofa::builder()
        .stores(Stores::in_memory())
        .channels(channels)
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .with_clock(Arc::new(ManualClock::new(start())))
        .with_random(Arc::new(SeededRandom::new([42u8; 32])))
        .build()
        .unwrap();
    let acme = CompanyId::new("acme").unwrap();
    let stores = twofa.stores().clone();
    stores
        .companies()
        .save(&acme, CompanyRecord::new(acme.clone()), None)
        .await
        .unwrap();
    let bob = UserId::new("bob").unwrap();
    let email = twofa::delivery::EmailAddress::parse(BOB_EMAIL).unwrap();
    let record = UserRecord::new(
        bob.clone(),
        acme.clone(),
        AccountKind::PartnerEmployee,
        "bob",
    )
    .with_email(email);
    stores.users().save(&bob, record, None).await.unwrap();
    // The administrator completes a second factor (her app) first.
    let alice = UserId::new("alice").unwrap();
    let record = UserRecord::new(
        alice.clone(),
        acme.clone(),
        AccountKind::PartnerEmployee,
        "a",
    );
    stores.users().save(&alice, record, None).await.unwrap();
    let twofa::LoginStep::SetUp(screen) = twofa.begin_login(&alice, &home()).await.unwrap() else {
        panic!("expected set-up");
    };
    let twofa::SetUpProgress::ScanQrCode(uri) = twofa
        .choose_method(&alice, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, start());
    into_allowed(
        Box::pin(twofa.submit_code(&alice, &screen.ticket, &code))
            .await
            .unwrap(),
    );
    let admin = Actor::new(alice, acme.clone(), CompanyRole::Admin);

    twofa.reset_factor(&admin, &bob).await.unwrap();
    assert!(outbox.is_empty());
    let failed: Vec<AuditEvent> = stores
        .audit()
        .read(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event().clone())
        .filter(|event| matches!(event, AuditEvent::NoticeFailed { .. }))
        .collect();
    assert_eq!(
        failed,
        vec![AuditEvent::NoticeFailed {
            notice: Notice::AdminReset,
            channel: Channel::Email,
            error: SendError::Permanent(FailureCause::NotConfigured),
        }]
    );
}

#[tokio::test]
async fn a_notice_with_nowhere_to_go_is_audited() {
    let portal = Portal::new().await;
    let carol = UserId::new("carol").unwrap();
    let record = UserRecord::new(
        carol.clone(),
        portal.acme.clone(),
        AccountKind::PartnerEmployee,
        "carol",
    );
    portal
        .twofa
        .stores()
        .users()
        .save(&carol, record, None)
        .await
        .unwrap();
    portal
        .twofa
        .reset_factor(portal.admin().await, &carol)
        .await
        .unwrap();
    assert!(portal.outbox.notices().is_empty());
    assert_eq!(
        notice_audit(&portal, &carol).await,
        vec![AuditEvent::NoticeUndeliverable {
            notice: Notice::AdminReset
        }]
    );
}
