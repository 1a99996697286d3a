//! Passkeys through the facade: set-up at login and in settings, login
//! with any of the user's passkeys, one login per ceremony whatever the
//! interleaving, the look-alike origin refused, and the company's
//! phishing-resistance requirement.

use std::sync::Arc;

use chrono::TimeDelta;
use twofa::enforcement::{CompanyPolicy, CompanyRole, PhishingResistance};
use twofa::passkey::{CredentialName, RefusalReason, SoftAuthenticator};
use twofa::types::{AccountKind, Method, MethodSet, UserId};
use twofa::{
    AllowedBy, LoginStep, LoginTicket, MethodChoice, RejectionDetail, RetryAdvice, SetUpProgress,
    Stores, UserUpdate,
};

use super::*;

/// An origin inside the relying party's id that it does not list (a
/// forgotten subdomain): authenticators sign for it, the service refuses.
const UNLISTED_ORIGIN: &str = "https://old.example.com";

fn named(name: &str) -> MethodChoice {
    MethodChoice::Passkey(CredentialName::new(name).unwrap())
}

/// The options of a passkey set-up step.
fn creation(progress: SetUpProgress) -> twofa::passkey::CreationOptions {
    match progress {
        SetUpProgress::CreatePasskey(options) => options,
        other => panic!("expected passkey options, got {other:?}"),
    }
}

/// Sets up a passkey on `auth` at `user`'s first login.
async fn enroll_passkey(portal: &Portal, user: &UserId, auth: &mut SoftAuthenticator) {
    let screen = set_up(portal.twofa.begin_login(user, &home()).await.unwrap());
    assert!(screen.methods.contains(Method::Passkey));
    let options = creation(
        portal
            .twofa
            .choose_method(user, &screen.ticket, named("Work laptop"))
            .await
            .unwrap(),
    );
    let response = auth.create(PORTAL_ORIGIN, &options).unwrap();
    let allowed = sign_in(portal, user, &screen.ticket, &response).await;
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Passkey
        }
    );
    assert!(allowed.recovery_codes.is_some());
}

/// Answers a ceremony of `ticket`; the login must be allowed.
async fn sign_in(
    portal: &Portal,
    user: &UserId,
    ticket: &LoginTicket,
    response: &str,
) -> twofa::Allowed {
    into_allowed(
        portal
            .twofa
            .submit_passkey(user, ticket, response)
            .await
            .unwrap(),
    )
}

/// A login's verification screen with its passkey options.
async fn passkey_challenge(
    portal: &Portal,
    user: &UserId,
) -> (LoginTicket, twofa::passkey::RequestOptions) {
    let screen = challenge(portal.twofa.begin_login(user, &home()).await.unwrap());
    assert_eq!(screen.method, Method::Passkey);
    assert!(screen.resend.is_empty());
    let options = screen.passkey.expect("passkey options on the screen");
    (screen.ticket, options)
}

async fn bob_with_a_passkey(portal: &Portal) -> (UserId, SoftAuthenticator) {
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let mut auth = SoftAuthenticator::new();
    enroll_passkey(portal, &bob, &mut auth).await;
    portal.advance(TimeDelta::minutes(1));
    (bob, auth)
}

#[tokio::test]
async fn a_passkey_set_up_at_login_signs_in_later() {
    let portal = Portal::new().await;
    let (bob, mut auth) = bob_with_a_passkey(&portal).await;
    let (ticket, options) = passkey_challenge(&portal, &bob).await;
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let allowed = sign_in(&portal, &bob, &ticket, &response).await;
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Passkey
        }
    );
    let overview = portal.twofa.methods(&bob).await.unwrap();
    assert_eq!(overview.methods.len(), 1);
    assert_eq!(overview.methods[0].kind, Method::Passkey);
    assert_eq!(overview.methods[0].name.as_deref(), Some("Work laptop"));
    assert_eq!(overview.methods[0].last_used_at, Some(portal.clock.now()));
    // The used ticket completes nothing more.
    let again = portal.twofa.submit_passkey(&bob, &ticket, &response).await;
    assert_eq!(
        again.unwrap_err().reason(),
        RejectionDetail::TicketAlreadyUsed
    );
}

