//! Company administration: enforcement, allowed methods, trusted networks and
//! every employee's enrollment status, for administrators only.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use twofa::enforcement::{
    Actor, CompanyPolicy, CompanyPolicyError, CompanyRole, PhishingResistance, StatusKind,
};
use twofa::trusted_network::Cidr;
use twofa::types::{AccountKind, CodeChannel, Method, MethodSet};
use twofa::{AdminError, CompanyRecord};

use super::{chrome, format_time, logged_in_user};
use crate::Portal;
use crate::session::LoggedIn;
use crate::views::{CompanyPage, MethodToggle, NetworkRow, PhishingChoice, StatusPage, StatusRow};
use crate::web::{Current, Jar, refused, render, unavailable};

/// A company change refused for want of a recent second factor.
fn step_up_first(portal: &Portal) -> String {
    format!(
        "Nothing was changed. Company settings need your second factor from the last {}: choose \"Confirm it's you\", then try again.",
        super::duration_words(portal.inner().step_up)
    )
}

/// The administrator acting, or the uniform "nothing here".
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn admin(current: &Current, portal: &Portal) -> Result<(LoggedIn, Actor), Response> {
    let (logged_in, user) = logged_in_user(current)?;
    if logged_in.account.role != CompanyRole::Admin {
        return Err(current.respond(crate::web::not_found_page()));
    }
    let actor = Actor::new(user, portal.inner().company.clone(), CompanyRole::Admin);
    Ok((logged_in, actor))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CompanyQuery {
    confirm: Option<String>,
}

/// The demo company's record, or `None` if the store cannot answer.
async fn company_record(portal: &Portal) -> Option<CompanyRecord> {
    let loaded = portal
        .inner()
        .twofa
        .stores()
        .companies()
        .load(&portal.inner().company)
        .await;
    Some(loaded.ok()??.record)
}

/// The methods an administrator can switch on and off: the form field of
/// each checkbox and its label.
const METHOD_TOGGLES: [(Method, &str, &str); 5] = [
    (Method::AuthenticatorApp, "app", "Authenticator app"),
    (Method::PushApp, "push", "Authy-style push app"),
    (Method::Sms, "sms", "SMS"),
    (Method::VoiceCall, "voice", "Voice call"),
    (
        Method::Passkey,
        "passkey",
        "Passkey (security key, phone or computer)",
    ),
];

/// The choices of "Require a phishing-resistant method": the form value,
/// the setting and its label.
const PHISHING_CHOICES: [(&str, PhishingResistance, &str); 3] = [
    ("nobody", PhishingResistance::NotRequired, "Nobody"),
    ("admins", PhishingResistance::ForAdmins, "Administrators"),
    ("everyone", PhishingResistance::ForEveryone, "Everyone"),
];

async fn render_company(portal: &Portal, mut current: Current, confirm: bool) -> Response {
    let Some(company) = company_record(portal).await else {
        return current.respond(unavailable());
    };
    let allowed = company.policy().allowed_methods();
    let methods = METHOD_TOGGLES
        .into_iter()
        .map(|(method, value, label)| MethodToggle {
            value,
            label,
            allowed: allowed.contains(method),
        })
        .collect();
    let required = company.policy().phishing_resistant();
    let phishing = PHISHING_CHOICES
        .into_iter()
        .map(|(value, setting, label)| PhishingChoice {
            value,
            label,
            chosen: setting == required,
        })
        .collect();
    let networks = company
        .allowlist()
        .entries()
        .map(|entry| NetworkRow {
            network: entry.network().to_string(),
            label: entry.label().to_owned(),
            added_by: entry.added_by().as_str().to_owned(),
            added_at: format_time(entry.added_at()),
        })
        .collect();
    let page = chrome(&mut current, "Company settings");
    current.save(portal).await;
    current.respond(render(&CompanyPage {
        page,
        step_up: super::duration_words(portal.inner().step_up),
        enforced: company.settings().is_enforced(),
        confirm,
        methods,
        phishing,
        networks,
    }))
}

/// `GET /company`: the Authentication Settings card and trusted networks.
pub(crate) async fn company(
    State(portal): State<Portal>,
    headers: HeaderMap,
    Query(query): Query<CompanyQuery>,
) -> Response {
    let current = session!(portal, headers);
    if let Err(response) = admin(&current, &portal) {
        return response;
    }
    render_company(&portal, current, query.confirm.is_some()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EnforceForm {
    csrf: String,
    confirmed: String,
}

/// `POST /company/enforce`: the first press asks for confirmation, the
/// confirmed one turns 2FA on for everyone, for good.
pub(crate) async fn enforce(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<EnforceForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (_, actor) = or_respond!(admin(&current, &portal));
    if form.confirmed != "yes" {
        current.save(&portal).await;
        return current.redirect("/company?confirm=enforce");
    }
    current.session.flash = Some(
        match portal.inner().twofa.enforce_two_factor(&actor).await {
            Ok(()) => "Two-factor authentication is now required for all users.".to_owned(),
            Err(AdminError::StepUpRequired) => step_up_first(&portal),
            Err(_) => "The setting could not be changed. Please try again.".to_owned(),
        },
    );
    current.save(&portal).await;
    current.redirect("/company")
}

/// The "Two-factor methods" form: one field per checked box, each `on`.
/// Any other field, a repeated field or another value is a form the page
/// could not have sent.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MethodsForm {
    csrf: String,
    app: Option<String>,
    push: Option<String>,
    sms: Option<String>,
    voice: Option<String>,
    passkey: Option<String>,
}

impl MethodsForm {
    /// The checked methods, or `None` for a value no checkbox sends.
    fn methods(&self) -> Option<MethodSet> {
        let fields = [&self.app, &self.push, &self.sms, &self.voice, &self.passkey];
        let mut methods = MethodSet::empty();
        for ((method, ..), field) in METHOD_TOGGLES.into_iter().zip(fields) {
            match field.as_deref() {
                None => {}
                Some("on") => methods = methods.with(method),
                Some(_) => return None,
            }
        }
        Some(methods)
    }
}

/// `current` with only `methods` allowed and every other setting kept.
///
/// A switched-off SMS or voice method takes its re-send channel with it
/// (the policy refuses re-sending through a method that is off). A method
/// switched back on gets its re-send channel back: the channel can only
/// have gone with the method, and this page has no other way to restore
/// it. E-mail re-sends stay as they are.
fn policy_allowing(
    current: &CompanyPolicy,
    methods: MethodSet,
) -> Result<CompanyPolicy, CompanyPolicyError> {
    let mut channels = current.resend_channels();
    for (method, channel) in [
        (Method::Sms, CodeChannel::Sms),
        (Method::VoiceCall, CodeChannel::VoiceCall),
    ] {
        if !methods.contains(method) {
            channels = channels.without(channel);
        } else if !current.allowed_methods().contains(method) {
            channels = channels.with(channel);
        }
    }
    current
        .to_builder()
        .with_allowed_methods(methods)
        .with_resend_channels(channels)
        .build()
}

/// The "Require a phishing-resistant method" form: exactly one of the
/// radio values.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PhishingForm {
    csrf: String,
    required: String,
}

/// `POST /company/phishing-resistance`: who must sign in with a passkey
/// (nobody, administrators, everyone); every other setting is kept.
pub(crate) async fn set_phishing_resistance(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<PhishingForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let Some((_, required, label)) = PHISHING_CHOICES
        .into_iter()
        .find(|(value, ..)| *value == form.required)
    else {
        return current.respond(refused());
    };
    let Some(company) = company_record(&portal).await else {
        return current.respond(unavailable());
    };
    let message = match company
        .policy()
        .to_builder()
        .with_phishing_resistant(required)
        .build()
    {
        Err(CompanyPolicyError::PhishingResistantNotAllowed) => {
            "Allow passkeys among the two-factor methods first. Nothing was changed.".to_owned()
        }
        Err(_) => "The setting could not be changed. Please try again.".to_owned(),
        Ok(policy) => match portal
            .inner()
            .twofa
            .set_company_policy(&actor, policy)
            .await
        {
            Ok(()) if required == PhishingResistance::NotRequired => {
                "Nobody is required to use a passkey.".to_owned()
            }
            Ok(()) => format!(
                "{label} must now sign in with a passkey; whoever has none sets one up at the next login."
            ),
            Err(AdminError::StepUpRequired) => step_up_first(&portal),
            Err(_) => "The setting could not be changed. Please try again.".to_owned(),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal).await;
    current.redirect("/company")
}

/// `POST /company/methods`: the methods users may set up and sign in
/// with.
pub(crate) async fn set_methods(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<MethodsForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let Some(methods) = form.methods() else {
        return current.respond(refused());
    };
    let Some(company) = company_record(&portal).await else {
        return current.respond(unavailable());
    };
    let message = match policy_allowing(company.policy(), methods) {
        Err(CompanyPolicyError::NoMethodAllowed) => {
            "Check at least one two-factor method: users need one to sign in. Nothing was changed."
                .to_owned()
        }
        Err(CompanyPolicyError::PhishingResistantNotAllowed) => {
            "Passkeys stay allowed while a phishing-resistant method is required. Nothing was changed."
                .to_owned()
        }
        Err(_) => "The methods could not be changed. Please try again.".to_owned(),
        Ok(policy) => match portal
            .inner()
            .twofa
            .set_company_policy(&actor, policy)
            .await
        {
            Ok(()) => {
                let names: Vec<&str> = METHOD_TOGGLES
                    .iter()
                    .filter(|(method, ..)| methods.contains(*method))
                    .map(|(_, _, label)| *label)
                    .collect();
                format!("Users may now use: {}.", names.join(", "))
            }
            Err(AdminError::StepUpRequired) => step_up_first(&portal),
            Err(_) => "The methods could not be changed. Please try again.".to_owned(),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal).await;
    current.redirect("/company")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NetworkForm {
    csrf: String,
    network: String,
    label: String,
}

/// `POST /company/networks`: add a trusted network.
pub(crate) async fn add_network(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<NetworkForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let message = match Cidr::parse(form.network.trim()) {
        Err(_) => "That is not a network in CIDR form (such as 203.0.113.0/24).".to_owned(),
        Ok(network) => match portal
            .inner()
            .twofa
            .add_trusted_network(&actor, network, form.label.trim())
            .await
        {
            Ok(()) => format!("{network} is now a trusted network."),
            Err(AdminError::StepUpRequired) => step_up_first(&portal),
            Err(error) => format!("The network was not added: {error}."),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal).await;
    current.redirect("/company")
}

/// `POST /company/networks/remove`: remove a trusted network.
pub(crate) async fn remove_network(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<NetworkForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let message = match Cidr::parse(form.network.trim()) {
        Err(_) => "That is not a listed network.".to_owned(),
        Ok(network) => match portal
            .inner()
            .twofa
            .remove_trusted_network(&actor, network)
            .await
        {
            Ok(()) => format!("{network} is no longer a trusted network."),
            Err(AdminError::StepUpRequired) => step_up_first(&portal),
            Err(error) => format!("The network was not removed: {error}."),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal).await;
    current.redirect("/company")
}

fn status_name(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::NotEnrolled => "Not enrolled",
        StatusKind::Deferred => "Postponed",
        StatusKind::PendingVerification => "Pending verification",
        _ => "Enrolled",
    }
}

/// `GET /company/status`: every employee's enrollment status.
pub(crate) async fn status(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let Ok(report) = portal.inner().twofa.enrollment_report(&actor).await else {
        return current.respond(unavailable());
    };
    let rows = report
        .rows()
        .iter()
        .map(|row| StatusRow {
            name: row.display_name().to_owned(),
            email: row.email().to_owned(),
            kind: match row.account_kind() {
                AccountKind::EndUserClient => "End-user client",
                _ => "Partner employee",
            },
            status: status_name(row.kind()),
            last: row
                .last_second_factor()
                .map_or_else(|| "never".to_owned(), format_time),
        })
        .collect();
    let page = chrome(&mut current, "Enrollment status");
    current.save(&portal).await;
    current.respond(render(&StatusPage { page, rows }))
}

/// `GET /company/status.csv`: the same report as a CSV download.
pub(crate) async fn status_csv(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let current = session!(portal, headers);
    let (_, actor) = or_respond!(admin(&current, &portal));
    let Ok(report) = portal.inner().twofa.enrollment_report(&actor).await else {
        return current.respond(unavailable());
    };
    current.respond(
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"enrollment-status.csv\"",
                ),
            ],
            report.to_csv(),
        )
            .into_response(),
    )
}
