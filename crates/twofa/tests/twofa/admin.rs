//! The company administrator: enforcement, the status report and the
//! company policy that switches methods on and off.

use chrono::TimeDelta;
use twofa::enforcement::{Actor, CompanyRole, StatusKind};
use twofa::enrollment::PhoneChannel;
use twofa::types::{AccountKind, Method, UserId};
use twofa::{
    AllowedBy, AuditEntry, AuditEvent, MethodChoice, PhoneChoice, RetryAdvice, SetUpProgress,
};

use crate::{Now, Portal, allow_only, challenge, home, into_allowed, office, set_up, totp_code};

// --- Feature 7: enforcement ------------------------------------------------

#[tokio::test]
async fn enforcing_2fa_removes_the_deferral_and_voids_running_ones() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    // Carol's screen offered the deferral before enforcement.
    let carol_screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    assert!(carol_screen.remind_me_until.is_some());

    // A member cannot enforce; the admin can, once and for good.
    let member = Actor::new(bob.clone(), portal.acme.clone(), CompanyRole::Member);
    assert_eq!(
        portal.twofa.enforce_two_factor(&member).await,
        Err(twofa::AdminError::NotCompanyAdmin)
    );
    portal
        .twofa
        .enforce_two_factor(portal.admin().await)
        .await
        .unwrap();
    portal
        .twofa
        .enforce_two_factor(portal.admin().await)
        .await
        .unwrap();

    portal.advance(TimeDelta::minutes(1));
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(
        screen.remind_me_until, None,
        "no remind-me under enforcement"
    );
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    // The old screen's offer is void too.
    assert!(
        portal
            .twofa
            .defer(&carol, &carol_screen.ticket)
            .await
            .is_err()
    );
    let enforced = portal
        .audit()
        .await
        .iter()
        .filter(|e| matches!(e.event(), AuditEvent::EnforcementEnabled { .. }))
        .count();
    assert_eq!(enforced, 1);
}

#[tokio::test]
async fn the_status_report_lists_every_user() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let carol = portal.add_user("carol", AccountKind::EndUserClient).await;
    portal.enroll_app(&bob).await;
    let screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    portal.twofa.defer(&carol, &screen.ticket).await.unwrap();
    let report = portal
        .twofa
        .enrollment_report(portal.admin().await)
        .await
        .unwrap();
    let totals = report.totals();
    assert_eq!(totals.total, 3);
    assert_eq!(totals.enrolled, 2, "Alice, the administrator, and Bob");
    assert_eq!(totals.deferred, 1);
    assert_eq!(totals.not_enrolled, 0);
    let kinds: Vec<(String, StatusKind)> = report
        .rows()
        .iter()
        .map(|row| (row.user_id().as_str().to_owned(), row.kind()))
        .collect();
    assert!(kinds.contains(&("bob".to_owned(), StatusKind::Enrolled)));
    let member = Actor::new(bob, portal.acme.clone(), CompanyRole::Member);
    assert!(portal.twofa.enrollment_report(&member).await.is_err());
}

#[tokio::test]
async fn only_an_admin_changes_the_company_policy_and_each_change_is_audited() {
    use twofa::enforcement::CompanyPolicy;
    use twofa::types::MethodSet;
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let employee = Actor::new(bob, portal.acme.clone(), CompanyRole::Member);
    let policy = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp]))
        .with_resend_channels(twofa::types::CodeChannelSet::empty())
        .build()
        .unwrap();
    assert_eq!(
        portal.twofa.set_company_policy(&employee, policy).await,
        Err(twofa::AdminError::NotCompanyAdmin)
    );
    let stored = |portal: &Portal| {
        let companies = portal.twofa.stores().companies().clone();
        let acme = portal.acme.clone();
        async move {
            *companies
                .load(&acme)
                .await
                .unwrap()
                .unwrap()
                .record
                .policy()
        }
    };
    assert_eq!(stored(&portal).await, CompanyPolicy::default());
    let changes = |entries: &[AuditEntry]| {
        entries
            .iter()
            .filter(|e| matches!(e.event(), AuditEvent::PolicyChanged { .. }))
            .count()
    };
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
    assert_eq!(stored(&portal).await, policy);
    assert_eq!(changes(&portal.audit().await), 1);
    // The same policy again changes nothing and records nothing.
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
    assert_eq!(changes(&portal.audit().await), 1);
}

fn logins_allowed(entries: &[AuditEntry], user: &UserId) -> usize {
    entries
        .iter()
        .filter(|e| e.user() == Some(user) && matches!(e.event(), AuditEvent::LoginAllowed { .. }))
        .count()
}

#[tokio::test]
async fn a_user_whose_methods_are_all_switched_off_proves_it_then_sets_up_an_allowed_one() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    allow_only(&portal, &[Method::Sms, Method::VoiceCall]).await;

    // The switched-off app is still what proves it is Bob…
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert_eq!(login.method, Method::AuthenticatorApp);
    let allowed_now = twofa::types::MethodSet::of(&[Method::Sms, Method::VoiceCall]);
    assert_eq!(login.then_set_up, Some(allowed_now));
    assert!(login.other_methods.is_empty());
    let before = logins_allowed(&portal.audit().await, &bob);

    // …but the right code leads to set-up, not into the portal.
    let code = totp_code(&uri, portal.clock.now());
    let screen = set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(screen.ticket, login.ticket);
    assert_eq!(screen.methods, allowed_now);
    assert_eq!(screen.remind_me_until, None);
    assert_eq!(logins_allowed(&portal.audit().await, &bob), before);
    // No deferral, and the app cannot be set up again on this ticket.
    assert!(portal.twofa.defer(&bob, &login.ticket).await.is_err());
    let refused = portal
        .twofa
        .choose_method(&bob, &login.ticket, MethodChoice::AuthenticatorApp)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);

    // An SMS method is set up and its first code completes the login.
    let SetUpProgress::CodeSent(_) = portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap()
    else {
        panic!("expected a code to be sent");
    };
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );
    assert_eq!(logins_allowed(&portal.audit().await, &bob), before + 1);

    // The next login challenges with the allowed method, with nothing to
    // replace.
    portal.advance(TimeDelta::minutes(1));
    let next = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(next.method, Method::Sms);
    assert_eq!(next.then_set_up, None);
    assert!(
        next.other_methods.is_empty(),
        "the app is still switched off"
    );
}

#[tokio::test]
async fn a_method_switched_off_during_the_challenge_still_leads_to_set_up() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.then_set_up, None);
    allow_only(&portal, &[Method::PushApp]).await;
    let code = totp_code(&uri, portal.clock.now());
    let screen = set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(
        screen.methods,
        twofa::types::MethodSet::of(&[Method::PushApp])
    );
    assert_eq!(screen.remind_me_until, None);
}