#[tokio::test]
async fn an_answer_from_an_unlisted_origin_is_refused_and_a_new_ceremony_signs_in() {
    let portal = Portal::new().await;
    let (bob, mut auth) = bob_with_a_passkey(&portal).await;
    let (ticket, options) = passkey_challenge(&portal, &bob).await;
    // A look-alike domain gets no signature at all: the authenticator
    // (like a browser) signs only for origins under the relying party id.
    assert!(auth.get("https://login.example.co", &options).is_err());
    // A page on an unlisted origin under the id gets one, which is refused.
    let phished = auth.get(UNLISTED_ORIGIN, &options).unwrap();
    let refused = portal
        .twofa
        .submit_passkey(&bob, &ticket, &phished)
        .await
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        RejectionDetail::PasskeyRefused {
            reason: RefusalReason::WrongOrigin
        }
    );
    assert_eq!(refused.advice(), RetryAdvice::PasskeyNotAccepted);
    assert_eq!(consecutive_failures(&portal, &bob).await, 1);
    // The ceremony is spent: even the honest answer to it is refused now.
    let honest = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let spent = portal.twofa.submit_passkey(&bob, &ticket, &honest).await;
    assert_eq!(spent.unwrap_err().advice(), RetryAdvice::PasskeyNotAccepted);
    // "Try again": a new ceremony on the same ticket signs in.
    let overview = portal.twofa.methods(&bob).await.unwrap();
    let screen = portal
        .twofa
        .switch_method(&bob, &ticket, overview.methods[0].id)
        .await
        .unwrap();
    let response = auth
        .get(PORTAL_ORIGIN, &screen.passkey.expect("fresh options"))
        .unwrap();
    sign_in(&portal, &bob, &ticket, &response).await;
    assert_eq!(consecutive_failures(&portal, &bob).await, 0);
    let refusals: Vec<_> = portal
        .audit()
        .await
        .into_iter()
        .filter(|entry| {
            matches!(
                entry.event(),
                twofa::AuditEvent::Rejected {
                    detail: RejectionDetail::PasskeyRefused {
                        reason: RefusalReason::WrongOrigin
                    }
                }
            )
        })
        .collect();
    assert_eq!(refusals.len(), 1);
}

