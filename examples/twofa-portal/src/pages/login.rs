//! The password step, the second-factor screen a partial login is on, and
//! where a login goes next: back to a screen, to the start, or home.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use twofa::delivery::ResendOption;
use twofa::types::{Method, MethodSet};
use twofa::{Allowed, AllowedBy, ChallengeScreen, LoginStep, Rejected, RetryAdvice};

use super::{
    CsrfForm, advice_text, chrome, duration_words, format_time, method_name, partial_user,
    to_own_place, user_id,
};
use crate::Portal;
use crate::accounts::{DemoAccount, check_password_in};
use crate::limits::{AttemptKeys, Locked};
use crate::session::{
    CeremonyOptions, LoggedIn, OtherMethodView, Partial, ReturnTo, Screen, SetUpView, Stage,
    VerifyView,
};
use crate::views::{
    DialogView, LoginPage, MethodOption, OtherMethodButton, PasskeyPage, QrPage, ResendButton,
    SetUpPage, VerifyPage,
};
use crate::web::{Current, Jar, client_address, client_context, refused, render, unavailable};

/// `GET /`.
pub(crate) async fn root(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let current = session!(portal, headers);
    to_own_place(&current)
}

/// `GET /login`.
pub(crate) async fn login_page(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    if !matches!(current.session.stage, Stage::Anonymous) {
        return to_own_place(&current);
    }
    let page = chrome(&mut current, "Log in");
    current.save(&portal).await;
    current.respond(render(&LoginPage { page }))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct LoginForm {
    csrf: String,
    login: String,
    password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").finish_non_exhaustive()
    }
}

/// `POST /login`: the password step.
pub(crate) async fn login(
    State(portal): State<Portal>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    if !matches!(current.session.stage, Stage::Anonymous) {
        return to_own_place(&current);
    }
    // Password-attempt limits, checked before the password is: a
    // closed account or address gets the notice whatever was typed.
    let limiter = &portal.inner().password_limiter;
    let keys = AttemptKeys::new(&form.login, client_address(&portal, peer, &headers));
    let now = portal.inner().twofa.now();
    match limiter.check(&keys, now).await {
        Ok(None) => {}
        Ok(Some(locked)) => {
            current.session.flash = Some(locked_text(locked));
            current.save(&portal).await;
            return current.redirect("/login");
        }
        Err(_) => return current.respond(unavailable()),
    }
    let accounts = portal.inner().accounts.iter().copied();
    let Some(account) = check_password_in(accounts, form.login.trim(), &form.password) else {
        if limiter.failed(&keys, now).await.is_err() {
            return current.respond(unavailable());
        }
        // One message for an unknown login and a wrong password.
        current.session.flash = Some("The username or password is not right.".to_owned());
        current.save(&portal).await;
        return current.redirect("/login");
    };
    if limiter.succeeded(&keys).await.is_err() {
        return current.respond(unavailable());
    }
    let Some(user) = user_id(account) else {
        return current.respond(unavailable());
    };
    let step = portal
        .inner()
        .twofa
        .begin_login(&user, &client_context(peer, &headers))
        .await;
    match step {
        Ok(step) => enter_step(&portal, current, account, step).await,
        Err(rejected) => {
            current.session.flash = Some(advice_text(&portal, rejected.advice()));
            current.save(&portal).await;
            current.redirect("/login")
        }
    }
}

/// The notice of a closed password form.
fn locked_text(locked: Locked) -> String {
    match locked {
        Locked::Account { until } => format!(
            "Too many failed attempts for this account. For your security, logging in to it is paused until {}. Try again then, or ask your administrator.",
            format_time(until)
        ),
        Locked::Address { until } => format!(
            "Too many failed attempts from your network. Logging in from it is paused until {}.",
            format_time(until)
        ),
    }
}

