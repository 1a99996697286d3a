//! Failure throttling and suspension across set-up and login.

use super::*;

#[test]
fn throttling_delays_start_after_five_failures_and_double_to_the_cap() {
    let env = Env::new();
    let throttle = env.policy.throttle();
    let (mut record, _) = enrolled_app(&env, t0());
    let mut at = t0() + secs(60);
    for n in 1..=5u32 {
        record = fail_login(&record, &env, at);
        assert_eq!(record.failures().consecutive(), n);
        assert_eq!(record.failures().next_attempt_at(throttle), None);
    }
    // Failure 6 waits 1 s, 7 waits 2 s, 8 waits 4 s.
    for (n, wait) in [(6u32, 1i64), (7, 2), (8, 4)] {
        record = fail_login(&record, &env, at);
        assert_eq!(record.failures().consecutive(), n);
        let next = at + secs(wait);
        assert_eq!(record.failures().next_attempt_at(throttle), Some(next));
        let secret = method_secret(&record, 1);
        // One second early: refused without evaluating even the right code.
        let early = next - secs(1);
        let refused = login(
            &record,
            1,
            &totp_code(&secret, early),
            &env.optional(),
            early,
        )
        .unwrap_err();
        assert_eq!(refused.reason, EnrollmentError::RetryAfter { at: next });
        assert!(refused.outcome.is_none());
        at = next;
    }
    // At the instant and after, the code is evaluated.
    let secret = method_secret(&record, 1);
    let accepted = login(&record, 1, &totp_code(&secret, at), &env.optional(), at).unwrap();
    assert_eq!(accepted.outcome.record().failures().consecutive(), 0);
    // The delay is capped at 15 minutes.
    assert_eq!(throttle.delay_after(5), TimeDelta::zero());
    assert_eq!(throttle.delay_after(6), secs(1));
    assert_eq!(throttle.delay_after(15), secs(512));
    assert_eq!(throttle.delay_after(16), TimeDelta::minutes(15));
    assert_eq!(throttle.delay_after(99), TimeDelta::minutes(15));
    assert_eq!(throttle.delay_after(u32::MAX), TimeDelta::minutes(15));
}

#[test]
fn one_hundred_failures_suspend_until_a_recovery_code_or_admin_reset() {
    let env = Env::new();
    let throttle = env.policy.throttle();
    let (mut record, codes) = enrolled_app(&env, t0());
    let mut at = t0() + secs(60);
    for _ in 0..99 {
        record = fail_login(&record, &env, at);
        at = record.failures().next_attempt_at(throttle).unwrap_or(at);
    }
    assert_eq!(record.failures().suspended_since(), None);
    let secret = method_secret(&record, 1);
    let rejected = login(&record, 1, &wrong_totp(&secret, at), &env.optional(), at).unwrap_err();
    assert_eq!(rejected.reason, EnrollmentError::Suspended { since: at });
    let (record, effects) = rejected.outcome.unwrap().into_parts();
    assert!(audits(&effects).contains(&"factor.suspended"));
    assert_eq!(record.failures().consecutive(), MAX_CONSECUTIVE_FAILURES);
    // The right code is no longer evaluated, even after the delay.
    let later = at + TimeDelta::hours(1);
    let refused = login(
        &record,
        1,
        &totp_code(&secret, later),
        &env.optional(),
        later,
    )
    .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::Suspended { since: at });
    assert_eq!(
        apply(
            &record,
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            later
        )
        .unwrap_err(),
        EnrollmentError::Suspended { since: at }
    );
    // A recovery code lifts the suspension.
    let accepted = record
        .verify_login(
            &LoginAttempt::RecoveryCode(recovery_code(&codes[0])),
            &tx(),
            &env.optional(),
            later,
        )
        .unwrap();
    assert_eq!(accepted.method, None);
    let (lifted, effects) = accepted.outcome.into_parts();
    assert_eq!(lifted.failures().suspended_since(), None);
    assert!(audits(&effects).contains(&"enrollment.recovery_code_used"));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(Notification {
            notice: Notice::RecoveryCodeUsed { remaining: 9 },
            ..
        })
    )));
    let next = later + secs(30);
    assert!(login(&lifted, 1, &totp_code(&secret, next), &env.optional(), next).is_ok());
    // Or an administrator resets the enrollment.
    let (reset, effects) =
        saved(apply(&record, Event::AdminReset, &env.optional(), later).unwrap());
    assert_eq!(reset.state().kind(), StateKind::NotEnrolled);
    assert_eq!(reset.failures().consecutive(), 0);
    assert_eq!(audits(&effects), ["enrollment.admin_reset"]);
}

#[test]
fn resend_never_resets_the_failure_count() {
    let env = Env::new();
    let (pending, c) = start_sms(&env, t0());
    let (pending, _) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&wrong_oob(&c))),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    let (after, _, _) = sent(
        apply(
            &pending,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            t0() + secs(30),
        )
        .unwrap(),
    );
    assert_eq!(after.failures().consecutive(), 1);
    let EnrollmentState::Pending(p) = after.state() else {
        panic!("still pending");
    };
    assert_eq!(p.failed_attempts(), 1);
}
