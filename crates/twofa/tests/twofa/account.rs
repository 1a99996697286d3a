//! The name and number used for 2FA, changed from the account settings.

use chrono::TimeDelta;
use twofa::enrollment::PhoneChannel;
use twofa::types::AccountKind;
use twofa::{MethodChoice, PhoneChoice, RetryAdvice, SetUpProgress};

use crate::{Portal, challenge, home, into_allowed, set_up};

// --- Feature 6: the name and number used for 2FA -------------------------------

#[tokio::test]
async fn a_new_number_is_verified_before_it_replaces_the_old_one() {
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
    portal
        .twofa
        .change_display_name(&bob, "Bob B.")
        .await
        .unwrap();
    assert!(portal.twofa.change_display_name(&bob, "").await.is_err());
    // The company's report shows the name used for 2FA, as changed.
    let report = portal
        .twofa
        .enrollment_report(portal.admin().await)
        .await
        .unwrap();
    let names: Vec<&str> = report
        .rows()
        .iter()
        .filter(|row| row.user_id() == &bob)
        .map(|row| row.display_name())
        .collect();
    assert_eq!(names, ["Bob B."]);

    // Just after a second factor, Bob starts the change: the code goes to
    // the new number.
    let SetUpProgress::CodeSent(sent) = portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap()
    else {
        panic!("expected a code to the new number");
    };
    assert_eq!(sent.to, "+44 ••• ••• 4321");
    let new_code = portal.last_code();
    assert!(
        portal
            .twofa
            .confirm_phone_change(&bob, "000000")
            .await
            .is_err()
            || new_code == "000000"
    );
    portal
        .twofa
        .confirm_phone_change(&bob, &new_code)
        .await
        .unwrap();

    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 4321"));
}

#[tokio::test]
async fn a_number_change_needs_a_recent_second_factor_and_keeps_the_old_number_until_confirmed() {
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
    portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap();
    // Not confirmed: logins still go to the old number.
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    // An hour later the step-up is stale.
    portal.advance(TimeDelta::hours(1));
    let stale = portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 999999", PhoneChannel::Sms))
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);
}