/// `POST /logout` (also "cancel" on the 2FA screens).
pub(crate) async fn logout(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let _form = checked_form!(current, form);
    current.end(&portal).await;
    current.redirect("/login")
}

/// After the password: rotate the session and go where the step says. A
/// step-up going on (a second screen of it) keeps where it returns to.
async fn enter_step(
    portal: &Portal,
    current: Current,
    account: &'static DemoAccount,
    step: LoginStep,
) -> Response {
    let return_to = match &current.session.stage {
        Stage::SecondFactor(partial) => partial.return_to,
        _ => None,
    };
    enter_step_returning(portal, current, account, step, return_to).await
}

/// [`enter_step`], for a login (`return_to` none) or a step-up that ends on
/// the page `return_to`.
pub(super) async fn enter_step_returning(
    portal: &Portal,
    mut current: Current,
    account: &'static DemoAccount,
    step: LoginStep,
    return_to: Option<ReturnTo>,
) -> Response {
    let screen = match step {
        LoginStep::Allowed(allowed) => return complete(portal, current, account, allowed).await,
        LoginStep::SetUp(screen) => {
            let view = SetUpView {
                methods: screen.methods,
                remind_me_until: screen.remind_me_until,
                pending: screen.pending,
                not_mobile: None,
            };
            (screen.ticket, Screen::SetUp(view))
        }
        LoginStep::Challenge(screen) => (screen.ticket, Screen::Verify(challenge_view(screen))),
        _ => return current.respond(unavailable()),
    };
    current.session.stage = Stage::SecondFactor(Partial {
        account,
        ticket: screen.0,
        screen: screen.1,
        return_to,
    });
    if let Err(response) = current.rotate(portal).await {
        return response;
    }
    current.redirect("/login/2fa")
}

/// The verification screen of a login's challenge.
pub(super) fn challenge_view(screen: ChallengeScreen) -> VerifyView {
    VerifyView {
        method: screen.method,
        sent_to: screen.sent_to,
        resend: screen.resend,
        setting_up: false,
        push_number: None,
        other_methods: screen
            .other_methods
            .into_iter()
            .map(|other| OtherMethodView {
                id: other.id,
                kind: other.kind,
                masked_number: other.masked_number,
                name: other.name,
            })
            .collect(),
        then_set_up: screen.then_set_up.is_some(),
        passkey: screen
            .passkey
            .map(|options| CeremonyOptions::new(options.as_json())),
    }
}

/// A second factor was accepted: the login is complete, or (every method
/// of the user is switched off by the company) goes on to set up another.
pub(super) async fn after_challenge(
    portal: &Portal,
    mut current: Current,
    account: &'static DemoAccount,
    step: LoginStep,
) -> Response {
    if matches!(step, LoginStep::SetUp(_)) {
        current.session.flash = Some(
            "Your company no longer allows the method you just used. Set up another one to finish logging in."
                .to_owned(),
        );
    }
    enter_step(portal, current, account, step).await
}

/// The second factor was accepted (or not needed): a full login, on a new
/// session identifier.
pub(super) async fn complete(
    portal: &Portal,
    mut current: Current,
    account: &'static DemoAccount,
    allowed: Allowed,
) -> Response {
    let recovery_codes = allowed
        .recovery_codes
        .as_ref()
        .map(|sheet| zeroize::Zeroizing::new(sheet.expose_secret().map(str::to_owned).collect()));
    current.session.flash = Some(match allowed.by {
        AllowedBy::TrustedNetwork { until, .. } => format!(
            "You are on a trusted network: no second factor needed until {}.",
            format_time(until)
        ),
        AllowedBy::DeferralRunning { until } | AllowedBy::Deferred { until } => format!(
            "Two-factor authentication is postponed until {}: we will ask you to set it up then.",
            format_time(until)
        ),
        AllowedBy::RecoveryCode => {
            "Logged in with a recovery code. That code cannot be used again.".to_owned()
        }
        AllowedBy::SecondFactor { .. } => "Two-factor authentication complete.".to_owned(),
        _ => "Logged in.".to_owned(),
    });
    let return_to = match &current.session.stage {
        Stage::SecondFactor(partial) => partial.return_to,
        _ => None,
    };
    if return_to.is_some() && matches!(allowed.by, AllowedBy::SecondFactor { .. }) {
        current.session.flash = Some(format!(
            "Thank you: it is you. For the next {} you can change these settings.",
            duration_words(portal.inner().step_up)
        ));
    }
    current.session.stage = Stage::LoggedIn(LoggedIn {
        account,
        recovery_codes,
        phone_change_pending: false,
        not_mobile: None,
        sign_in_again: false,
        adding: None,
        adding_passkey: None,
    });
    if let Err(response) = current.rotate(portal).await {
        return response;
    }
    current.redirect(return_to.map_or("/home", ReturnTo::path))
}

