//! Setting up a method: key URIs and sent codes, the not-a-mobile dialog,
//! re-sends, expiry, wrong and malformed codes, and deferral.

use super::*;

#[test]
fn app_setup_shows_key_uri_and_activates_with_a_valid_code() {
    let env = Env::new();
    let (pending, effects) = saved(
        apply(
            &record(),
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    let uri = effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowKeyUri(uri) => Some(uri.clone()),
            _ => None,
        })
        .unwrap();
    let text = uri.expose_secret();
    assert!(text.starts_with("otpauth://totp/Example%20Portal:Alice?"));
    assert!(!format!("{effects:?}").contains(&pending_secret(&pending).to_base32()[..]));
    assert_eq!(audits(&effects), ["enrollment.started"]);
    assert_eq!(
        pending.summary(t0()).pending,
        Some(Method::AuthenticatorApp)
    );
    assert!(!pending.summary(t0()).has_active_method());

    let c = totp_code(&pending_secret(&pending), t0());
    let (enrolled, effects) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
    let summary = enrolled.summary(t0());
    assert_eq!(summary.methods.len(), 1);
    assert_eq!(summary.methods[0].kind, Method::AuthenticatorApp);
    assert_eq!(summary.last_second_factor_at, Some(t0()));
    assert_eq!(summary.recovery_codes_remaining, RECOVERY_CODE_COUNT);
    assert_eq!(recovery_sheet(&effects).len(), 10);
    assert!(audits(&effects).contains(&"enrollment.verified"));
}

#[test]
fn the_activating_code_is_burned_and_cannot_log_in() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    let c = totp_code(&pending_secret(&pending), t0());
    let (enrolled, _) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
    let rejected = login(&enrolled, 1, &c, &env.optional(), t0() + secs(5)).unwrap_err();
    // Reported as the replay it is, and counted like a wrong code.
    assert_eq!(rejected.reason, EnrollmentError::ReplayedCode);
    assert!(rejected.outcome.is_some());
    let wrong = login(&enrolled, 1, "000000", &env.optional(), t0() + secs(5)).unwrap_err();
    assert_eq!(wrong.reason, EnrollmentError::WrongCode);
    // The next step's code logs in, once.
    let later = t0() + secs(30);
    let next = totp_code(&pending_secret(&pending), later);
    let accepted = login(&enrolled, 1, &next, &env.optional(), later).unwrap();
    let (after, _) = accepted.outcome.into_parts();
    assert!(login(&after, 1, &next, &env.optional(), later).is_err());
}

