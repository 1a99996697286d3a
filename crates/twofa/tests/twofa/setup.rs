//! The set-up after the password: the authenticator app, SMS and voice,
//! the not-a-mobile dialog, re-sends, failed sends and "remind me later".

use chrono::TimeDelta;
use twofa::delivery::{FailureCause, ResendOption, SendError, SentMessage};
use twofa::enrollment::{NotMobileAnswer, PhoneChannel};
use twofa::types::{AccountKind, Method, UserId};
use twofa::{
    AllowedBy, AuditEvent, LoginStep, MethodChoice, PhoneChoice, RejectionDetail, Resent,
    RetryAdvice, SetUpProgress,
};

use crate::{Now, Portal, challenge, home, into_allowed, set_up, start, totp_code};

// --- Feature 1: set-up is asked for after the password -------------------

#[tokio::test]
async fn a_user_without_2fa_is_asked_to_set_it_up_after_the_password() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(screen.methods.contains(Method::AuthenticatorApp));
    assert!(screen.methods.contains(Method::Sms));
    assert_eq!(screen.remind_me_until, Some(start() + TimeDelta::hours(48)));
    assert_eq!(screen.pending, None);
}

#[tokio::test]
async fn unknown_users_are_refused_and_audited() {
    let portal = Portal::new().await;
    let ghost = UserId::new("ghost").unwrap();
    let error = portal.twofa.begin_login(&ghost, &home()).await.unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::StartOver);
    let audit = portal.audit().await;
    assert!(audit.iter().any(|e| *e.event()
        == AuditEvent::Rejected {
            detail: RejectionDetail::UnknownUser
        }));
}

// --- Feature 2 and 4: the authenticator app, codes, replay ---------------

#[tokio::test]
async fn an_authenticator_app_is_enrolled_by_qr_code_and_its_codes_log_in_once() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    assert_eq!(recovery.len(), 10);
    let text = uri.expose_secret();
    assert!(
        text.starts_with("otpauth://totp/Partner%20Portal:bob?"),
        "{}",
        text.as_str()
    );

    portal.advance(TimeDelta::minutes(5));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.method, Method::AuthenticatorApp);
    assert_eq!(screen.resend, vec![ResendOption::App]);
    assert_eq!(
        portal
            .twofa
            .resend(&bob, &screen.ticket, ResendOption::App)
            .await
            .unwrap(),
        Resent::ReadYourDevice
    );
    // A wrong code first: refused, counted, the ticket stays usable.
    let wrong = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "000000")
        .await
        .unwrap_err();
    assert_eq!(wrong.advice(), RetryAdvice::IncorrectCode);
    let code = totp_code(&uri, portal.clock.now());
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::AuthenticatorApp
        }
    );
    // The ticket is used up.
    assert!(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .is_err()
    );

    // The same code on a new login is a replay.
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let replay = portal
        .twofa
        .submit_code(&bob, &again.ticket, &code)
        .await
        .unwrap_err();
    assert_eq!(replay.advice(), RetryAdvice::IncorrectCode);
    // The next step's code works.
    portal.advance(TimeDelta::seconds(30));
    let next = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &again.ticket, &next)
            .await
            .unwrap(),
    );
}

// --- Features 3 and 4: SMS and voice, the not-a-mobile dialog, re-sends ---

