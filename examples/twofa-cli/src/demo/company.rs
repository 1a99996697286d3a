//! The scenes of company administration: enforcing 2FA, trusted networks,
//! client accounts, the status report and switching a method off.

use twofa::chrono::TimeDelta;
use twofa::enforcement::CompanyPolicy;
use twofa::trusted_network::Cidr;
use twofa::types::{AccountKind, EnrollmentStatus, Method, MethodSet};
use twofa::{AllowedBy, LoginStep, MethodChoice, SetUpProgress};

use super::screens::{account_label, method_label, status_label, trusted_label};
use super::{
    Cast, OFFICE, PORTAL, Portal, Scene, StepFailed, allowed_step, fail, needs, unexpected, user,
};

/// The admin enforces 2FA.
pub(super) async fn enforce(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let frank = &user("frank")?;
    let admin = p.admin_stepped_up().await?;
    p.twofa
        .enforce_two_factor(&admin)
        .await
        .map_err(|e| unexpected("enforcing", e))?;
    p.screen(
        &format!("{PORTAL} · Company Settings"),
        &[
            "Authentication Settings".to_owned(),
            "Two-factor authentication is required for all users.".to_owned(),
            "(This cannot be turned off.)".to_owned(),
        ],
    );
    let screen = p.expect_set_up(frank, home).await?;
    p.check(
        screen.remind_me_until.is_none(),
        "the \"Remind me in 48 hours\" option is gone",
    )?;
    let refused = p.twofa.defer(frank, &screen.ticket).await;
    p.check(refused.is_err(), "a deferral cannot be taken any more")?;
    Ok(())
}

/// Trusted networks.
pub(super) async fn trusted_network(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let Cast { bob, office, .. } = cast;
    let uri = needs(cast.bob_app.as_ref(), Scene::ScanQrCode)?;
    let admin = p.admin_stepped_up().await?;
    let network = Cidr::parse(OFFICE).map_err(|e| unexpected("network", e))?;
    p.twofa
        .add_trusted_network(&admin, network, "Head office")
        .await
        .map_err(|e| unexpected("adding the network", e))?;
    p.screen(
        &format!("{PORTAL} · Trusted networks"),
        &[format!("{OFFICE}   Head office   added by Alice Admin")],
    );
    p.say("  Bob logs in at the office and answers the prompt once:");
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(bob, office).await?;
    let code = p.phone_code(uri)?;
    let allowed = p
        .twofa
        .submit_code(bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("office login", e))
        .and_then(|step| allowed_step(step, "office login"))?;
    p.show_allowed(&allowed);
    let granted = p.clock_now();
    p.clock.set(granted + TimeDelta::days(20));
    p.say("  … 20 days later, at the office:");
    let allowed = p.expect_allowed(bob, office).await?;
    p.check(
        matches!(allowed.by, AllowedBy::TrustedNetwork { .. }),
        "20 days later on the trusted network: no prompt",
    )?;
    p.clock
        .set(granted + TimeDelta::days(21) - TimeDelta::seconds(1));
    let last_second = p.login(bob, office).await?;
    p.check(
        matches!(last_second, LoginStep::Allowed(_)),
        "still no prompt one second before 21 days",
    )?;
    p.clock.set(granted + TimeDelta::days(21));
    p.say("  … 21 days later, at the office:");
    p.expect_challenge(bob, office).await?;
    p.check(true, "after 21 days (three weeks) the prompt is back")?;
    Ok(())
}