#[tokio::test]
async fn malformed_and_misplaced_answers_are_refused_with_a_reason() {
    let portal = Portal::new().await;
    let (bob, mut auth) = bob_with_a_passkey(&portal).await;
    let (ticket, options) = passkey_challenge(&portal, &bob).await;
    // Text that is no answer is refused unevaluated: nothing counted, and
    // the ceremony stays open.
    for garbage in ["", "not json", "{}", "{\"id\": 7}", &"[".repeat(100_000)] {
        let refused = portal
            .twofa
            .submit_passkey(&bob, &ticket, garbage)
            .await
            .unwrap_err();
        assert_eq!(
            refused.reason(),
            RejectionDetail::PasskeyRefused {
                reason: RefusalReason::Malformed
            }
        );
        assert_eq!(refused.advice(), RetryAdvice::CheckInput);
    }
    assert_eq!(consecutive_failures(&portal, &bob).await, 0);
    // A typed code does not answer a passkey challenge, and changes nothing.
    let code = portal.twofa.submit_code(&bob, &ticket, "123456").await;
    assert_eq!(
        code.unwrap_err().reason(),
        RejectionDetail::MethodNotAvailable
    );
    assert_eq!(consecutive_failures(&portal, &bob).await, 0);
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    sign_in(&portal, &bob, &ticket, &response).await;
    // A passkey answer does not answer an app set-up either.
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(&carol, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .unwrap();
    let refused = portal
        .twofa
        .submit_passkey(&carol, &screen.ticket, "{}")
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodNotAvailable);
    assert_eq!(consecutive_failures(&portal, &carol).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_answers_to_one_ceremony_complete_one_login() {
    let portal = Arc::new(Portal::new().await);
    let (bob, mut auth) = bob_with_a_passkey(&portal).await;
    let (ticket, options) = passkey_challenge(&portal, &bob).await;
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let portal = portal.clone();
            let bob = bob.clone();
            let response = response.clone();
            tokio::spawn(async move {
                portal
                    .twofa
                    .submit_passkey(&bob, &ticket, &response)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    let logins = portal
        .audit()
        .await
        .into_iter()
        .filter(|entry| {
            entry.user() == Some(&bob)
                && matches!(
                    entry.event(),
                    twofa::AuditEvent::LoginAllowed {
                        by: AllowedBy::SecondFactor {
                            method: Method::Passkey
                        }
                    }
                )
        })
        .count();
    // The set-up's login and this one.
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn a_second_passkey_is_added_in_settings_either_signs_in_and_removal_keeps_the_other() {
    let portal = Portal::new().await;
    portal.trust_office().await;
    let (bob, mut laptop) = bob_with_a_passkey(&portal).await;
    // A login from the office earns a grant.
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    let response = laptop.get(PORTAL_ORIGIN, &screen.passkey.unwrap()).unwrap();
    sign_in(&portal, &bob, &screen.ticket, &response).await;
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    // Adding a passkey needs the recent second factor (it is fresh) and
    // ends the grant.
    let mut phone = SoftAuthenticator::new();
    let options = creation(portal.twofa.add_method(&bob, named("Phone")).await.unwrap());
    let answer = phone.create(PORTAL_ORIGIN, &options).unwrap();
    portal.twofa.confirm_passkey(&bob, &answer).await.unwrap();
    let overview = portal.twofa.methods(&bob).await.unwrap();
    let names: Vec<_> = overview
        .methods
        .iter()
        .map(|m| m.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["Work laptop", "Phone"]);
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert!(
        screen.other_methods.is_empty(),
        "one ceremony asks for every passkey"
    );
    // With an app as the default, the passkeys are one other way in.
    let options = portal
        .twofa
        .add_method(&bob, MethodChoice::AuthenticatorApp)
        .await
        .unwrap();
    let SetUpProgress::ScanQrCode(uri) = options else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, portal.clock.now());
    portal.twofa.confirm_method(&bob, &code).await.unwrap();
    let app = portal.twofa.methods(&bob).await.unwrap().methods[2].id;
    portal.twofa.set_primary_method(&bob, app).await.unwrap();
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert_eq!(screen.method, Method::AuthenticatorApp);
    assert_eq!(screen.passkey, None);
    let others: Vec<_> = screen
        .other_methods
        .iter()
        .map(|m| (m.kind, m.name.as_deref()))
        .collect();
    assert_eq!(others, [(Method::Passkey, Some("Work laptop"))]);
    portal
        .twofa
        .set_primary_method(&bob, overview.methods[0].id)
        .await
        .unwrap();
    for auth in [&mut laptop, &mut phone] {
        let (ticket, options) = passkey_challenge(&portal, &bob).await;
        let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
        sign_in(&portal, &bob, &ticket, &response).await;
    }
    // The laptop's passkey is removed; the phone's still signs in.
    portal
        .twofa
        .remove_method(&bob, overview.methods[0].id)
        .await
        .unwrap();
    let (ticket, options) = passkey_challenge(&portal, &bob).await;
    assert!(laptop.get(PORTAL_ORIGIN, &options).is_err());
    let response = phone.get(PORTAL_ORIGIN, &options).unwrap();
    sign_in(&portal, &bob, &ticket, &response).await;
    // A refused registration in settings is counted and ends the set-up.
    let options = creation(
        portal
            .twofa
            .add_method(&bob, named("Tablet"))
            .await
            .unwrap(),
    );
    let phished = SoftAuthenticator::new()
        .create(UNLISTED_ORIGIN, &options)
        .unwrap();
    let refused = portal
        .twofa
        .confirm_passkey(&bob, &phished)
        .await
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        RejectionDetail::PasskeyRefused {
            reason: RefusalReason::WrongOrigin
        }
    );
    assert_eq!(portal.twofa.methods(&bob).await.unwrap().pending, None);
}

#[tokio::test]
async fn administrators_replace_their_app_with_a_passkey_when_the_company_requires_it() {
    let portal = Portal::new().await;
    let alice = portal.admin().await.user().clone();
    portal
        .twofa
        .update_user(&alice, UserUpdate::new().with_role(CompanyRole::Admin))
        .await
        .unwrap();
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (bob_key, _) = portal.enroll_app(&bob).await;
    let policy = CompanyPolicy::builder()
        .with_phishing_resistant(PhishingResistance::ForAdmins)
        .build()
        .unwrap();
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
    portal.advance(TimeDelta::minutes(1));
    // Bob, a member, logs in with his app as before.
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.then_set_up, None);
    let code = totp_code(&bob_key, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    // Alice answers her app once more, then must set up a passkey.
    let screen = challenge(portal.twofa.begin_login(&alice, &home()).await.unwrap());
    assert_eq!(screen.method, Method::AuthenticatorApp);
    assert_eq!(screen.then_set_up, Some(MethodSet::of(&[Method::Passkey])));
    let code = totp_code(portal.admin_key.get().unwrap(), portal.clock.now());
    let set_up_screen = set_up(
        portal
            .twofa
            .submit_code(&alice, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(set_up_screen.methods, MethodSet::of(&[Method::Passkey]));
    assert_eq!(set_up_screen.remind_me_until, None);
    let refused = portal
        .twofa
        .choose_method(
            &alice,
            &set_up_screen.ticket,
            MethodChoice::AuthenticatorApp,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodNotAvailable);
    let mut key = SoftAuthenticator::new();
    let options = creation(
        portal
            .twofa
            .choose_method(&alice, &set_up_screen.ticket, named("Security key"))
            .await
            .unwrap(),
    );
    let response = key.create(PORTAL_ORIGIN, &options).unwrap();
    sign_in(&portal, &alice, &set_up_screen.ticket, &response).await;
    // From now on a login asks for the passkey, and the app is no
    // longer offered.
    portal.advance(TimeDelta::minutes(1));
    let screen = challenge(portal.twofa.begin_login(&alice, &home()).await.unwrap());
    assert_eq!(screen.method, Method::Passkey);
    assert!(screen.other_methods.is_empty());
    // Her company operations need a fresh second factor: a step-up with
    // the passkey gives one.
    portal.advance(TimeDelta::minutes(15));
    let actor = Actor::new(alice.clone(), portal.acme.clone(), CompanyRole::Admin);
    assert!(portal.twofa.enforce_two_factor(&actor).await.is_err());
    let screen = challenge(portal.twofa.begin_step_up(&alice, &home()).await.unwrap());
    let response = key.get(PORTAL_ORIGIN, &screen.passkey.unwrap()).unwrap();
    sign_in(&portal, &alice, &screen.ticket, &response).await;
    portal.twofa.enforce_two_factor(&actor).await.unwrap();
}

#[tokio::test]
async fn a_company_that_forbids_passkeys_and_a_service_without_them_offer_none() {
    let portal = Portal::new().await;
    allow_only(&portal, &[Method::AuthenticatorApp, Method::Sms]).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(!screen.methods.contains(Method::Passkey));
    let refused = portal
        .twofa
        .choose_method(&bob, &screen.ticket, named("Laptop"))
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodNotAvailable);

    let without = Portal::build(Stores::in_memory(), Default::default(), false, false).await;
    let carol = without
        .add_user("carol", AccountKind::PartnerEmployee)
        .await;
    let screen = set_up(without.twofa.begin_login(&carol, &home()).await.unwrap());
    assert_eq!(screen.methods, MethodSet::all().without(Method::Passkey));
    let refused = without
        .twofa
        .choose_method(&carol, &screen.ticket, named("Laptop"))
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodNotAvailable);
}

#[cfg(feature = "serde")]
#[tokio::test]
async fn the_stored_record_holds_neither_the_credential_nor_a_challenge_in_the_clear() {
    let portal = Portal::new().await;
    let (bob, mut auth) = bob_with_a_passkey(&portal).await;
    let (_, options) = passkey_challenge(&portal, &bob).await;
    let request: serde_json::Value = serde_json::from_str(options.as_json()).unwrap();
    let challenge_text = request["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let credential_id = request["publicKey"]["allowCredentials"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    assert!(response.contains(&credential_id));
    let stored = portal
        .twofa
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap()
        .record;
    let json = serde_json::to_string(&stored).unwrap();
    assert!(json.contains("Work laptop"), "the name stays readable");
    assert!(!json.contains(&challenge_text));
    assert!(!json.contains(&credential_id));
    assert!(!json.contains("\"counter\""));
}
