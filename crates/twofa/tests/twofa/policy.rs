//! Every value of a company's policy is applied, to the second and to the
//! attempt; none falls back to a default.

use chrono::TimeDelta;
use twofa::enforcement::{CompanyPolicy, CompanyPolicyError, DurationSetting};
use twofa::enrollment::PhoneChannel;
use twofa::types::AccountKind;
use twofa::{LoginStep, MethodChoice, PhoneChoice, RejectionDetail, RetryAdvice, SetUpProgress};

use crate::{Now, Portal, home, set_up, totp_code};

async fn with_policy(portal: &Portal, policy: CompanyPolicy) {
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_companys_attempts_per_challenge_limit_the_wrong_codes() {
    let portal = Portal::new().await;
    let policy = CompanyPolicy::builder()
        .with_attempts_per_challenge(2)
        .build()
        .unwrap();
    with_policy(&portal, policy).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let choice = MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms));
    portal
        .twofa
        .choose_method(&bob, &screen.ticket, choice)
        .await
        .unwrap();
    let code = portal.last_code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        let refused = portal
            .twofa
            .submit_code(&bob, &screen.ticket, wrong)
            .await
            .unwrap_err();
        assert_eq!(refused.reason(), RejectionDetail::WrongCode);
    }
    // The third try is not evaluated, even with the right code.
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, &code)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::NewCodeNeeded);
}

#[tokio::test]
async fn the_companys_set_up_lifetime_ends_a_pending_app_set_up_to_the_second() {
    for (after, accepted) in [
        (TimeDelta::seconds(299), true),
        (TimeDelta::seconds(300), false),
    ] {
        let portal = Portal::new().await;
        let policy = CompanyPolicy::builder()
            .with_pending_setup_lifetime(TimeDelta::minutes(5))
            .build()
            .unwrap();
        with_policy(&portal, policy).await;
        let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
        let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
        let SetUpProgress::ScanQrCode(uri) = portal
            .twofa
            .choose_method(&bob, &screen.ticket, MethodChoice::AuthenticatorApp)
            .await
            .unwrap()
        else {
            panic!("expected a QR code");
        };
        portal.advance(after);
        let code = totp_code(&uri, portal.clock.now());
        let answer = portal.twofa.submit_code(&bob, &screen.ticket, &code).await;
        assert_eq!(
            matches!(answer, Ok(LoginStep::Allowed(_))),
            accepted,
            "{after}: {answer:?}"
        );
        if let Err(refused) = answer {
            assert_eq!(refused.reason(), RejectionDetail::CodeExpired);
        }
    }
}

#[test]
fn a_duration_that_is_not_whole_seconds_is_refused_when_set() {
    let refused = CompanyPolicy::builder()
        .with_trusted_network_reprompt(TimeDelta::days(21) + TimeDelta::milliseconds(500))
        .build();
    assert_eq!(
        refused,
        Err(CompanyPolicyError::NotWholeSeconds {
            setting: DurationSetting::TrustedNetworkReprompt
        })
    );
}