#[tokio::test]
async fn sms_enrollment_sends_a_code_and_a_resend_by_phone_call_replaces_it() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let progress = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let SetUpProgress::CodeSent(sent) = progress else {
        panic!("expected a code to be sent");
    };
    assert_eq!(sent.to, "+44 ••• ••• 3456");
    let sms_code = portal.last_code();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Sms(_))));

    // Within the re-send cooldown a call is refused.
    let early = portal
        .twofa
        .resend(&bob, &screen.ticket, ResendOption::Voice)
        .await
        .unwrap_err();
    assert_eq!(early.advice(), RetryAdvice::TryLater);
    portal.advance(TimeDelta::seconds(30));
    let Resent::CodeSent(call) = portal
        .twofa
        .resend(&bob, &screen.ticket, ResendOption::Voice)
        .await
        .unwrap()
    else {
        panic!("expected a call");
    };
    assert_eq!(call.channel, twofa::types::CodeChannel::VoiceCall);
    let voice_code = portal.last_code();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Voice(_))));

    // The SMS code was replaced by the call's code.
    if sms_code != voice_code {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, &sms_code)
                .await
                .is_err()
        );
    }
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &voice_code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );
    assert!(allowed.recovery_codes.is_some());

    // At the next login the code goes out by SMS at once; email re-send works.
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, Method::Sms);
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    assert_eq!(
        login.resend,
        vec![ResendOption::Sms, ResendOption::Voice, ResendOption::Email]
    );
    portal.advance(TimeDelta::seconds(30));
    portal
        .twofa
        .resend(&bob, &login.ticket, ResendOption::Email)
        .await
        .unwrap();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Email(_))));
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn fixed_lines_and_canadian_numbers_get_the_not_a_mobile_dialog() {
    let portal = Portal::new().await;
    for (n, number) in ["+44 121 234 5678", "+49 30 123456", "+1 506 234 5678"]
        .into_iter()
        .enumerate()
    {
        let user = portal
            .add_user(&format!("user{n}"), AccountKind::PartnerEmployee)
            .await;
        let screen = set_up(portal.twofa.begin_login(&user, &home()).await.unwrap());
        let sent_before = portal.outbox.len();
        let progress = portal
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
            )
            .await
            .unwrap();
        let SetUpProgress::NotMobile(dialog) = progress else {
            panic!("expected the dialog for {number}");
        };
        assert_eq!(dialog.recommended, Method::AuthenticatorApp);
        assert_eq!(dialog.alternative, PhoneChannel::Voice);
        assert_eq!(
            portal.outbox.len(),
            sent_before,
            "nothing sent before the answer"
        );
        // The user keeps the number with a phone call.
        let progress = portal
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(
                    PhoneChoice::new(number, PhoneChannel::Sms)
                        .with_answer(NotMobileAnswer::ContinueWithVoice),
                ),
            )
            .await
            .unwrap();
        let SetUpProgress::CodeSent(sent) = progress else {
            panic!("expected a call");
        };
        assert_eq!(sent.channel, twofa::types::CodeChannel::VoiceCall);
    }
}

#[tokio::test]
async fn a_failed_send_saves_nothing_and_never_allows() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .outbox
        .fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
    let before = portal
        .twofa
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap();
    let error = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::TryLater);
    let after = portal
        .twofa
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "the user record is untouched");
}

#[tokio::test]
async fn a_login_whose_code_cannot_be_sent_is_refused() {
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
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    portal.advance(TimeDelta::minutes(1));
    portal
        .outbox
        .fail_next(1, SendError::Permanent(FailureCause::Unreachable));
    let refused = portal.twofa.begin_login(&bob, &home()).await.unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryLater);
    assert!(portal.audit().await.iter().any(|e| *e.event()
        == AuditEvent::Rejected {
            detail: RejectionDetail::ProviderFailed
        }));
}

#[tokio::test]
async fn invalid_phone_numbers_are_refused_as_input_errors() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let error = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("not a number", PhoneChannel::Sms)),
        )
        .await
        .unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::CheckInput);
}

// --- Feature 5: remind me in 48 hours --------------------------------------

#[tokio::test]
async fn a_deferral_lasts_exactly_48_hours() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let allowed = portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    let until = start() + TimeDelta::hours(48);
    assert_eq!(allowed.by, AllowedBy::Deferred { until });

    portal.clock.set(until - TimeDelta::seconds(1));
    let step = portal.twofa.begin_login(&bob, &home()).await.unwrap();
    assert!(
        matches!(step, LoginStep::Allowed(ref a) if a.by == AllowedBy::DeferralRunning { until }),
        "{step:?}"
    );
    portal.clock.set(until);
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.remind_me_until, Some(until + TimeDelta::hours(48)));
    portal.clock.set(until + TimeDelta::seconds(1));
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}
