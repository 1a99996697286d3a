//! Validation of policy values, and the auto traits of the public types.

use super::*;

#[test]
fn policy_values_are_validated() {
    assert_eq!(
        EnrollmentPolicy::default()
            .with_app_pending_lifetime(TimeDelta::zero())
            .unwrap_err(),
        EnrollmentPolicyError::NotPositive {
            setting: "app pending lifetime"
        }
    );
    assert!(
        EnrollmentPolicy::default()
            .with_step_up_freshness(secs(-1))
            .is_err()
    );
    assert!(EnrollmentPolicy::default().with_max_wrong_codes(0).is_err());
    assert_eq!(
        ThrottlePolicy::default()
            .with_suspend_after(101)
            .unwrap_err(),
        EnrollmentPolicyError::SuspensionThresholdTooHigh {
            failures: 101,
            max: 100
        }
    );
    assert!(
        ThrottlePolicy::default()
            .with_delays(secs(10), secs(5))
            .is_err()
    );
    assert!(DisplayName::new("a:b").is_err());
    assert!(DisplayName::new(" a").is_err());
    assert!(DisplayName::new("").is_err());
    let policy = EnrollmentPolicy::default();
    assert_eq!(policy.challenge().lifetime(), TimeDelta::minutes(10));
    assert_eq!(policy.app_pending_lifetime(), TimeDelta::minutes(30));
    assert_eq!(policy.max_wrong_codes(), 5);
    assert_eq!(policy.step_up_freshness(), TimeDelta::minutes(10));
    let _ = (ChallengePolicy::default(), CodeChannel::Sms);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Enrollment>();
    check::<Transition>();
    check::<Dispatch>();
    check::<PushDispatch>();
    check::<Effect>();
    check::<Event>();
    check::<EnrollmentError>();
    check::<LoginAccepted>();
    check::<Context<'static>>();
    check::<EnrollmentSummary>();
    check::<RecoveryCodeSheet>();
}
