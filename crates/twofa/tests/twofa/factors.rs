//! Self-service methods (add with proof, remove, choose the default), the
//! one path every change of a factor takes (the trusted-network grant
//! ends), and step-up for administrators.

use chrono::TimeDelta;
use twofa::delivery::Notice;
use twofa::enforcement::{Actor, CompanyPolicy, CompanyRole};
use twofa::enrollment::{PhoneChannel, ProvisioningUri};
use twofa::trusted_network::Cidr;
use twofa::types::{AccountKind, Method, UserId};
use twofa::{
    AdminError, LoginStep, MethodChoice, PhoneChoice, RejectionDetail, RetryAdvice, SetUpProgress,
};

use crate::{Now, OFFICE, Portal, challenge, home, into_allowed, office, totp_code};

/// Bob, enrolled with an app from the office (a trusted network): his
/// login there is skipped.
async fn app_user_with_a_grant(portal: &Portal) -> (UserId, ProvisioningUri, Vec<String>) {
    portal.trust_office().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.advance(TimeDelta::minutes(1));
    let (uri, codes) = Box::pin(portal.enroll_app(&bob)).await;
    portal.advance(TimeDelta::minutes(1));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    (bob, uri, codes)
}

/// Answers the challenge of `step` with the code `key`'s app shows now:
/// the login (or step-up) is complete.
async fn answer_with_app(portal: &Portal, user: &UserId, step: LoginStep, key: &ProvisioningUri) {
    let screen = challenge(step);
    let code = totp_code(key, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(user, &screen.ticket, &code)
            .await
            .unwrap(),
    );
}

fn sms(number: &str) -> MethodChoice {
    MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms))
}

/// Adds an SMS method for `user` and proves it with the code sent.
async fn add_sms(portal: &Portal, user: &UserId, number: &str) {
    let progress = portal.twofa.add_method(user, sms(number)).await.unwrap();
    assert!(matches!(progress, SetUpProgress::CodeSent(_)));
    let code = portal.last_code();
    portal.twofa.confirm_method(user, &code).await.unwrap();
}

fn notified(portal: &Portal, notice: Notice) -> usize {
    portal
        .outbox
        .notices()
        .iter()
        .filter(|n| n.notice() == notice)
        .count()
}

#[tokio::test]
async fn an_enrolled_user_adds_a_second_method_with_proof_and_chooses_the_default() {
    let portal = Portal::new().await;
    let (bob, uri, _) = app_user_with_a_grant(&portal).await;
    // Within the step-up window of the enrollment (two minutes ago).
    let progress = portal
        .twofa
        .add_method(&bob, sms("+44 7400 123456"))
        .await
        .unwrap();
    assert!(matches!(progress, SetUpProgress::CodeSent(_)));
    // Not yet a method: the wrong code is counted and refused.
    let refused = portal.twofa.confirm_method(&bob, "000000").await;
    assert_eq!(refused.unwrap_err().reason(), RejectionDetail::WrongCode);
    let overview = portal.twofa.methods(&bob).await.unwrap();
    assert_eq!(overview.methods.len(), 1);
    assert_eq!(overview.pending, Some(Method::Sms));
    let code = portal.last_code();
    portal.twofa.confirm_method(&bob, &code).await.unwrap();
    assert_eq!(notified(&portal, Notice::MethodAdded), 1);

    let overview = portal.twofa.methods(&bob).await.unwrap();
    let kinds: Vec<(Method, bool)> = overview
        .methods
        .iter()
        .map(|m| (m.kind, m.primary))
        .collect();
    assert_eq!(
        kinds,
        [(Method::AuthenticatorApp, true), (Method::Sms, false)]
    );
    assert_eq!(
        overview.methods[1].masked_number.as_deref(),
        Some("+44 ••• ••• 3456")
    );
    assert_eq!(overview.pending, None);

    // The new factor ends the grant: the office login is prompted, with
    // the app first and the phone as the other method.
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert_eq!(screen.method, Method::AuthenticatorApp);
    assert_eq!(screen.other_methods.len(), 1);
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // The phone becomes the default: the next login texts a code.
    let sms_id = overview.methods[1].id;
    portal.twofa.set_primary_method(&bob, sms_id).await.unwrap();
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.method, Method::Sms);
    assert!(screen.sent_to.is_some());
}

