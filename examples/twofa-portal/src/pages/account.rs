//! The logged-in user's pages: home, and the settings for name, phone number
//! and recovery codes.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use twofa::enrollment::{Enrollment, EnrollmentState, NotMobileAnswer, PhoneChannel};
use twofa::types::Method;
use twofa::types::UserId;
use twofa::{PhoneChoice, Rejected, RetryAdvice, SetUpProgress};

use super::{
    CodeForm, advice_text, chrome, duration_words, format_time, logged_in_user, method_name,
    not_mobile_reason,
};
use crate::Portal;
use crate::session::{LoggedIn, NotMobileView, Stage};
use crate::views::{AddingView, DialogView, HomePage, MethodRow, SettingsPage};
use crate::web::{Current, Jar, refused, render, unavailable};

/// `GET /home`.
pub(crate) async fn home(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let enrollment = enrollment_of(&portal, &user).await;
    let status = status_line(enrollment.as_ref(), portal.inner().twofa.now());
    // Shown once: the page is no-store and the codes leave the session.
    let recovery_codes = logged_in
        .recovery_codes
        .take()
        .map(|codes| codes.to_vec())
        .unwrap_or_default();
    current.session.stage = Stage::LoggedIn(logged_in);
    let page = chrome(&mut current, "Home");
    current.save(&portal).await;
    current.respond(render(&HomePage {
        page,
        status,
        recovery_codes,
    }))
}

/// `GET /settings`.
pub(crate) async fn settings(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let enrollment = enrollment_of(&portal, &user).await;
    // Shown once: the page is no-store and the codes leave the session.
    let new_recovery_codes = logged_in
        .recovery_codes
        .take()
        .map(|codes| codes.to_vec())
        .unwrap_or_default();
    let mut recovery_remaining = None;
    let display_name = enrollment.as_ref().map_or_else(
        || logged_in.account.display_name.to_owned(),
        |e| e.display_name().as_str().to_owned(),
    );
    let Ok(overview) = portal.inner().twofa.methods(&user).await else {
        return current.respond(unavailable());
    };
    let has_phone = overview.methods.iter().any(|m| m.masked_number.is_some());
    let methods: Vec<MethodRow> = overview
        .methods
        .iter()
        .map(|m| MethodRow {
            id: m.id.get(),
            kind: method_name(m.kind),
            detail: m
                .masked_number
                .clone()
                .or_else(|| m.name.clone())
                .unwrap_or_else(|| "this device's app".to_owned()),
            since: format_time(m.enrolled_at),
            last_used: (m.kind == Method::Passkey).then(|| {
                m.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |at| format!("last used {}", format_time(at)),
                )
            }),
            primary: m.primary,
        })
        .collect();
    let enrolled_any = !methods.is_empty();
    let adding = logged_in.adding.as_ref().and_then(|view| {
        let (svg, key_groups) = super::setup::qr_picture(view)?;
        Some(AddingView {
            method: method_name(view.method),
            svg: svg.as_str().to_owned(),
            key_groups: key_groups.as_str().to_owned(),
        })
    });
    let adding_phone = !logged_in.phone_change_pending
        && matches!(overview.pending, Some(Method::Sms | Method::VoiceCall));
    if let Some(EnrollmentState::Enrolled(enrolled)) = enrollment.as_ref().map(Enrollment::state) {
        recovery_remaining = Some(format!(
            "{} of {} recovery codes unused.",
            enrolled.recovery_codes().remaining(),
            enrolled.recovery_codes().total()
        ));
    }
    let dialog = logged_in.not_mobile.as_ref().map(|d| DialogView {
        number: d.number.clone(),
        reason: d.reason.clone(),
    });
    let phone_change_pending = logged_in.phone_change_pending;
    let adding_passkey = logged_in
        .adding_passkey
        .as_ref()
        .map(|options| options.as_json().to_owned());
    // Offered once, right after the refusal it answers.
    let sign_in_again = std::mem::take(&mut logged_in.sign_in_again);
    current.session.stage = Stage::LoggedIn(logged_in);
    let page = chrome(&mut current, "User settings");
    current.save(&portal).await;
    current.respond(render(&SettingsPage {
        page,
        display_name,
        methods,
        has_phone,
        recovery_remaining,
        new_recovery_codes,
        phone_change_pending,
        dialog,
        step_up: duration_words(portal.inner().step_up),
        sign_in_again,
        may_add_app: enrolled_any && overview.may_add.contains(Method::AuthenticatorApp),
        may_add_push: enrolled_any && overview.may_add.contains(Method::PushApp),
        may_add_phone: enrolled_any
            && (overview.may_add.contains(Method::Sms)
                || overview.may_add.contains(Method::VoiceCall)),
        may_add_passkey: enrolled_any && overview.may_add.contains(Method::Passkey),
        adding_passkey,
        adding,
        adding_phone,
    }))
}

async fn enrollment_of(portal: &Portal, user: &UserId) -> Option<Enrollment> {
    let loaded = portal
        .inner()
        .twofa
        .stores()
        .users()
        .load(user)
        .await
        .ok()??;
    let sealed = loaded.record.enrollment()?;
    sealed.open(&*portal.inner().sealer).ok()
}

