//! Answering a login's challenge: a code, a recovery code, a re-send, another
//! method, or a push prompt on the phone.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use twofa::delivery::ResendOption;
use twofa::enrollment::MethodId;
use twofa::types::CodeChannel;
use twofa::{LoginStep, PushPoll, Resent, RetryAdvice};

use super::login::{
    after_challenge, challenge_view, complete, refused_step, start_over, stay_on_screen,
};
use super::{CodeForm, CsrfForm, method_name, partial_user, to_own_place};
use crate::Portal;
use crate::session::Screen;
use crate::web::{Current, Jar, refused};

/// `POST /login/2fa/verify`: the code typed.
pub(crate) async fn verify(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (partial, user) = or_respond!(partial_user(&current));
    // The facade parses the typed text; the page passes it on as typed.
    let code = &form.code;
    match portal
        .inner()
        .twofa
        .submit_code(&user, &partial.ticket, code)
        .await
    {
        Ok(step) => after_challenge(&portal, current, partial.account, step).await,
        Err(rejected) => refused_step(&portal, current, rejected).await,
    }
}

/// `POST /login/2fa/recovery`: a recovery code instead of the second
/// factor.
pub(crate) async fn recovery(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (partial, user) = or_respond!(partial_user(&current));
    match portal
        .inner()
        .twofa
        .use_recovery_code(&user, &partial.ticket, form.code.trim())
        .await
    {
        Ok(step) => after_challenge(&portal, current, partial.account, step).await,
        Err(rejected) => refused_step(&portal, current, rejected).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResendForm {
    csrf: String,
    option: String,
}

/// `POST /login/2fa/resend`: SMS, phone call, email, or "check your
/// device".
pub(crate) async fn resend(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<ResendForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    let option = match form.option.as_str() {
        "sms" => ResendOption::Sms,
        "voice" => ResendOption::Voice,
        "email" => ResendOption::Email,
        "app" => ResendOption::App,
        _ => return current.respond(refused()),
    };
    match portal
        .inner()
        .twofa
        .resend(&user, &partial.ticket, option)
        .await
    {
        Ok(Resent::CodeSent(sent)) => {
            let by = match sent.channel {
                CodeChannel::VoiceCall => "phone call",
                CodeChannel::Email => "email",
                _ => "text message",
            };
            current.session.flash =
                Some(format!("A new code is on its way by {by} to {}.", sent.to));
            if let Screen::Verify(view) = &mut partial.screen {
                view.sent_to = Some(sent.to);
            }
        }
        Ok(_) => {
            current.session.flash =
                Some("Check your device: the app shows a new code every 30 seconds.".to_owned());
        }
        Err(rejected) => return refused_step(&portal, current, rejected).await,
    }
    stay_on_screen(&portal, current, partial).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SwitchForm {
    csrf: String,
    method: String,
}

/// A method id as the verification page writes it: decimal digits with
/// no sign and no leading zero, within `u32`. Anything else is not a
/// value the page could have sent.
fn parse_method_id(text: &str) -> Option<MethodId> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return None;
    }
    text.parse().ok().map(MethodId::new)
}

/// `POST /login/2fa/switch`: "use another method" on the verification
/// screen. The login goes on with the same ticket; a phone method gets a
/// code at once.
pub(crate) async fn switch_method(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<SwitchForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    // Only a login's challenge offers other methods (not the check of a
    // method being set up).
    if !matches!(&partial.screen, Screen::Verify(view) if !view.setting_up) {
        return to_own_place(&current);
    }
    let Some(method) = parse_method_id(&form.method) else {
        return current.respond(refused());
    };
    match portal
        .inner()
        .twofa
        .switch_method(&user, &partial.ticket, method)
        .await
    {
        Ok(screen) => {
            let view = challenge_view(screen);
            current.session.flash = Some(match &view.sent_to {
                Some(to) => format!("We sent a code to {to}."),
                None if view.method == twofa::types::Method::Passkey => {
                    "Use your passkey to continue.".to_owned()
                }
                None => format!("Enter the code shown by your {}.", method_name(view.method)),
            });
            partial.screen = Screen::Verify(view);
        }
        // A method this login may not use (switched off by the company
        // since the page was shown): the screen stays as it was.
        Err(rejected) if rejected.advice() == RetryAdvice::CheckInput => {
            current.session.flash =
                Some("That method cannot be used for this login. Choose another one.".to_owned());
        }
        Err(rejected) => return refused_step(&portal, current, rejected).await,
    }
    stay_on_screen(&portal, current, partial).await
}

/// `POST /login/2fa/push`: send a push prompt to the phone.
pub(crate) async fn send_push(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    match portal.inner().twofa.send_push(&user, &partial.ticket).await {
        Ok(sent) => {
            if let Screen::Verify(view) = &mut partial.screen {
                view.push_number = Some(sent.match_number.value());
            }
            stay_on_screen(&portal, current, partial).await
        }
        Err(rejected) => refused_step(&portal, current, rejected).await,
    }
}

/// `POST /login/2fa/push/poll`: has the phone approved? The script asks
/// with `X-Poll: 1` and gets `204` while waiting; the button gets the page.
pub(crate) async fn poll_push(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    match portal.inner().twofa.poll_push(&user, &partial.ticket).await {
        Ok(PushPoll::Allowed(allowed)) => {
            complete(&portal, current, partial.account, allowed).await
        }
        Ok(PushPoll::SetUp(screen)) => {
            after_challenge(&portal, current, partial.account, LoginStep::SetUp(screen)).await
        }
        Ok(_) => {
            if headers.get("x-poll").is_some() {
                return current.respond(StatusCode::NO_CONTENT);
            }
            current.session.flash = Some("Still waiting for your phone.".to_owned());
            stay_on_screen(&portal, current, partial).await
        }
        Err(rejected) if rejected.advice() == RetryAdvice::StartOver => {
            start_over(&portal, current, rejected).await
        }
        Err(_) => {
            if let Screen::Verify(view) = &mut partial.screen {
                view.push_number = None;
            }
            current.session.flash = Some(
                "The request on your phone was not approved. Send a new push or enter a code."
                    .to_owned(),
            );
            stay_on_screen(&portal, current, partial).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_ids_are_read_only_in_the_form_the_page_writes() {
        for (text, id) in [("0", 0), ("1", 1), ("42", 42), ("4294967295", u32::MAX)] {
            assert_eq!(parse_method_id(text), Some(MethodId::new(id)), "{text}");
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "01",
            "00",
            "1.0",
            "0x1",
            "sms",
            "4294967296",
            "١",
        ] {
            assert_eq!(parse_method_id(bad), None, "{bad:?}");
        }
    }
}
