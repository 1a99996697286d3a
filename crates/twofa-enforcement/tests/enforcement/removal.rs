//! Removing a method: never the last one under enforcement, never the last
//! one the company allows.

use super::*;
use twofa_enforcement::{RemovalRefused, may_remove_leaving};

fn app_only() -> CompanyPolicy {
    CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp]))
        .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
        .build()
        .unwrap()
}

#[test]
fn the_last_method_stays_only_under_enforcement() {
    let policy = CompanyPolicy::default();
    assert_eq!(
        may_remove_leaving(&enforced(), &policy, MethodSet::empty()),
        Err(RemovalRefused::LastMethodUnderEnforcement)
    );
    assert_eq!(
        may_remove_leaving(&not_enforced(), &policy, MethodSet::empty()),
        Ok(())
    );
    assert_eq!(
        may_remove_leaving(&enforced(), &policy, MethodSet::of(&[Method::Sms])),
        Ok(())
    );
}

#[test]
fn the_last_allowed_method_stays_whether_or_not_enforced() {
    for settings in [enforced(), not_enforced()] {
        assert_eq!(
            may_remove_leaving(&settings, &app_only(), MethodSet::of(&[Method::Sms])),
            Err(RemovalRefused::LastAllowedMethod)
        );
        assert_eq!(
            may_remove_leaving(
                &settings,
                &app_only(),
                MethodSet::of(&[Method::Sms, Method::AuthenticatorApp])
            ),
            Ok(())
        );
    }
}
