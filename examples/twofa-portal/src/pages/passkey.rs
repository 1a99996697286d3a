//! Passkeys: the browser's answer to a ceremony (set-up at login, a login's
//! challenge, a passkey added in the settings), "try again" after a refusal
//! and the way back from the passkey set-up to the other methods.
//!
//! The pages hand the facade's options to `static/passkey.js` in a `data-`
//! attribute; the script calls `navigator.credentials.create` or `.get`
//! and posts the answer (JSON, binary fields in base64url) in the hidden
//! `response` field. Text that is no answer at all the facade refuses
//! unevaluated (`RetryAdvice::CheckInput`): nothing changes and the
//! ceremony stays open; any other refusal ends the ceremony and counts as
//! a failure.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use twofa::RetryAdvice;
use twofa::passkey::CredentialName;
use twofa::types::Method;

use super::account::{back_to_settings, settings_refusal};
use super::login::{after_challenge, challenge_view, refused_step, start_over, stay_on_screen};
use super::{
    CsrfForm, PASSKEY_NOT_ACCEPTED, advice_text, logged_in_user, partial_user, to_own_place,
};
use crate::Portal;
use crate::session::Screen;
use crate::web::{Current, Jar, refused};

/// The name a passkey gets when the name field is left empty.
pub(super) const DEFAULT_NAME: &str = "Passkey";

/// The notice for an answer whose shape is not a passkey answer.
const UNREADABLE: &str = "Your browser's answer could not be read, and nothing was changed. Try again, or use another method.";

/// The name typed for a new passkey (empty: [`DEFAULT_NAME`]), or the
/// notice saying what is wrong with it.
pub(super) fn passkey_name(typed: &str) -> Result<CredentialName, String> {
    let typed = if typed.trim().is_empty() {
        DEFAULT_NAME
    } else {
        typed
    };
    CredentialName::new(typed).map_err(|_| {
        format!(
            "Give the passkey a name of 1 to {} characters, without line breaks.",
            twofa::passkey::MAX_CREDENTIAL_NAME_CHARS
        )
    })
}

/// A form carrying the browser's answer.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasskeyAnswerForm {
    csrf: String,
    response: String,
}

impl std::fmt::Debug for PasskeyAnswerForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyAnswerForm").finish_non_exhaustive()
    }
}

/// `POST /login/2fa/passkey`: the browser's answer to the passkey
/// ceremony of the login (a passkey being set up, or the challenge).
pub(crate) async fn answer(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<PasskeyAnswerForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    // Only a screen with an open ceremony takes an answer.
    let open = match &partial.screen {
        Screen::CreatePasskey(_) => true,
        Screen::Verify(view) => view.method == Method::Passkey && view.passkey.is_some(),
        _ => false,
    };
    if !open {
        return current.respond(refused());
    }
    let submitted = portal
        .inner()
        .twofa
        .submit_passkey(&user, &partial.ticket, &form.response)
        .await;
    let rejected = match submitted {
        Ok(step) => return after_challenge(&portal, current, partial.account, step).await,
        Err(rejected) => rejected,
    };
    if rejected.advice() == RetryAdvice::StartOver {
        return start_over(&portal, current, rejected).await;
    }
    // Not an answer at all: the service changed nothing and the ceremony
    // stays open.
    if rejected.advice() == RetryAdvice::CheckInput {
        current.session.flash = Some(UNREADABLE.to_owned());
        return stay_on_screen(&portal, current, partial).await;
    }
    // Any other refusal ends the ceremony: a set-up starts again
    // from the choice of method, a login with "try again".
    partial.screen = match partial.screen {
        Screen::CreatePasskey(view) => Screen::SetUp(view.back),
        Screen::Verify(mut view) => {
            view.passkey = None;
            Screen::Verify(view)
        }
        other => other,
    };
    current.session.stage = crate::session::Stage::SecondFactor(partial);
    refused_step(&portal, current, rejected).await
}

/// `POST /login/2fa/passkey/retry`: "try again" after a refused passkey:
/// a new ceremony for the same login (any of the user's passkeys may
/// answer it).
pub(crate) async fn retry(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    if !matches!(&partial.screen, Screen::Verify(view) if view.method == Method::Passkey && !view.setting_up)
    {
        return to_own_place(&current);
    }
    let twofa = &portal.inner().twofa;
    let Ok(overview) = twofa.methods(&user).await else {
        return current.respond(crate::web::unavailable());
    };
    let Some(passkey) = overview
        .methods
        .iter()
        .find(|method| method.kind == Method::Passkey)
    else {
        return to_own_place(&current);
    };
    match twofa
        .switch_method(&user, &partial.ticket, passkey.id)
        .await
    {
        Ok(screen) => {
            let view = challenge_view(screen);
            // No ceremony while the factor is suspended after too many
            // failures: a recovery code is the way in.
            current.session.flash = Some(if view.passkey.is_some() {
                "Use your passkey to continue.".to_owned()
            } else {
                advice_text(&portal, RetryAdvice::TryLater)
            });
            partial.screen = Screen::Verify(view);
            stay_on_screen(&portal, current, partial).await
        }
        Err(rejected) => refused_step(&portal, current, rejected).await,
    }
}

/// `POST /login/2fa/passkey/back`: leave the passkey set-up for the
/// choice of method.
pub(crate) async fn back(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (mut partial, _) = or_respond!(partial_user(&current));
    let Screen::CreatePasskey(view) = partial.screen else {
        return to_own_place(&current);
    };
    partial.screen = Screen::SetUp(view.back);
    stay_on_screen(&portal, current, partial).await
}

/// `POST /settings/passkey`: the browser's answer for the passkey being
/// added on the settings page.
pub(crate) async fn confirm(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<PasskeyAnswerForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    if logged_in.adding_passkey.is_none() {
        return current.respond(refused());
    }
    let confirmed = portal
        .inner()
        .twofa
        .confirm_passkey(&user, &form.response)
        .await;
    if matches!(&confirmed, Err(rejected) if rejected.advice() == RetryAdvice::CheckInput) {
        // Not an answer at all: nothing changed, the ceremony stays open.
        current.session.flash = Some(UNREADABLE.to_owned());
        return back_to_settings(&portal, current, logged_in).await;
    }
    // Answered once, accepted or not.
    logged_in.adding_passkey = None;
    current.session.flash = Some(match confirmed {
        Ok(()) => "The passkey is added: a login can use it from now on.".to_owned(),
        Err(rejected) if rejected.advice() == RetryAdvice::PasskeyNotAccepted => {
            format!("{PASSKEY_NOT_ACCEPTED} To add a passkey, start again with \"Add a passkey\".")
        }
        Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
    });
    back_to_settings(&portal, current, logged_in).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_name_is_the_default_and_a_bad_one_is_explained() {
        assert_eq!(passkey_name("  ").unwrap().as_str(), DEFAULT_NAME);
        assert_eq!(
            passkey_name(" Work laptop ").unwrap().as_str(),
            "Work laptop"
        );
        assert!(passkey_name("a\nb").unwrap_err().contains("1 to 64"));
        assert!(passkey_name(&"x".repeat(65)).is_err());
    }
}
