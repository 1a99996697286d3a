//! Login codes sent to a phone method.

use super::*;

#[test]
fn sms_login_codes_are_bound_to_the_transaction_and_single_use() {
    let env = Env::new();
    let record = enrolled_sms(&env, t0());
    let at = t0() + TimeDelta::hours(1);
    let dispatch = record
        .send_login_code(
            MethodId::new(1),
            None,
            &tx(),
            &env.optional(),
            at,
            &mut rng(),
        )
        .unwrap();
    let c = dispatch.expose_code().to_owned();
    let (with_code, _) = dispatch.sent().into_parts();
    let other = TransactionId::new("login-2").unwrap();
    let refused = with_code
        .verify_login(
            &LoginAttempt::Code {
                method: MethodId::new(1),
                code: code(&c),
            },
            &other,
            &env.optional(),
            at,
        )
        .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::NoCodeOutstanding);
    let accepted = login(&with_code, 1, &c, &env.optional(), at).unwrap();
    let (after, effects) = accepted.outcome.into_parts();
    assert_eq!(audits(&effects), ["login.succeeded"]);
    assert_eq!(after.last_second_factor_at(), Some(at));
    assert!(login(&after, 1, &c, &env.optional(), at).is_err());
}
