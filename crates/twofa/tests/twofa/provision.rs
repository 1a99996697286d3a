//! A developer's first program: provisioning through the service, the
//! builder that names what is missing, keys from configuration, refusals
//! that say why, and the README's program.

use std::sync::Arc;

use chrono::TimeDelta;
use twofa::delivery::{EmailAddress, Issuer, Outbox};
use twofa::trusted_network::Cidr;
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    AuditEvent, BuildError, Channels, KeyError, KeyName, Keys, LoginStep, NewCompany, NewUser,
    ProvisionError, RejectionDetail, RequiredPart, RetryAdvice, Stores, Twofa, UserUpdate,
};

use crate::{Now, OFFICE, Portal, challenge, home, office, set_up, totp_code};

fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

#[tokio::test]
async fn users_and_companies_are_created_changed_and_deleted_through_the_service() {
    let portal = Portal::new().await;
    let globex = CompanyId::new("globex").unwrap();
    portal
        .twofa
        .create_company(NewCompany::new(globex.clone()))
        .await
        .unwrap();
    assert_eq!(
        portal
            .twofa
            .create_company(NewCompany::new(globex.clone()))
            .await,
        Err(ProvisionError::CompanyExists)
    );
    let carol = user("carol");
    let new_carol = NewUser::new(
        carol.clone(),
        globex.clone(),
        AccountKind::PartnerEmployee,
        "Carol",
    );
    portal.twofa.create_user(new_carol.clone()).await.unwrap();
    assert_eq!(
        portal.twofa.create_user(new_carol).await,
        Err(ProvisionError::UserExists)
    );
    let nowhere = NewUser::new(
        user("dan"),
        CompanyId::new("initech").unwrap(),
        AccountKind::PartnerEmployee,
        "Dan",
    );
    assert_eq!(
        portal.twofa.create_user(nowhere).await,
        Err(ProvisionError::UnknownCompany)
    );
    let unnamed = NewUser::new(user("eve"), globex.clone(), AccountKind::EndUserClient, "");
    assert_eq!(
        portal.twofa.create_user(unnamed).await,
        Err(ProvisionError::InvalidDisplayName)
    );
    assert_eq!(
        portal.twofa.user(&user("eve")).await,
        Err(ProvisionError::UnknownUser)
    );

    // The new user logs in like any other: set-up first.
    set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());

    let update = UserUpdate::new()
        .with_display_name("Carol Smith")
        .with_kind(AccountKind::EndUserClient);
    portal.twofa.update_user(&carol, update).await.unwrap();
    let record = portal.twofa.user(&carol).await.unwrap();
    assert_eq!(record.display_name(), "Carol Smith");
    assert_eq!(record.kind(), AccountKind::EndUserClient);
    assert_eq!(
        portal
            .twofa
            .update_user(&user("nobody"), UserUpdate::new().with_display_name("X"))
            .await,
        Err(ProvisionError::UnknownUser)
    );

    assert_eq!(
        portal.twofa.delete_company(&globex).await,
        Err(ProvisionError::CompanyHasUsers { users: 1 })
    );
    portal.twofa.delete_user(&carol).await.unwrap();
    assert_eq!(
        portal.twofa.delete_user(&carol).await,
        Err(ProvisionError::UnknownUser)
    );
    // A deleted user's logins fail closed.
    let refused = portal.twofa.begin_login(&carol, &home()).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::UnknownUser);
    portal.twofa.delete_company(&globex).await.unwrap();
    assert_eq!(
        portal.twofa.delete_company(&globex).await,
        Err(ProvisionError::UnknownCompany)
    );

    let events: Vec<AuditEvent> = portal
        .audit()
        .await
        .into_iter()
        .map(|entry| entry.event().clone())
        .filter(|event| {
            matches!(
                event,
                AuditEvent::CompanyCreated
                    | AuditEvent::CompanyDeleted
                    | AuditEvent::UserCreated
                    | AuditEvent::UserUpdated
                    | AuditEvent::UserDeleted
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            AuditEvent::CompanyCreated,
            AuditEvent::UserCreated,
            AuditEvent::UserUpdated,
            AuditEvent::UserDeleted,
            AuditEvent::CompanyDeleted,
        ]
    );
}