#[test]
fn sms_setup_sends_a_code_that_activates_the_number() {
    let env = Env::new();
    let transition = apply(
        &record(),
        Event::StartSetup(sms_setup()),
        &env.optional(),
        t0(),
    )
    .unwrap();
    let Some(OutboundMessage::Sms(sms)) = transition.message() else {
        panic!("expected an SMS");
    };
    assert_eq!(sms.to, mobile());
    let (pending, effects, c) = sent(transition);
    let printed = format!("{effects:?} {pending:?}");
    assert!(
        !printed.contains("7400123456"),
        "full number leaked: {printed}"
    );
    assert!(!printed.contains(&c));
    let (enrolled, effects) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&c)),
            &env.optional(),
            t0() + secs(20),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.summary(t0()).methods[0].kind, Method::Sms);
    let audit = effects
        .iter()
        .find_map(|e| match e {
            Effect::Audit(a) if a.kind == AuditKind::EnrollmentVerified => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    let masked = audit.destination.unwrap();
    assert!(masked.as_str().ends_with("3456"));
    assert!(!masked.as_str().contains("7400123456"));
}

#[test]
fn dropping_a_dispatch_leaves_the_record_as_it_was() {
    let env = Env::new();
    let before = record();
    let transition = apply(
        &before,
        Event::StartSetup(sms_setup()),
        &env.optional(),
        t0(),
    )
    .unwrap();
    drop(transition);
    assert_eq!(before.state().kind(), StateKind::NotEnrolled);
}

#[test]
fn not_mobile_numbers_get_the_dialog_then_voice() {
    let env = Env::new();
    for line_type in [
        LineType::NotMobile(NotMobileKind::FixedLine),
        LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
    ] {
        let setup = PhoneSetup::new(mobile(), line_type, PhoneChannel::Sms);
        let (same, effects) = saved(
            apply(
                &record(),
                Event::StartSetup(SetupChoice::Phone(setup.clone())),
                &env.optional(),
                t0(),
            )
            .unwrap(),
        );
        assert_eq!(same.state().kind(), StateKind::NotEnrolled);
        let dialog = effects
            .iter()
            .find_map(|e| match e {
                Effect::ShowNotMobileDialog(d) => Some(*d),
                _ => None,
            })
            .unwrap();
        assert_eq!(dialog.recommended, Method::AuthenticatorApp);
        assert_eq!(dialog.alternative, PhoneChannel::Voice);
        assert_eq!(dialog.line_type, line_type);
        assert_eq!(audits(&effects), ["enrollment.not_mobile_dialog"]);

        let voice = setup.with_answer(NotMobileAnswer::ContinueWithVoice);
        let transition = apply(
            &record(),
            Event::StartSetup(SetupChoice::Phone(voice)),
            &env.optional(),
            t0(),
        )
        .unwrap();
        assert!(matches!(
            transition.message(),
            Some(OutboundMessage::Voice(_))
        ));
        let (pending, _, c) = sent(transition);
        let (enrolled, _) =
            saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
        assert_eq!(enrolled.summary(t0()).methods[0].kind, Method::VoiceCall);
    }
}

#[test]
fn resend_by_sms_voice_and_email_issues_fresh_codes() {
    let env = Env::new();
    let (pending, first) = start_sms(&env, t0());
    // The cooldown (30 s by default) applies.
    assert!(matches!(
        apply(
            &pending,
            Event::Resend(ResendOption::Voice),
            &env.optional(),
            t0() + secs(29)
        ),
        Err(EnrollmentError::Resend(_))
    ));
    let transition = apply(
        &pending,
        Event::Resend(ResendOption::Voice),
        &env.optional(),
        t0() + secs(30),
    )
    .unwrap();
    assert!(matches!(
        transition.message(),
        Some(OutboundMessage::Voice(_))
    ));
    let (pending, effects, second) = sent(transition);
    assert_eq!(audits(&effects), ["enrollment.code_resent"]);
    let transition = apply(
        &pending,
        Event::Resend(ResendOption::Email),
        &env.optional(),
        t0() + secs(60),
    )
    .unwrap();
    let Some(OutboundMessage::Email(mail)) = transition.message() else {
        panic!("expected an email");
    };
    assert_eq!(mail.to, email());
    let (pending, _, third) = sent(transition);
    // Earlier codes are void once a fresh one is committed.
    for old in [&first, &second] {
        if *old != third {
            let (after, effects) = saved(
                apply(
                    &pending,
                    Event::SubmitCode(code(old)),
                    &env.optional(),
                    t0() + secs(61),
                )
                .unwrap(),
            );
            assert!(matches!(effects[0], Effect::CodeRejected { .. }));
            assert_eq!(after.state().kind(), StateKind::Pending);
        }
    }
    let (enrolled, _) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&third)),
            &env.optional(),
            t0() + secs(62),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.state().kind(), StateKind::Enrolled);
    // The app's "re-send" is reading the device.
    let app = start_app(&env, t0());
    let (_, effects) = saved(
        apply(
            &app,
            Event::Resend(ResendOption::App),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert!(matches!(effects[..], [Effect::ReadCodeFromDevice]));
    assert_eq!(
        apply(
            &app,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::ResendNotApplicable
    );
}

#[test]
fn app_pending_expires_after_thirty_minutes_to_the_second() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    let secret = pending_secret(&pending);
    let expiry = t0() + TimeDelta::minutes(30);
    for (at, ok) in [
        (expiry - secs(1), true),
        (expiry, false),
        (expiry + secs(1), false),
    ] {
        let result = apply(
            &pending,
            Event::SubmitCode(code(&totp_code(&secret, at))),
            &env.optional(),
            at,
        );
        if ok {
            assert_eq!(saved(result.unwrap()).0.state().kind(), StateKind::Enrolled);
        } else {
            assert_eq!(
                result.unwrap_err(),
                EnrollmentError::PendingExpired { expired_at: expiry }
            );
        }
    }
}

#[test]
fn oob_pending_expires_after_ten_minutes_to_the_second() {
    let env = Env::new();
    let (pending, c) = start_sms(&env, t0());
    let expiry = t0() + TimeDelta::minutes(10);
    let ok = apply(
        &pending,
        Event::SubmitCode(code(&c)),
        &env.optional(),
        expiry - secs(1),
    )
    .unwrap();
    assert_eq!(saved(ok).0.state().kind(), StateKind::Enrolled);
    for at in [expiry, expiry + secs(1)] {
        assert_eq!(
            apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), at).unwrap_err(),
            EnrollmentError::PendingExpired { expired_at: expiry }
        );
    }
    // A re-send after expiry gives a fresh code with a fresh lifetime.
    let (renewed, _, fresh) = sent(
        apply(
            &pending,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            expiry,
        )
        .unwrap(),
    );
    let ok = apply(
        &renewed,
        Event::SubmitCode(code(&fresh)),
        &env.optional(),
        expiry + secs(1),
    )
    .unwrap();
    assert_eq!(saved(ok).0.state().kind(), StateKind::Enrolled);
}