/// Client accounts.
pub(super) async fn client_account(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let office = &cast.office;
    let grace = p
        .add_user("grace", "Grace Hill", AccountKind::EndUserClient)
        .await?;
    let screen = p.expect_set_up(&grace, office).await?;
    let SetUpProgress::ScanQrCode(grace_uri) = p
        .twofa
        .choose_method(&grace, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?
    else {
        return fail("expected a QR code for Grace");
    };
    p.say(format!(
        "  Grace chooses the authenticator app and scans the QR code: {}",
        grace_uri.expose_secret().as_str()
    ));
    let code = p.phone_code(&grace_uri)?;
    let allowed = p
        .twofa
        .submit_code(&grace, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("Grace's activation", e))
        .and_then(|step| allowed_step(step, "Grace's activation"))?;
    p.show_allowed(&allowed);
    p.clock.advance(TimeDelta::hours(1));
    p.say("  An hour later, from the same trusted office network:");
    p.expect_challenge(&grace, office).await?;
    p.check(
        true,
        "client accounts cannot use trusted networks: prompted at every login",
    )?;
    Ok(())
}

/// The status report.
pub(super) async fn status_report(p: &mut Portal<'_>, _cast: &mut Cast) -> Result<(), StepFailed> {
    let admin = p.admin.clone();
    let report = p
        .twofa
        .enrollment_report(&admin)
        .await
        .map_err(|e| unexpected("report", e))?;
    let rows: Vec<[String; 6]> = report
        .rows()
        .iter()
        .map(|row| {
            let methods = match row.status() {
                EnrollmentStatus::Enrolled { methods, .. } => methods
                    .iter()
                    .map(method_label)
                    .collect::<Vec<_>>()
                    .join(", "),
                EnrollmentStatus::Pending { method, .. } => method_label(*method).to_owned(),
                _ => String::new(),
            };
            [
                row.display_name().to_owned(),
                account_label(row.account_kind()).to_owned(),
                status_label(row.kind()).to_owned(),
                methods,
                row.phone_hint().map(|h| h.to_string()).unwrap_or_default(),
                trusted_label(row.trusted_networks()).to_owned(),
            ]
        })
        .collect();
    let header = [
        "Name".to_owned(),
        "Account".to_owned(),
        "2FA status".to_owned(),
        "Method".to_owned(),
        "Phone".to_owned(),
        "Trusted networks".to_owned(),
    ];
    let mut widths = [0usize; 6];
    for row in rows.iter().chain([&header]) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        row.iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut lines = vec![line(&header)];
    lines.extend(rows.iter().map(line));
    let totals = report.totals();
    lines.push(String::new());
    lines.push(format!(
        "Enrolled {} · Pending verification {} · Postponed {} · Not enrolled {} · Total {}",
        totals.enrolled,
        totals.pending_verification,
        totals.deferred,
        totals.not_enrolled,
        totals.total
    ));
    p.screen(&format!("{PORTAL} · User Settings · 2FA status"), &lines);
    p.check(
        totals.total == 9 && totals.enrolled == 5 && totals.pending_verification == 1,
        "the report lists all nine users: five enrolled, one waiting for a code",
    )?;
    p.check(
        rows.iter()
            .any(|row| row[0] == "Carol Chen-Park" && row[4] == "•••• 6810"),
        "Carol appears under her new name and number",
    )?;
    Ok(())
}

/// The company switches a method off.
pub(super) async fn method_switched_off(
    p: &mut Portal<'_>,
    cast: &mut Cast,
) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    let uri = needs(cast.bob_app.as_ref(), Scene::ScanQrCode)?;
    let admin = p.admin_stepped_up().await?;
    let apps_off = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[
            Method::PushApp,
            Method::Sms,
            Method::VoiceCall,
        ]))
        .build()
        .map_err(|e| unexpected("policy", e))?;
    p.twofa
        .set_company_policy(&admin, apps_off)
        .await
        .map_err(|e| unexpected("policy change", e))?;
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(bob, home).await?;
    p.check(
        screen.method == Method::AuthenticatorApp && screen.then_set_up.is_some(),
        "Bob's only method is switched off: he still answers with it, and is told a new one follows",
    )?;
    let code = p.phone_code(uri)?;
    let step = p
        .twofa
        .submit_code(bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("the app's code", e))?;
    let LoginStep::SetUp(set_up) = step else {
        return fail(format!("expected the set-up screen, got {step:?}"));
    };
    p.show_set_up(&set_up);
    p.check(
        set_up.ticket == screen.ticket
            && set_up.remind_me_until.is_none()
            && !set_up.methods.contains(Method::AuthenticatorApp),
        "the right code leads to set-up of an allowed method, with no \"remind me later\"",
    )?;
    let (_, sms_code) = p.choose_sms(bob, &set_up.ticket, "+44 7400 654321").await?;
    let allowed = p
        .twofa
        .submit_code(bob, &set_up.ticket, &sms_code)
        .await
        .map_err(|e| unexpected("SMS activation", e))
        .and_then(|step| allowed_step(step, "SMS activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Sms,
            },
        "only the new, allowed method completes the login",
    )?;
    Ok(())
}