/// The partial login goes on, on the screen it now holds.
pub(super) async fn stay_on_screen(
    portal: &Portal,
    mut current: Current,
    partial: Partial,
) -> Response {
    current.session.stage = Stage::SecondFactor(partial);
    current.save(portal).await;
    current.redirect("/login/2fa")
}

/// The 2FA flow said to start over: the partial login ends.
pub(super) async fn start_over(
    portal: &Portal,
    mut current: Current,
    rejected: Rejected,
) -> Response {
    current.session.stage = Stage::Anonymous;
    current.session.flash = Some(advice_text(portal, rejected.advice()));
    if let Err(response) = current.rotate(portal).await {
        return response;
    }
    current.redirect("/login")
}

/// A refusal on a 2FA screen: stay (with the advice) or start over.
pub(super) async fn refused_step(
    portal: &Portal,
    mut current: Current,
    rejected: Rejected,
) -> Response {
    if rejected.advice() == RetryAdvice::StartOver {
        return start_over(portal, current, rejected).await;
    }
    current.session.flash = Some(advice_text(portal, rejected.advice()));
    current.save(portal).await;
    current.redirect("/login/2fa")
}

/// `GET /login/2fa`: the screen the partial login is on.
pub(crate) async fn second_factor(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    let (partial, _) = or_respond!(partial_user(&current));
    let response = match &partial.screen {
        Screen::SetUp(view) => {
            let page = chrome(&mut current, "Enable two-factor authentication");
            let methods = method_options(view.methods);
            let phone = methods
                .iter()
                .any(|m| m.value == "sms" || m.value == "voice");
            let passkey = methods.iter().any(|m| m.value == "passkey");
            render(&SetUpPage {
                page,
                methods,
                phone,
                passkey,
                remind_me_until: view.remind_me_until.map(format_time),
                pending: view.pending.map(method_name),
                dialog: view.not_mobile.as_ref().map(|d| DialogView {
                    number: d.number.clone(),
                    reason: d.reason.clone(),
                }),
            })
        }
        Screen::ScanQr(view) => {
            let Some((svg, key_groups)) = super::setup::qr_picture(view) else {
                return current.respond(unavailable());
            };
            let page = chrome(&mut current, "Scan the QR code");
            render(&QrPage {
                page,
                method: method_name(view.method),
                svg: svg.as_str().to_owned(),
                key_groups: key_groups.as_str().to_owned(),
            })
        }
        Screen::CreatePasskey(view) => {
            let page = chrome(&mut current, "Create your passkey");
            render(&PasskeyPage {
                page,
                options: view.options.as_json().to_owned(),
            })
        }
        Screen::Verify(view) => {
            // A code the provider reported undelivered: say so, next to
            // the other ways to answer.
            let undelivered = match user_id(partial.account) {
                Some(user) => portal
                    .inner()
                    .twofa
                    .code_undelivered(&user, &partial.ticket)
                    .await
                    .unwrap_or(false),
                None => false,
            };
            let page = chrome(&mut current, "2FA Verification");
            let app = matches!(view.method, Method::AuthenticatorApp | Method::PushApp);
            let passkey_method = view.method == Method::Passkey;
            render(&VerifyPage {
                page,
                passkey_method,
                passkey: view
                    .passkey
                    .as_ref()
                    .map(|options| options.as_json().to_owned()),
                method: method_name(view.method),
                sent_to: view.sent_to.clone(),
                undelivered,
                resend: resend_buttons(&view.resend),
                read_device: app,
                push: view.method == Method::PushApp && !view.setting_up,
                push_number: view.push_number,
                setting_up: view.setting_up,
                other_methods: view
                    .other_methods
                    .iter()
                    .map(|other| OtherMethodButton {
                        id: other.id.get(),
                        label: other_method_label(
                            other.kind,
                            other.masked_number.as_deref(),
                            other.name.as_deref(),
                        ),
                    })
                    .collect(),
                then_set_up: view.then_set_up,
            })
        }
    };
    current.save(&portal).await;
    current.respond(response)
}