fn status_line(enrollment: Option<&Enrollment>, now: DateTime<Utc>) -> String {
    let Some(enrollment) = enrollment else {
        return "Two-factor authentication is not set up yet.".to_owned();
    };
    let summary = enrollment.summary(now);
    if summary.has_active_method() {
        let kinds: Vec<&str> = summary
            .methods
            .iter()
            .map(|m| method_name(m.kind))
            .collect();
        return format!("Two-factor authentication is on ({}).", kinds.join(", "));
    }
    match summary.deferred_until {
        Some(until) => format!(
            "Two-factor authentication is not set up: you will be asked again at {}.",
            format_time(until)
        ),
        None => "Two-factor authentication is not set up yet.".to_owned(),
    }
}

/// Back to the settings page, with the session's new state.
pub(super) async fn back_to_settings(
    portal: &Portal,
    mut current: Current,
    logged_in: LoggedIn,
) -> Response {
    current.session.stage = Stage::LoggedIn(logged_in);
    current.save(portal).await;
    current.redirect("/settings")
}

/// What the settings page says when a change is refused. A second factor
/// older than the step-up window is no fault of the session: the user
/// stays logged in, and the page offers to confirm it is them (a step-up).
/// Nothing is changed by a refusal.
pub(super) fn settings_refusal(
    portal: &Portal,
    logged_in: &mut LoggedIn,
    rejected: Rejected,
) -> String {
    match rejected.advice() {
        RetryAdvice::ReauthenticationRequired => {
            logged_in.sign_in_again = true;
            advice_text(portal, RetryAdvice::ReauthenticationRequired)
        }
        advice @ (RetryAdvice::IncorrectCode
        | RetryAdvice::NewCodeNeeded
        | RetryAdvice::TryLater
        | RetryAdvice::CheckInput
        | RetryAdvice::TemporarilyUnavailable
        | RetryAdvice::TryAnotherMethodOrLater) => advice_text(portal, advice),
        _ => "The change could not be made. Please try again.".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RecoveryCodesForm {
    csrf: String,
    confirm: String,
}

/// `POST /settings/recovery-codes`: a new set of recovery codes replaces
/// the old one (step-up required); the new codes are shown once on the
/// settings page.
pub(crate) async fn regenerate_recovery_codes(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<RecoveryCodesForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    current.session.flash = Some(if form.confirm == "yes" {
        match portal.inner().twofa.regenerate_recovery_codes(&user).await {
            Ok(sheet) => {
                logged_in.recovery_codes = Some(zeroize::Zeroizing::new(
                    sheet.expose_secret().map(str::to_owned).collect(),
                ));
                "New recovery codes generated: your old codes no longer work.".to_owned()
            }
            Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
        }
    } else {
        "Nothing changed: tick the box to confirm that your old recovery codes will stop working."
            .to_owned()
    });
    back_to_settings(&portal, current, logged_in).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NameForm {
    csrf: String,
    name: String,
}

/// `POST /settings/name`.
pub(crate) async fn change_name(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<NameForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (logged_in, user) = or_respond!(logged_in_user(&current));
    current.session.flash = Some(
        match portal
            .inner()
            .twofa
            .change_display_name(&user, form.name.trim())
            .await
        {
            Ok(()) => "Your name was saved.".to_owned(),
            Err(_) => "That name cannot be used (1 to 64 characters, no colon).".to_owned(),
        },
    );
    back_to_settings(&portal, current, logged_in).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct PhoneForm {
    csrf: String,
    number: String,
    channel: String,
    answer: String,
}

impl std::fmt::Debug for PhoneForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneForm")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// `POST /settings/phone`: start a number change (step-up required).
pub(crate) async fn change_phone(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<PhoneForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let channel = if form.channel == "voice" {
        PhoneChannel::Voice
    } else {
        PhoneChannel::Sms
    };
    let mut phone = PhoneChoice::new(form.number.trim(), channel);
    if form.answer == "continue" {
        phone = phone.with_answer(NotMobileAnswer::ContinueWithVoice);
    }
    logged_in.not_mobile = None;
    match portal.inner().twofa.start_phone_change(&user, phone).await {
        Ok(SetUpProgress::CodeSent(sent)) => {
            logged_in.phone_change_pending = true;
            current.session.flash = Some(format!(
                "We sent a code to {}. Enter it to confirm the new number.",
                sent.to
            ));
        }
        Ok(SetUpProgress::NotMobile(dialog)) => {
            logged_in.not_mobile = Some(NotMobileView {
                number: form.number.trim().to_owned(),
                reason: not_mobile_reason(&dialog),
            });
        }
        Ok(_) => return current.respond(unavailable()),
        Err(rejected) => {
            current.session.flash = Some(settings_refusal(&portal, &mut logged_in, rejected));
        }
    }
    back_to_settings(&portal, current, logged_in).await
}

/// `POST /settings/phone/confirm`: the code sent to the new number.
pub(crate) async fn confirm_phone(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    // The facade parses the typed text; the page passes it on as typed.
    let code = &form.code;
    match portal.inner().twofa.confirm_phone_change(&user, code).await {
        Ok(()) => {
            logged_in.phone_change_pending = false;
            current.session.flash =
                Some("Your new phone number is verified and in use.".to_owned());
        }
        Err(rejected) => {
            current.session.flash = Some(settings_refusal(&portal, &mut logged_in, rejected));
        }
    }
    back_to_settings(&portal, current, logged_in).await
}