#[tokio::test]
async fn a_company_that_enforces_two_factor_authentication_is_never_deleted() {
    let portal = Portal::new().await;
    let alice = user("alice");
    portal
        .twofa
        .enforce_two_factor(portal.admin().await)
        .await
        .unwrap();
    portal.twofa.delete_user(&alice).await.unwrap();
    assert_eq!(
        portal.twofa.delete_company(&portal.acme).await,
        Err(ProvisionError::CompanyEnforces)
    );
    // Still there, still enforcing: a user added again cannot defer.
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(screen.remind_me_until.is_none());
}

#[tokio::test]
async fn a_new_email_address_or_account_kind_ends_the_trusted_network_grant() {
    for update in [
        UserUpdate::new().with_email(Some(EmailAddress::parse("bob@new.example").unwrap())),
        UserUpdate::new().with_email(None),
        UserUpdate::new().with_kind(AccountKind::EndUserClient),
    ] {
        let portal = Portal::new().await;
        portal
            .twofa
            .add_trusted_network(
                portal.admin().await,
                Cidr::parse(OFFICE).unwrap(),
                "Head office",
            )
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
            .update_user(&bob, update.clone())
            .await
            .unwrap();
        challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    }
}

#[tokio::test]
async fn a_new_display_name_keeps_the_grant_and_a_new_email_reaches_the_enrollment() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal
        .twofa
        .update_user(&bob, UserUpdate::new().with_display_name("Robert"))
        .await
        .unwrap();
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    let new = EmailAddress::parse("robert@new.example").unwrap();
    portal
        .twofa
        .update_user(&bob, UserUpdate::new().with_email(Some(new.clone())))
        .await
        .unwrap();
    let record = portal.twofa.user(&bob).await.unwrap();
    assert_eq!(record.email(), Some(&new));
    let enrollment = record.enrollment().unwrap().open(&crate::sealer()).unwrap();
    assert_eq!(enrollment.email(), Some(&new));
}

