//! Push approval at set-up and at login.

use super::*;

#[test]
fn push_setup_is_approved_on_the_paired_device() {
    let env = Env::new();
    let ctx = env.optional();
    let (pending, effects) =
        saved(apply(&record(), Event::StartSetup(SetupChoice::Push), &ctx, t0()).unwrap());
    assert!(effects.iter().any(|e| matches!(e, Effect::ShowKeyUri(_))));
    assert_eq!(
        apply(
            &pending,
            Event::PushResponse(PushResponse::Deny),
            &ctx,
            t0()
        )
        .unwrap_err(),
        EnrollmentError::NoPushOutstanding
    );
    let dispatch = pending
        .send_push(PushTarget::PendingSetup, &tx(), &ctx, t0(), &mut rng())
        .unwrap();
    let number = dispatch.match_number();
    // The prompt names the application and the login's address; the
    // number is typed from the login page, never carried by the prompt.
    assert_eq!(dispatch.message().issuer.as_str(), "Example Portal");
    assert_eq!(
        dispatch.message().client_address,
        Some(IpAddr::from([198, 51, 100, 4]))
    );
    let (prompted, effects) = dispatch.sent().into_parts();
    assert_eq!(audits(&effects), ["push.sent"]);
    // The wrong number counts as a failed attempt.
    let (denied, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve {
                number: other_number(number),
            }),
            &ctx,
            t0() + secs(5),
        )
        .unwrap(),
    );
    assert!(matches!(
        effects[0],
        Effect::CodeRejected { attempts_left: 4 }
    ));
    assert_eq!(denied.failures().consecutive(), 1);
    assert_eq!(denied.state().kind(), StateKind::Pending);
    // A fresh prompt, approved with the right number, activates.
    let dispatch = denied
        .send_push(
            PushTarget::PendingSetup,
            &tx(),
            &ctx,
            t0() + secs(10),
            &mut rng(),
        )
        .unwrap();
    let number = dispatch.match_number();
    let (prompted, _) = dispatch.sent().into_parts();
    let (enrolled, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            t0() + secs(15),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.summary(t0()).methods[0].kind, Method::PushApp);
    assert_eq!(enrolled.failures().consecutive(), 0);
    assert!(audits(&effects).contains(&"enrollment.verified"));
    // The token works too.
    let at = t0() + secs(60);
    let c = totp_code(&method_secret(&enrolled, 1), at);
    assert!(login(&enrolled, 1, &c, &ctx, at).is_ok());
}

#[test]
fn push_login_needs_an_approval_for_this_transaction_and_consumes_it() {
    let env = Env::new();
    let ctx = env.optional();
    let pending =
        saved(apply(&record(), Event::StartSetup(SetupChoice::Push), &ctx, t0()).unwrap()).0;
    let c = totp_code(&pending_secret(&pending), t0());
    let enrolled = saved(apply(&pending, Event::SubmitCode(code(&c)), &ctx, t0()).unwrap()).0;
    let at = t0() + TimeDelta::hours(1);
    let push = LoginAttempt::Push {
        method: MethodId::new(1),
    };
    assert_eq!(
        enrolled
            .verify_login(&push, &tx(), &ctx, at)
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    let dispatch = enrolled
        .send_push(
            PushTarget::Method(MethodId::new(1)),
            &tx(),
            &ctx,
            at,
            &mut rng(),
        )
        .unwrap();
    let number = dispatch.match_number();
    let (prompted, _) = dispatch.sent().into_parts();
    assert_eq!(
        prompted
            .verify_login(&push, &tx(), &ctx, at)
            .unwrap_err()
            .reason,
        EnrollmentError::PushPending
    );
    // The prompt lives two minutes: an answer at expiry is refused.
    let expiry = at + TimeDelta::minutes(2);
    assert_eq!(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            expiry
        )
        .unwrap_err(),
        EnrollmentError::PendingExpired { expired_at: expiry }
    );
    let answered = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            expiry - secs(1),
        )
        .unwrap(),
    )
    .0;
    let other = TransactionId::new("login-2").unwrap();
    assert_eq!(
        answered
            .verify_login(&push, &other, &ctx, expiry - secs(1))
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    let accepted = answered
        .verify_login(&push, &tx(), &ctx, expiry - secs(1))
        .unwrap();
    let (after, _) = accepted.outcome.into_parts();
    assert_eq!(after.last_second_factor_at(), Some(expiry - secs(1)));
    assert_eq!(
        after
            .verify_login(&push, &tx(), &ctx, expiry - secs(1))
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    // A denial is a counted failure.
    let dispatch = after
        .send_push(
            PushTarget::Method(MethodId::new(1)),
            &tx(),
            &ctx,
            expiry,
            &mut rng(),
        )
        .unwrap();
    let (prompted, _) = dispatch.sent().into_parts();
    let (denied, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Deny),
            &ctx,
            expiry,
        )
        .unwrap(),
    );
    assert_eq!(denied.failures().consecutive(), 1);
    assert_eq!(audits(&effects), ["login.failed"]);
    assert_eq!(
        denied
            .verify_login(&push, &tx(), &ctx, expiry)
            .unwrap_err()
            .reason,
        EnrollmentError::PushDenied
    );
}