/// How "use another method" names one of the user's methods.
fn other_method_label(kind: Method, masked_number: Option<&str>, name: Option<&str>) -> String {
    let number = masked_number.unwrap_or("your phone");
    match kind {
        Method::AuthenticatorApp => "Authenticator app".to_owned(),
        Method::PushApp => "Authy-style push app".to_owned(),
        Method::Passkey => match name {
            Some(name) => format!("Passkey \u{201c}{name}\u{201d}"),
            None => "Passkey".to_owned(),
        },
        Method::VoiceCall => format!("Phone call to {number}"),
        _ => format!("Text message to {number}"),
    }
}

fn method_options(methods: MethodSet) -> Vec<MethodOption> {
    let all = [
        (
            Method::AuthenticatorApp,
            "app",
            "Third-party authenticator app",
            "Any RFC 6238 app: scan a QR code.",
        ),
        (
            Method::PushApp,
            "push",
            "Authy (push or token)",
            "Approve logins on your phone, or type its token.",
        ),
        (
            Method::Sms,
            "sms",
            "SMS",
            "A code by text message to your mobile.",
        ),
        (
            Method::VoiceCall,
            "voice",
            "Voice call",
            "A code read out by a phone call.",
        ),
        (
            Method::Passkey,
            "passkey",
            "Passkey (security key, phone or computer)",
            "Sign in with your fingerprint, face, screen lock or security key: nothing to type, and it works only on this portal's own address.",
        ),
    ];
    all.into_iter()
        .filter(|(method, ..)| methods.contains(*method))
        .map(|(_, value, label, hint)| MethodOption { value, label, hint })
        .collect()
}

fn resend_buttons(options: &[ResendOption]) -> Vec<ResendButton> {
    options
        .iter()
        .map(|option| match option {
            ResendOption::Sms => ResendButton {
                value: "sms",
                label: "SMS",
            },
            ResendOption::Voice => ResendButton {
                value: "voice",
                label: "Phone call",
            },
            ResendOption::Email => ResendButton {
                value: "email",
                label: "Email",
            },
            ResendOption::App => ResendButton {
                value: "app",
                label: "Check my device for a new code",
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_methods_are_named_with_their_masked_number() {
        let text = other_method_label;
        assert_eq!(
            text(Method::Sms, Some("+44 ••• ••• 3456"), None),
            "Text message to +44 ••• ••• 3456"
        );
        assert_eq!(
            text(Method::VoiceCall, Some("+44 ••• ••• 3456"), None),
            "Phone call to +44 ••• ••• 3456"
        );
        assert_eq!(
            text(Method::AuthenticatorApp, None, None),
            "Authenticator app"
        );
        assert_eq!(
            text(Method::Passkey, None, Some("Work laptop")),
            "Passkey \u{201c}Work laptop\u{201d}"
        );
    }
}
