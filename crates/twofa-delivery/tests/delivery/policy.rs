//! The challenge policy: code length, the portal's defaults, validation of
//! the values, and time overflow.

use super::*;

#[test]
fn code_length_is_configurable_from_six_to_ten() {
    assert!(CodeLength::new(5).is_err());
    assert!(CodeLength::new(11).is_err());
    assert_eq!(CodeLength::default().digits(), 6);
    for digits in 6..=10 {
        let policy = ChallengePolicy::default().with_code_length(CodeLength::new(digits).unwrap());
        let (challenge, code) = issued(&policy, u64::from(digits));
        assert_eq!(code.len(), usize::from(digits));
        assert!(challenge.check(&code, &policy, &key(), t0()).is_ok());
    }
}

#[test]
fn policy_defaults_are_the_portals() {
    let policy = ChallengePolicy::default();
    assert_eq!(policy.lifetime(), TimeDelta::minutes(10));
    assert_eq!(policy.max_failed_checks(), 5);
    assert_eq!(policy.resend_cooldown(), secs(30));
    assert_eq!(policy.max_sends(), 5);
    assert_eq!(policy.code_length().digits(), 6);
    assert_eq!(policy.enabled_channels(), ChannelSet::all());
    let push = PushPolicy::default();
    assert_eq!(push.lifetime(), TimeDelta::minutes(2));
    assert_eq!(push.max_prompts(), 3);
    assert_eq!(push.window(), TimeDelta::minutes(10));
}

#[test]
fn policy_values_are_validated() {
    let p = ChallengePolicy::default();
    assert!(p.with_lifetime(TimeDelta::zero()).is_err());
    assert!(p.with_lifetime(TimeDelta::days(1) + secs(1)).is_err());
    assert!(p.with_lifetime(TimeDelta::days(1)).is_ok());
    assert!(p.with_max_failed_checks(0).is_err());
    assert!(p.with_max_failed_checks(101).is_err());
    assert!(p.with_max_sends(0).is_err());
    assert!(p.with_resend_cooldown(secs(-1)).is_err());
    assert!(p.with_resend_cooldown(TimeDelta::zero()).is_ok());
    assert!(PushPolicy::default().with_rate_limit(0, secs(60)).is_err());
    assert!(PushPolicy::default().with_rate_limit(1, secs(0)).is_err());
    assert_eq!(
        ServerKey::from_bytes(&[0u8; 31]).unwrap_err(),
        ServerKeyError::Length {
            len: 31,
            min: 32,
            max: 64
        }
    );
    assert!(ServerKey::from_bytes(&[0u8; 65]).is_err());
    assert!(ServerKey::from_bytes(&[0u8; 64]).is_ok());
}

#[test]
fn time_overflow_is_an_error_not_a_panic() {
    let policy = ChallengePolicy::default();
    let result = OobChallenge::issue(
        sms_request(),
        &policy,
        &templates(),
        &key(),
        DateTime::<Utc>::MAX_UTC,
        &mut rng(1),
    );
    assert_eq!(result.unwrap_err(), IssueError::TimeOutOfRange);
}