#[tokio::test]
async fn a_deleted_user_created_again_starts_without_the_old_grant() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.twofa.delete_user(&bob).await.unwrap();
    assert!(
        portal
            .twofa
            .stores()
            .grants()
            .load(&bob)
            .await
            .unwrap()
            .is_none()
    );
    portal.add_user("bob", AccountKind::PartnerEmployee).await;
    set_up(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[test]
fn the_builder_names_the_part_that_is_missing() {
    let outbox = Arc::new(Outbox::new());
    let issuer = || Issuer::new("Partner Portal").unwrap();
    let keys = || Keys::generate().unwrap();
    let missing = |result: Result<Twofa, BuildError>| result.map(|_| ()).unwrap_err();
    assert_eq!(
        missing(Twofa::builder().build()),
        BuildError::Missing(RequiredPart::Stores)
    );
    assert_eq!(
        missing(Twofa::builder().stores(Stores::in_memory()).build()),
        BuildError::Missing(RequiredPart::Channels)
    );
    let error = missing(
        Twofa::builder()
            .stores(Stores::in_memory())
            .channels(Channels::outbox(&outbox))
            .issuer(issuer())
            .build(),
    );
    assert_eq!(error, BuildError::Missing(RequiredPart::ServerKey));
    assert!(
        error.to_string().contains(".keys(Keys::from_hex"),
        "{error}"
    );
    assert_eq!(
        missing(
            Twofa::builder()
                .stores(Stores::in_memory())
                .channels(Channels::outbox(&outbox))
                .keys(keys())
                .build()
        ),
        BuildError::Missing(RequiredPart::Issuer)
    );
    let complete = || {
        Twofa::builder()
            .stores(Stores::in_memory())
            .channels(Channels::outbox(&outbox))
            .keys(keys())
            .issuer(issuer())
    };
    assert_eq!(
        missing(complete().with_ticket_lifetime(TimeDelta::zero()).build()),
        BuildError::TicketLifetime
    );
    assert_eq!(
        missing(complete().with_max_store_attempts(0).build()),
        BuildError::MaxStoreAttempts
    );
    assert!(complete().build().is_ok());
}

#[test]
fn keys_load_from_hex_and_base64_and_say_what_is_wrong() {
    let hex_server = "00".repeat(31) + "01";
    let hex_sealing = "ff".repeat(32);
    let keys = Keys::from_hex(&hex_server, &format!("  {}\n", hex_sealing.to_uppercase())).unwrap();
    let (server, sealing) = keys.to_hex();
    assert_eq!(
        (server.as_str(), sealing.as_str()),
        (hex_server.as_str(), hex_sealing.as_str())
    );
    assert_eq!(format!("{keys:?}"), "Keys([REDACTED])");

    // 32 bytes of 0xfb in base64: standard alphabet with padding, URL-safe
    // without.
    let standard = "+/v7".repeat(10) + "+/s=";
    let url_safe = "-_v7".repeat(10) + "-_s";
    let keys = Keys::from_base64(&standard, &url_safe);
    assert_eq!(keys.map(|_| ()), Err(KeyError::SameKeys));
    let keys = Keys::from_base64(&standard, &"AAAA".repeat(10).replace("AAAA", "AQID")).map(|_| ());
    assert_eq!(
        keys,
        Err(KeyError::Length {
            key: KeyName::SealingKey,
            bytes: 30
        })
    );
    assert_eq!(
        Keys::from_hex("zz", &hex_sealing).map(|_| ()),
        Err(KeyError::Encoding {
            key: KeyName::ServerKey,
            encoding: "hex"
        })
    );
    assert_eq!(
        Keys::from_hex(&hex_server, &"ab".repeat(31)).map(|_| ()),
        Err(KeyError::Length {
            key: KeyName::SealingKey,
            bytes: 31
        })
    );
    assert_eq!(
        Keys::from_base64("not base64!", &standard).map(|_| ()),
        Err(KeyError::Encoding {
            key: KeyName::ServerKey,
            encoding: "base64"
        })
    );
    let error = Keys::from_hex(&hex_server, &hex_server)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(error, KeyError::SameKeys);
    assert!(!error.to_string().contains(&hex_server));
    // Two generated key pairs differ, and each loads back.
    let (a, b) = (Keys::generate().unwrap(), Keys::generate().unwrap());
    assert_ne!(a.to_hex().0, b.to_hex().0);
    let (server, sealing) = a.to_hex();
    assert!(Keys::from_hex(&server, &sealing).is_ok());
}

#[tokio::test]
async fn a_refusal_carries_its_reason_for_the_logs_and_only_advice_for_the_user() {
    let portal = Portal::new().await;
    let refused = portal
        .twofa
        .begin_login(&user("nobody"), &home())
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::UnknownUser);
    assert_eq!(refused.advice(), RetryAdvice::StartOver);
    assert!(refused.to_string().contains("unknown user"), "{refused}");

    // A user whose company record is gone.
    let orphan = user("orphan");
    let record = twofa::UserRecord::new(
        orphan.clone(),
        CompanyId::new("gone").unwrap(),
        AccountKind::PartnerEmployee,
        "Orphan",
    );
    portal
        .twofa
        .stores()
        .users()
        .save(&orphan, record, None)
        .await
        .unwrap();
    let refused = portal
        .twofa
        .begin_login(&orphan, &home())
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::UnknownCompany);
    assert_eq!(refused.advice(), RetryAdvice::StartOver);

    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let wrong = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "000000")
        .await
        .unwrap_err();
    assert_eq!(
        (wrong.reason(), wrong.advice()),
        (RejectionDetail::WrongCode, RetryAdvice::IncorrectCode)
    );
    // The code the set-up just used, again in the same step: a replay,
    // filed as such, told to the user like any wrong code.
    let replayed = portal
        .twofa
        .submit_code(&bob, &screen.ticket, &totp_code(&uri, portal.clock.now()))
        .await
        .unwrap_err();
    assert_eq!(
        (replayed.reason(), replayed.advice()),
        (RejectionDetail::Replayed, RetryAdvice::IncorrectCode)
    );
    let audited: Vec<RejectionDetail> = portal
        .audit()
        .await
        .into_iter()
        .filter_map(|entry| match entry.event() {
            AuditEvent::Rejected { detail } => Some(*detail),
            _ => None,
        })
        .collect();
    assert_eq!(
        audited,
        [
            RejectionDetail::UnknownUser,
            RejectionDetail::UnknownCompany,
            RejectionDetail::WrongCode,
            RejectionDetail::Replayed,
        ]
    );
    // Expired ticket.
    portal.advance(TimeDelta::minutes(31));
    let expired = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "123456")
        .await
        .unwrap_err();
    assert_eq!(expired.reason(), RejectionDetail::TicketExpired);
}

#[test]
fn the_readme_shows_the_quickstart_program_as_it_is() {
    let readme = include_str!("../../../../README.md");
    let program = include_str!("../../examples/quickstart.rs");
    let block = readme
        .split("```rust\n")
        .find(|block| block.contains("async fn main()"))
        .and_then(|block| block.split("```").next())
        .expect("the README's integration example");
    assert_eq!(block, program);
}