#[test]
fn fifth_wrong_code_is_the_last_and_the_sixth_is_refused_unevaluated() {
    let env = Env::new();
    let (mut pending, c) = start_sms(&env, t0());
    let wrong = wrong_oob(&c);
    for n in 1..=5u32 {
        let (next, effects) = saved(
            apply(
                &pending,
                Event::SubmitCode(code(&wrong)),
                &env.optional(),
                t0(),
            )
            .unwrap(),
        );
        let Effect::CodeRejected { attempts_left } = effects[0] else {
            panic!("expected a rejection");
        };
        assert_eq!(attempts_left, 5 - n);
        assert_eq!(next.failures().consecutive(), n);
        pending = next;
    }
    // Even the right code is no longer evaluated.
    assert_eq!(
        apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap_err(),
        EnrollmentError::TooManyWrongCodes
    );
    // A restart opens a fresh verification; the user's failures carry over.
    let (restarted, _, fresh) = sent(
        apply(
            &pending,
            Event::StartSetup(sms_setup()),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!(restarted.failures().consecutive(), 5);
    let (enrolled, _) = saved(
        apply(
            &restarted,
            Event::SubmitCode(code(&fresh)),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.failures().consecutive(), 0);
}

#[test]
fn malformed_codes_are_refused_without_counting() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    // Input that is no code at all is refused at the edge: no event is
    // applied, so nothing is counted.
    for (text, error) in [
        ("", CodeInputError::Empty),
        (
            "12345",
            CodeInputError::DigitCount {
                digits: 5,
                min: 6,
                max: 10,
            },
        ),
        ("abcdef", CodeInputError::NotADigit),
        ("123 456-", CodeInputError::MisplacedSeparator),
    ] {
        assert_eq!(OneTimeCode::parse(text).unwrap_err(), error, "{text:?}");
    }
    // A well-formed code of the wrong length for a 6-digit TOTP is refused
    // by the machine, without counting a failure.
    for text in ["1234567", "12345678", "1234 5678"] {
        assert_eq!(
            apply(
                &pending,
                Event::SubmitCode(code(text)),
                &env.optional(),
                t0()
            )
            .unwrap_err(),
            EnrollmentError::MalformedCode,
            "{text:?}"
        );
    }
    // The same for an out-of-band code: the pending verification keeps all
    // its attempts, and the right code still activates.
    let (pending, c) = start_sms(&env, t0());
    assert_eq!(
        apply(
            &pending,
            Event::SubmitCode(code("12345678")),
            &env.optional(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::MalformedCode
    );
    assert_eq!(pending.failures().consecutive(), 0);
    let (enrolled, _) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
    assert_eq!(enrolled.state().kind(), StateKind::Enrolled);
}

#[test]
fn deferral_records_the_offered_deadline_to_the_second() {
    let env = Env::new();
    let ctx = env.optional();
    // Any deadline the gate offers, not a fixed 48 hours.
    let until = t0() + TimeDelta::hours(48) + secs(17);
    let (deferred, effects) = saved(apply(&record(), Event::Defer { until }, &ctx, t0()).unwrap());
    assert_eq!(audits(&effects), ["enrollment.deferred"]);
    assert_eq!(deferred_until(&deferred), Some(until));
    assert_eq!(deferred.deferrals_used(), 1);
    let before = until - secs(1);
    assert_eq!(
        deferred.status(before),
        EnrollmentStatus::Deferred {
            until,
            deferrals_used: 1
        }
    );
    assert_eq!(deferred.summary(before).deferred_until, Some(until));
    assert!(deferred.summary(before).deferral_running);
    // A pending set-up may be deferred too.
    let pending = start_app(&env, t0());
    let (deferred_pending, _) = saved(apply(&pending, Event::Defer { until }, &ctx, t0()).unwrap());
    assert_eq!(deferred_until(&deferred_pending), Some(until));
    // An enrolled user has nothing to defer.
    let (enrolled, _) = enrolled_app(&env, t0());
    assert_eq!(
        apply(&enrolled, Event::Defer { until }, &ctx, t0()).unwrap_err(),
        EnrollmentError::NotAllowed {
            state: StateKind::Enrolled,
            event: EventKind::Defer
        }
    );
}

#[test]
fn a_running_deferral_refuses_another_until_its_exact_end() {
    let env = Env::new();
    let ctx = env.optional();
    let until = t0() + TimeDelta::hours(48);
    let (deferred, _) = saved(apply(&record(), Event::Defer { until }, &ctx, t0()).unwrap());
    let before = until - secs(1);
    for at in [t0(), before] {
        assert_eq!(
            apply(
                &deferred,
                Event::Defer {
                    until: at + TimeDelta::hours(72)
                },
                &ctx,
                at
            )
            .unwrap_err(),
            EnrollmentError::AlreadyDeferred { until }
        );
    }
    assert_eq!(deferred_until(&deferred), Some(until));
    assert_eq!(deferred.deferrals_used(), 1);
    // At the exact second `until` the deferral is over.
    for at in [until, until + secs(1)] {
        assert!(!deferred.summary(at).deferral_running);
        // The record still says when it ran out; the gate decides.
        assert_eq!(
            deferred.status(at),
            EnrollmentStatus::Deferred {
                until,
                deferrals_used: 1
            }
        );
    }
    let next_until = until + TimeDelta::hours(48);
    let (second, effects) =
        saved(apply(&deferred, Event::Defer { until: next_until }, &ctx, until).unwrap());
    assert_eq!(audits(&effects), ["enrollment.deferred"]);
    assert_eq!(deferred_until(&second), Some(next_until));
    assert_eq!(second.deferrals_used(), 2);
}

#[test]
fn a_deadline_not_after_now_is_refused_and_changes_nothing() {
    let env = Env::new();
    let ctx = env.optional();
    for until in [t0(), t0() - secs(1)] {
        assert_eq!(
            apply(&record(), Event::Defer { until }, &ctx, t0()).unwrap_err(),
            EnrollmentError::TimeOutOfRange
        );
    }
    // Nor when a deferral has run out: the old one stays on record.
    let until = t0() + TimeDelta::hours(48);
    let (deferred, _) = saved(apply(&record(), Event::Defer { until }, &ctx, t0()).unwrap());
    let later = until + secs(10);
    for offered in [later, until] {
        assert_eq!(
            apply(&deferred, Event::Defer { until: offered }, &ctx, later).unwrap_err(),
            EnrollmentError::TimeOutOfRange
        );
    }
    assert_eq!(deferred_until(&deferred), Some(until));
    assert_eq!(deferred.deferrals_used(), 1);
    // The next second is accepted.
    let (next, _) = saved(
        apply(
            &deferred,
            Event::Defer {
                until: later + secs(1),
            },
            &ctx,
            later,
        )
        .unwrap(),
    );
    assert_eq!(deferred_until(&next), Some(later + secs(1)));
}

#[test]
fn the_machine_neither_caps_deferrals_nor_reads_enforcement() {
    // Both are the enforcement gate's decision: the machine records what
    // it is given, whatever the company's rule on the last method.
    let env = Env::new();
    for ctx in [env.optional(), env.ctx(KEPT)] {
        let mut record = record();
        let mut at = t0();
        for n in 1..=10u32 {
            let until = at + TimeDelta::hours(48);
            record = saved(apply(&record, Event::Defer { until }, &ctx, at).unwrap()).0;
            assert_eq!(record.deferrals_used(), n);
            assert_eq!(deferred_until(&record), Some(until));
            at = until;
        }
        let pending = start_app(&env, t0());
        let until = t0() + secs(1);
        let (deferred, _) = saved(apply(&pending, Event::Defer { until }, &ctx, t0()).unwrap());
        assert_eq!(deferred_until(&deferred), Some(until));
    }
}
