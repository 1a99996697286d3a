//! The portal's pages, one file per part of the site; this file holds what
//! they share: the request macros, the page chrome, the session helpers and
//! the wording of refusals.

use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use twofa::RetryAdvice;
use twofa::delivery::{LineType, UnknownReason};
use twofa::enforcement::CompanyRole;
use twofa::enrollment::NotMobileDialog;
use twofa::types::Method;
use twofa::types::UserId;

use crate::Portal;
use crate::accounts::DemoAccount;
use crate::session::{LoggedIn, Partial, Stage};
use crate::views::Chrome;
use crate::web::{Current, unavailable};

// The macros come before the page modules: a `macro_rules!` macro is
// visible only in the code that follows it. They name `Current`, `Jar`,
// `Form` and `refused` as the page using them imports them.

/// Takes the value of a step whose failure is already the answer (the
/// uniform refusal, or the way back to where the session belongs), or
/// returns that answer.
macro_rules! or_respond {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

/// Loads the portal session, or answers with the uniform refusal.
macro_rules! session {
    ($portal:expr, $headers:expr) => {
        or_respond!(Current::load(&$portal, &$headers, Jar::Portal).await)
    };
}

/// Parses a form and checks its CSRF token; anything wrong is the uniform
/// refusal, before any other work.
macro_rules! checked_form {
    ($current:expr, $form:expr) => {
        match $form {
            Ok(Form(form)) if $current.csrf_ok(&form.csrf) => form,
            _ => return $current.respond(refused()),
        }
    };
}

pub(crate) mod account;
pub(crate) mod challenge;
pub(crate) mod company;
pub(crate) mod login;
pub(crate) mod methods;
pub(crate) mod passkey;
pub(crate) mod setup;

/// A form with only the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CsrfForm {
    csrf: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct CodeForm {
    csrf: String,
    code: String,
}

impl std::fmt::Debug for CodeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeForm").finish_non_exhaustive()
    }
}

fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn chrome(current: &mut Current, title: &'static str) -> Chrome {
    let (who, admin) = match &current.session.stage {
        Stage::LoggedIn(logged_in) => (
            Some(logged_in.account.display_name.to_owned()),
            logged_in.account.role == CompanyRole::Admin,
        ),
        _ => (None, false),
    };
    Chrome {
        title,
        csrf: current.session.csrf.expose().to_owned(),
        who,
        admin,
        notice: current.session.flash.take(),
    }
}

/// Where a session belongs: the login page, the 2FA screens or home.
fn to_own_place(current: &Current) -> Response {
    match current.session.stage {
        Stage::Anonymous => current.redirect("/login"),
        Stage::SecondFactor(_) => current.redirect("/login/2fa"),
        Stage::LoggedIn(_) => current.redirect("/home"),
    }
}

fn user_id(account: &DemoAccount) -> Option<UserId> {
    UserId::new(account.login).ok()
}

/// The user of a session's account (every demo login is a valid user id;
/// if one were not, the portal cannot answer).
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn account_user(current: &Current, account: &DemoAccount) -> Result<UserId, Response> {
    user_id(account).ok_or_else(|| current.respond(unavailable()))
}

/// The partial login of the session and its user, or the way back to
/// where the session belongs.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn partial_user(current: &Current) -> Result<(Partial, UserId), Response> {
    let Stage::SecondFactor(partial) = &current.session.stage else {
        return Err(to_own_place(current));
    };
    Ok((partial.clone(), account_user(current, partial.account)?))
}

/// The fully logged-in session and its user, or the way back to where the
/// session belongs.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn logged_in_user(current: &Current) -> Result<(LoggedIn, UserId), Response> {
    let Stage::LoggedIn(logged_in) = &current.session.stage else {
        return Err(to_own_place(current));
    };
    Ok((logged_in.clone(), account_user(current, logged_in.account)?))
}

/// A span of time in words: "10 minutes", "1 minute", "90 seconds".
fn duration_words(span: TimeDelta) -> String {
    let minutes = span.num_minutes();
    if span == TimeDelta::minutes(1) {
        "1 minute".to_owned()
    } else if minutes > 1 && span == TimeDelta::minutes(minutes) {
        format!("{minutes} minutes")
    } else {
        format!("{} seconds", span.num_seconds())
    }
}

fn advice_text(portal: &Portal, advice: RetryAdvice) -> String {
    match advice {
        RetryAdvice::IncorrectCode => {
            "That code is not right. Try again or request a new code.".to_owned()
        }
        RetryAdvice::NewCodeNeeded => {
            "That code can no longer be used. Request a new code.".to_owned()
        }
        RetryAdvice::TryLater => {
            "Too many attempts. Please wait a little and try again.".to_owned()
        }
        RetryAdvice::CheckInput => {
            "Check what you typed: that phone number is not valid.".to_owned()
        }
        RetryAdvice::TemporarilyUnavailable => {
            "The portal cannot check this right now. Please try again in a moment.".to_owned()
        }
        RetryAdvice::TryAnotherMethodOrLater => {
            "No code can be sent this way right now. Use another method, or try again later."
                .to_owned()
        }
        RetryAdvice::PasskeyNotAccepted => PASSKEY_NOT_ACCEPTED.to_owned(),
        RetryAdvice::ReauthenticationRequired => format!(
            "For your security, confirm that it is you to make this change: your last two-factor check was more than {} ago.",
            duration_words(portal.inner().step_up)
        ),
        _ => "Please log in again.".to_owned(),
    }
}

/// The refusal of a passkey's answer (the audit trail says why).
const PASSKEY_NOT_ACCEPTED: &str =
    "Your passkey was not accepted: try again, or use another method.";

fn method_name(kind: Method) -> &'static str {
    match kind {
        Method::AuthenticatorApp => "authenticator app",
        Method::PushApp => "Authy-style push app",
        Method::Passkey => "passkey",
        Method::VoiceCall => "phone call",
        Method::Sms => "text message",
        _ => "second factor",
    }
}

fn not_mobile_reason(dialog: &NotMobileDialog) -> String {
    match dialog.line_type {
        LineType::Unknown(UnknownReason::NumberingPlanCannotTell) => {
            "We cannot tell whether this number is a mobile: in the North American numbering plan (the United States, Canada and their neighbours) mobile and landline numbers look alike.".to_owned()
        }
        LineType::Unknown(_) => {
            "We cannot tell whether this number is a mobile.".to_owned()
        }
        _ => "This looks like a landline or another number that cannot receive text messages.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_said_in_words() {
        assert_eq!(duration_words(TimeDelta::minutes(10)), "10 minutes");
        assert_eq!(duration_words(TimeDelta::minutes(1)), "1 minute");
        assert_eq!(duration_words(TimeDelta::seconds(90)), "90 seconds");
        assert_eq!(duration_words(TimeDelta::seconds(30)), "30 seconds");
    }
}
