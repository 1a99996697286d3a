//! Policy validation: the portal's defaults and specific errors for invalid
//! policies.

use super::*;

#[test]
fn policy_defaults_are_the_portals() {
    let p = CompanyPolicy::default();
    assert_eq!(p.deferral_length(), secs(H48));
    assert_eq!(p.deferral_cap(), DeferralCap::AtMost(3));
    assert_eq!(p.trusted_network_reprompt(), secs(21 * 24 * 3600));
    assert_eq!(p.out_of_band_code_lifetime(), secs(600));
    assert_eq!(p.pending_setup_lifetime(), secs(1800));
    assert_eq!(p.attempts_per_challenge(), 5);
    assert_eq!(p.allowed_methods().len(), 5);
    assert_eq!(p.resend_channels().len(), 3);
}

#[test]
fn invalid_policies_are_refused_with_specific_errors() {
    let b = CompanyPolicy::builder();
    assert_eq!(
        b.with_allowed_methods(MethodSet::empty()).build(),
        Err(CompanyPolicyError::NoMethodAllowed)
    );
    assert_eq!(
        b.with_deferral_length(TimeDelta::zero()).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::DeferralLength
        })
    );
    assert_eq!(
        b.with_trusted_network_reprompt(secs(-1)).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::TrustedNetworkReprompt
        })
    );
    assert_eq!(
        b.with_out_of_band_code_lifetime(secs(601)).build(),
        Err(CompanyPolicyError::TooLong {
            setting: DurationSetting::OutOfBandCodeLifetime,
            max_seconds: 600
        })
    );
    assert!(b.with_out_of_band_code_lifetime(secs(600)).build().is_ok());
    assert!(b.with_out_of_band_code_lifetime(secs(599)).build().is_ok());
    assert_eq!(
        b.with_pending_setup_lifetime(TimeDelta::zero()).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::PendingSetupLifetime
        })
    );
    assert_eq!(
        b.with_attempts_per_challenge(0).build(),
        Err(CompanyPolicyError::ZeroAttempts)
    );
    // An admin who switches off SMS and voice must drop those re-sends too.
    let app_only = MethodSet::of(&[Method::AuthenticatorApp, Method::PushApp]);
    assert_eq!(
        b.with_allowed_methods(app_only).build(),
        Err(CompanyPolicyError::ResendWithoutMethod {
            channel: CodeChannel::Sms
        })
    );
    let policy = b
        .with_allowed_methods(app_only)
        .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
        .build()
        .unwrap();
    assert_eq!(policy.allowed_methods(), app_only);
    // Switching off e-mail re-send is allowed.
    assert!(
        b.with_resend_channels(CodeChannelSet::all().without(CodeChannel::Email))
            .build()
            .is_ok()
    );
}