#[tokio::test]
async fn adding_or_removing_a_method_needs_a_second_factor_within_ten_minutes() {
    let portal = Portal::new().await;
    let (bob, uri, _) = app_user_with_a_grant(&portal).await;
    // Enrolled at t, now t + 1 min: the window ends at t + 10 min.
    let enrolled_at = portal.clock.now() - TimeDelta::minutes(1);
    portal
        .clock
        .set(enrolled_at + TimeDelta::minutes(10) - TimeDelta::seconds(1));
    let started = portal.twofa.add_method(&bob, sms("+44 7400 123456")).await;
    assert!(started.is_ok(), "{started:?}");
    portal.twofa.cancel_method_setup(&bob).await.unwrap();
    portal.clock.set(enrolled_at + TimeDelta::minutes(10));
    let late = portal
        .twofa
        .add_method(&bob, sms("+44 7400 123456"))
        .await
        .unwrap_err();
    assert_eq!(late.advice(), RetryAdvice::ReauthenticationRequired);
    assert_eq!(late.reason(), RejectionDetail::StepUpRequired);
    let method = portal.twofa.methods(&bob).await.unwrap().methods[0].id;
    let late = portal.twofa.remove_method(&bob, method).await.unwrap_err();
    assert_eq!(late.reason(), RejectionDetail::StepUpRequired);

    // A step-up from the office is not skipped by the trusted network.
    portal.advance(TimeDelta::minutes(1));
    let step = portal.twofa.begin_step_up(&bob, &office()).await.unwrap();
    answer_with_app(&portal, &bob, step, &uri).await;
    add_sms(&portal, &bob, "+44 7400 123456").await;
    assert_eq!(portal.twofa.methods(&bob).await.unwrap().methods.len(), 2);
}

#[tokio::test]
async fn removing_a_method_notifies_and_ends_the_grant_but_never_the_last_one_required() {
    let portal = Portal::new().await;
    let (bob, _, _) = app_user_with_a_grant(&portal).await;
    add_sms(&portal, &bob, "+44 7400 123456").await;
    // The addition ended the grant; earn a new one from the office.
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    let code = {
        let other = screen.other_methods[0].id;
        portal
            .twofa
            .switch_method(&bob, &screen.ticket, other)
            .await
            .unwrap();
        portal.last_code()
    };
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));

    // The company allows only the phone: the app may go, the phone may not.
    crate::allow_only(&portal, &[Method::Sms]).await;
    let methods = portal.twofa.methods(&bob).await.unwrap().methods;
    let (app, phone) = (methods[0].id, methods[1].id);
    let refused = portal.twofa.remove_method(&bob, phone).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodRequired);
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
    assert_eq!(portal.twofa.methods(&bob).await.unwrap().methods.len(), 2);
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));

    portal.twofa.remove_method(&bob, app).await.unwrap();
    // The old contacts hear of it: the email address and the phone.
    assert_eq!(notified(&portal, Notice::MethodRemoved), 2);
    assert!(portal.outbox.notices().iter().any(|n| {
        n.notice() == Notice::MethodRemoved
            && matches!(n, twofa::delivery::NoticeMessage::Sms(sms) if sms.to.masked() == "+44 ••• ••• 3456")
    }));
    let left = portal.twofa.methods(&bob).await.unwrap().methods;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].kind, left[0].primary), (Method::Sms, true));
    // The removal ended the grant.
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());

    // Under enforcement the last method stays too.
    portal
        .twofa
        .set_company_policy(portal.admin().await, CompanyPolicy::default())
        .await
        .unwrap();
    portal
        .twofa
        .enforce_two_factor(portal.admin().await)
        .await
        .unwrap();
    let refused = portal.twofa.remove_method(&bob, phone).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::MethodRequired);
    assert_eq!(portal.twofa.methods(&bob).await.unwrap().methods.len(), 1);
}

