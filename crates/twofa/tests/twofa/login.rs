//! Tickets, concurrent answers to one challenge, and "use another method".

use std::sync::Arc;

use chrono::TimeDelta;
use twofa::enrollment::{EnrollmentPolicy, PhoneChannel, ThrottlePolicy};
use twofa::types::{AccountKind, Method};
use twofa::{
    AllowedBy, LoginTicket, MethodChoice, PhoneChoice, RetryAdvice, SetUpProgress, Stores,
};

use crate::{
    Now, Portal, allow_only, challenge, consecutive_failures, home, into_allowed, set_up, totp_code,
};

// --- Tickets ----------------------------------------------------------------

#[tokio::test]
async fn tickets_are_bound_to_their_user_and_expire() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let eve = portal.add_user("eve", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(portal.twofa.defer(&eve, &screen.ticket).await.is_err());
    // Usable until one second before the 30-minute lifetime ends.
    portal.advance(TimeDelta::minutes(30));
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    portal.advance(TimeDelta::seconds(1));
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.advance(TimeDelta::minutes(30) - TimeDelta::seconds(1));
    portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    let text = screen.ticket.to_string();
    assert_eq!(text.len(), 32);
    assert_eq!(text.parse::<LoginTicket>().unwrap(), screen.ticket);
    assert!("xyz".parse::<LoginTicket>().is_err());
}

// --- Concurrency --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_submissions_of_one_code_are_accepted_once() {
    let portal = Arc::new(Portal::new().await);
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let mut tickets = Vec::new();
    for _ in 0..16 {
        tickets.push(challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap()).ticket);
    }
    let code = totp_code(&uri, portal.clock.now());
    let tasks: Vec<_> = tickets
        .into_iter()
        .map(|ticket| {
            let portal = portal.clone();
            let bob = bob.clone();
            let code = code.clone();
            tokio::spawn(
                async move { portal.twofa.submit_code(&bob, &ticket, &code).await.is_ok() },
            )
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_all_counted() {
    let policy =
        EnrollmentPolicy::default().with_throttle(ThrottlePolicy::default().with_free_failures(50));
    let portal = Arc::new(Portal::with(Stores::in_memory(), policy).await);
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
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let portal = portal.clone();
            let bob = bob.clone();
            let ticket = screen.ticket;
            tokio::spawn(async move { portal.twofa.submit_code(&bob, &ticket, wrong).await })
        })
        .collect();
    for task in tasks {
        let refused = task.await.unwrap().unwrap_err();
        assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    }
    assert_eq!(consecutive_failures(&portal, &bob).await, 16);
}

#[tokio::test]
async fn the_verification_screen_offers_the_other_enrolled_methods() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    // Bob gains an SMS method the way the previous test shows, then the
    // company allows every method again.
    allow_only(&portal, &[Method::Sms, Method::VoiceCall]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &totp_code(&uri, portal.clock.now()))
            .await
            .unwrap(),
    );
    let SetUpProgress::CodeSent(_) = portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap()
    else {
        panic!("expected a code to be sent");
    };
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    allow_only(
        &portal,
        &[
            Method::AuthenticatorApp,
            Method::PushApp,
            Method::Sms,
            Method::VoiceCall,
        ],
    )
    .await;

    // The primary method (the app) comes first; the SMS is offered.
    portal.advance(TimeDelta::minutes(1));
    let sent_before = portal.outbox.len();
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, Method::AuthenticatorApp);
    assert_eq!(portal.outbox.len(), sent_before, "no code for an app");
    assert_eq!(login.other_methods.len(), 1);
    let sms = login.other_methods[0].clone();
    assert_eq!(sms.kind, Method::Sms);
    assert_eq!(sms.masked_number.as_deref(), Some("+44 ••• ••• 3456"));

    // A method Bob does not have is an input error and changes nothing.
    let unknown = twofa::enrollment::MethodId::new(99);
    let refused = portal
        .twofa
        .switch_method(&bob, &login.ticket, unknown)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
    assert_eq!(portal.outbox.len(), sent_before);

    // Switching sends a code at once; the app's code no longer answers
    // this login, the SMS code does.
    let switched = portal
        .twofa
        .switch_method(&bob, &login.ticket, sms.id)
        .await
        .unwrap();
    assert_eq!(switched.ticket, login.ticket);
    assert_eq!(switched.method, Method::Sms);
    assert_eq!(switched.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    assert_eq!(switched.other_methods.len(), 1);
    assert_eq!(switched.other_methods[0].kind, Method::AuthenticatorApp);
    let sms_code = portal.last_code();
    assert!(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &totp_code(&uri, portal.clock.now()))
            .await
            .is_err()
    );
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &sms_code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );

    // A method the company has switched off is not offered, and cannot be
    // switched to.
    allow_only(&portal, &[Method::AuthenticatorApp, Method::PushApp]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(login.other_methods.is_empty());
    let refused = portal
        .twofa
        .switch_method(&bob, &login.ticket, sms.id)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
}
