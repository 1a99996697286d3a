//! Trusted networks: skipped prompts, the end of a grant, and client
//! accounts that are always prompted.

use chrono::TimeDelta;
use twofa::trusted_network::Cidr;
use twofa::types::AccountKind;
use twofa::{AllowedBy, LoginStep};

use crate::{Now, OFFICE, Portal, challenge, home, into_allowed, office, totp_code};

// --- Feature 8: trusted networks -------------------------------------------

#[tokio::test]
async fn a_trusted_network_skips_the_prompt_for_21_days_to_the_second() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.advance(TimeDelta::minutes(1));
    // Enrolling from the office completes a second factor there: grant.
    let (uri, _) = portal.enroll_app(&bob).await;
    let granted = portal.clock.now();
    let expiry = granted + TimeDelta::days(21);

    portal.clock.set(expiry - TimeDelta::seconds(1));
    let step = portal.twofa.begin_login(&bob, &office()).await.unwrap();
    let LoginStep::Allowed(allowed) = step else {
        panic!("expected no prompt 20 days later, got {step:?}");
    };
    assert!(matches!(allowed.by, AllowedBy::TrustedNetwork { until, .. } if until == expiry));
    // From home the prompt is there.
    challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());

    portal.clock.set(expiry + TimeDelta::seconds(1));
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    portal.clock.set(expiry);
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    // The answer from the office earned a new grant.
    portal.advance(TimeDelta::days(20));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    // The admin revokes it: prompted again.
    assert!(
        portal
            .twofa
            .revoke_trust_grant(portal.admin().await, &bob)
            .await
            .unwrap()
    );
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[tokio::test]
async fn removing_a_network_ends_the_grants_earned_on_it() {
    let portal = Portal::new().await;
    let office_net = Cidr::parse(OFFICE).unwrap();
    portal
        .twofa
        .add_trusted_network(portal.admin().await, office_net, "Head office")
        .await
        .unwrap();
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::days(1));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    portal
        .twofa
        .remove_trusted_network(portal.admin().await, office_net)
        .await
        .unwrap();
    portal
        .twofa
        .add_trusted_network(portal.admin().await, office_net, "Head office again")
        .await
        .unwrap();
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[tokio::test]
async fn client_accounts_are_prompted_at_every_login_even_on_trusted_networks() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let client = portal.add_user("dana", AccountKind::EndUserClient).await;
    let (uri, _) = portal.enroll_app(&client).await;
    for _ in 0..3 {
        portal.advance(TimeDelta::hours(1));
        let screen = challenge(portal.twofa.begin_login(&client, &office()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        into_allowed(
            portal
                .twofa
                .submit_code(&client, &screen.ticket, &code)
                .await
                .unwrap(),
        );
    }
    assert!(
        portal
            .twofa
            .stores()
            .grants()
            .load(&client)
            .await
            .unwrap()
            .is_none()
    );
}

/// Bob on the office network with an SMS method and a trust grant.
async fn sms_user_with_a_grant(portal: &Portal) -> twofa::types::UserId {
    use twofa::enrollment::PhoneChannel;
    use twofa::{MethodChoice, PhoneChoice};
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = crate::set_up(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    let choice = MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms));
    portal
        .twofa
        .choose_method(&bob, &screen.ticket, choice)
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
    portal.advance(TimeDelta::minutes(1));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    bob
}

#[tokio::test]
async fn a_new_phone_number_ends_the_trusted_network_grant() {
    use twofa::PhoneChoice;
    use twofa::enrollment::PhoneChannel;
    let portal = Portal::new().await;
    let bob = sms_user_with_a_grant(&portal).await;
    portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap();
    let code = portal.last_code();
    portal
        .twofa
        .confirm_phone_change(&bob, &code)
        .await
        .unwrap();
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[tokio::test]
async fn a_password_change_reported_by_the_application_ends_the_grant() {
    let portal = Portal::new().await;
    let bob = sms_user_with_a_grant(&portal).await;
    portal.twofa.password_changed(&bob).await.unwrap();
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert!(portal.audit().await.iter().any(|entry| {
        entry.user() == Some(&bob) && *entry.event() == twofa::AuditEvent::PasswordChanged
    }));
    let nobody = twofa::types::UserId::new("nobody").unwrap();
    assert!(portal.twofa.password_changed(&nobody).await.is_err());
}

#[tokio::test]
async fn trusted_address_space_is_limited_over_the_union_and_the_override_is_audited() {
    use twofa::AdminError;
    let portal = Portal::new().await;
    let add = |text: &'static str| {
        let twofa = &portal.twofa;
        let admin = &portal.admin_actor;
        async move {
            twofa
                .add_trusted_network(admin, Cidr::parse(text).unwrap(), "office")
                .await
        }
    };
    // Everything, in two halves: refused half by half.
    assert_eq!(add("0.0.0.0/1").await, Err(AdminError::TooMuchAddressSpace));
    assert_eq!(
        add("128.0.0.0/1").await,
        Err(AdminError::TooMuchAddressSpace)
    );
    assert_eq!(add("::/1").await, Err(AdminError::TooMuchAddressSpace));
    // A /16 in two halves is exactly the limit; one address more is not.
    add("10.0.0.0/17").await.unwrap();
    add("10.0.128.0/17").await.unwrap();
    add("10.0.5.0/24").await.unwrap(); // inside: counted once
    assert_eq!(
        add("10.1.0.0/32").await,
        Err(AdminError::TooMuchAddressSpace)
    );
    add("2001:db8::/48").await.unwrap();
    assert_eq!(
        add("2001:db9::/128").await,
        Err(AdminError::TooMuchAddressSpace)
    );

    // The explicit override, audited as such.
    portal
        .twofa
        .add_trusted_network_beyond_limit(
            portal.admin().await,
            Cidr::parse("10.1.0.0/32").unwrap(),
            "lab",
        )
        .await
        .unwrap();
    assert!(portal.audit().await.iter().any(|entry| matches!(
        entry.event(),
        twofa::AuditEvent::NetworkAddedBeyondLimit { network, .. } if network.to_string() == "10.1.0.0/32"
    )));
}