#[tokio::test]
async fn every_change_of_a_factor_ends_the_trusted_network_grant() {
    // New recovery codes, a used recovery code and an administrator's
    // reset: each is followed by a prompt on the trusted network.
    let portal = Portal::new().await;
    let (bob, _, _) = app_user_with_a_grant(&portal).await;
    portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());

    let portal = Portal::new().await;
    let (bob, _, codes_now) = app_user_with_a_grant(&portal).await;
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &codes_now[0])
            .await
            .unwrap(),
    );
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());

    let portal = Portal::new().await;
    let (bob, _, _) = app_user_with_a_grant(&portal).await;
    portal
        .twofa
        .reset_factor(portal.admin().await, &bob)
        .await
        .unwrap();
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::SetUp(_)
    ));
}

#[tokio::test]
async fn company_operations_need_the_administrators_recent_second_factor() {
    let portal = Portal::new().await;
    let office_net = Cidr::parse(OFFICE).unwrap();
    // Fresh from the set-up: allowed.
    let admin = portal.admin().await.clone();
    portal
        .twofa
        .add_trusted_network(&admin, office_net, "Head office")
        .await
        .unwrap();
    // Alice set up her app at the start; ten minutes later, to the second,
    // every company operation is refused and nothing changes.
    portal.clock.set(crate::start() + TimeDelta::minutes(10));
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let stale = [
        portal.twofa.enforce_two_factor(&admin).await,
        portal
            .twofa
            .set_company_policy(&admin, CompanyPolicy::default())
            .await,
        portal
            .twofa
            .add_trusted_network(&admin, Cidr::parse("203.0.113.0/24").unwrap(), "x")
            .await,
        portal
            .twofa
            .remove_trusted_network(&admin, office_net)
            .await,
        portal.twofa.reset_factor(&admin, &bob).await,
        portal
            .twofa
            .revoke_trust_grant(&admin, &bob)
            .await
            .map(|_| ()),
    ];
    for result in stale {
        assert_eq!(result, Err(AdminError::StepUpRequired));
    }
    let company = portal
        .twofa
        .stores()
        .companies()
        .load(&portal.acme)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert!(!company.settings().is_enforced());
    assert_eq!(company.allowlist().len(), 1);
    // Reading the report needs no step-up.
    assert!(portal.twofa.enrollment_report(&admin).await.is_ok());

    // An administrator without a second factor sets one up first: the
    // step-up offers no "remind me later", where a login would.
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let carol_admin = Actor::new(carol.clone(), portal.acme.clone(), CompanyRole::Admin);
    assert_eq!(
        portal.twofa.enforce_two_factor(&carol_admin).await,
        Err(AdminError::StepUpRequired)
    );
    let LoginStep::SetUp(login) = portal.twofa.begin_login(&carol, &home()).await.unwrap() else {
        panic!("expected set-up");
    };
    assert!(login.remind_me_until.is_some());
    let LoginStep::SetUp(step_up) = portal.twofa.begin_step_up(&carol, &home()).await.unwrap()
    else {
        panic!("expected set-up");
    };
    assert_eq!(step_up.remind_me_until, None);

    // Logging in from the trusted network skipped her second factor: still
    // refused. The step-up asks for it even there.
    portal.advance(TimeDelta::minutes(1));
    let key = portal.admin_key.get().unwrap().clone();
    let step = portal
        .twofa
        .begin_login(admin.user(), &office())
        .await
        .unwrap();
    answer_with_app(&portal, admin.user(), step, &key).await;
    portal.advance(TimeDelta::minutes(11));
    assert!(matches!(
        portal
            .twofa
            .begin_login(admin.user(), &office())
            .await
            .unwrap(),
        LoginStep::Allowed(_)
    ));
    assert_eq!(
        portal.twofa.enforce_two_factor(&admin).await,
        Err(AdminError::StepUpRequired)
    );
    let step = portal
        .twofa
        .begin_step_up(admin.user(), &office())
        .await
        .unwrap();
    answer_with_app(&portal, admin.user(), step, &key).await;
    portal.twofa.enforce_two_factor(&admin).await.unwrap();
}
