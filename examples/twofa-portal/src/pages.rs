//! The portal's pages: login, the second-factor screens, home, user
//! settings, company settings, enrollment status.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use twofa::delivery::{CodeChannel, LineType, ResendOption, UnknownReason};
use twofa::enforcement::{
    AccountKind, Actor, CompanyPolicy, CompanyRole, Method, MethodSet, PolicyError, ResendChannel,
    StatusKind, UserId,
};
use twofa::enrollment::{
    Enrollment, EnrollmentState, Factor, MethodId, MethodKind, NotMobileAnswer, NotMobileDialog,
    PhoneChannel, ProvisioningUri,
};
use twofa::trusted_network::Cidr;
use twofa::{
    Allowed, AllowedBy, ChallengeScreen, CompanyRecord, LoginStep, MethodChoice, PhoneChoice,
    PushPoll, Rejected, Resent, RetryAdvice, SetUpProgress,
};

use crate::Portal;
use crate::accounts::{DemoAccount, check_password_in};
use crate::session::{
    LoggedIn, NotMobileView, Partial, QrView, Screen, SetUpView, Stage, VerifyView,
};
use crate::views::{
    Chrome, CompanyPage, DialogView, HomePage, LoginPage, MethodOption, MethodRow, MethodToggle,
    NetworkRow, OtherMethodButton, QrPage, ResendButton, SetUpPage, SettingsPage, StatusPage,
    StatusRow, VerifyPage,
};
use crate::web::{Current, Jar, client_context, refused, render, unavailable};

/// A form with only the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CsrfForm {
    csrf: String,
}

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
        or_respond!(Current::load(&$portal, &$headers, Jar::Portal))
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
    current.save(&portal);
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
    let accounts = portal.inner().accounts.iter().copied();
    let Some(account) = check_password_in(accounts, form.login.trim(), &form.password) else {
        // One message for an unknown login and a wrong password.
        current.session.flash = Some("The username or password is not right.".to_owned());
        current.save(&portal);
        return current.redirect("/login");
    };
    let Some(user) = user_id(account) else {
        return current.respond(unavailable());
    };
    let step = portal
        .inner()
        .twofa
        .begin_login(&user, &client_context(peer, &headers))
        .await;
    match step {
        Ok(step) => enter_step(&portal, current, account, step),
        Err(rejected) => {
            current.session.flash = Some(advice_text(&portal, rejected.advice()));
            current.save(&portal);
            current.redirect("/login")
        }
    }
}

/// After the password: rotate the session and go where the step says.
fn enter_step(
    portal: &Portal,
    mut current: Current,
    account: &'static DemoAccount,
    step: LoginStep,
) -> Response {
    let screen = match step {
        LoginStep::Allowed(allowed) => return complete(portal, current, account, allowed),
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
    });
    if let Err(response) = current.rotate(portal) {
        return response;
    }
    current.redirect("/login/2fa")
}

/// The verification screen of a login's challenge.
fn challenge_view(screen: ChallengeScreen) -> VerifyView {
    VerifyView {
        method: screen.method,
        sent_to: screen.sent_to,
        resend: screen.resend,
        setting_up: false,
        push_number: None,
        other_methods: screen.other_methods,
        then_set_up: screen.then_set_up.is_some(),
    }
}

/// A second factor was accepted: the login is complete, or (every method
/// of the user is switched off by the company) goes on to set up another.
fn after_challenge(
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
    enter_step(portal, current, account, step)
}

/// The second factor was accepted (or not needed): a full login, on a new
/// session identifier.
fn complete(
    portal: &Portal,
    mut current: Current,
    account: &'static DemoAccount,
    allowed: Allowed,
) -> Response {
    let recovery_codes = allowed
        .recovery_codes
        .as_ref()
        .map(|sheet| sheet.expose_secret().map(str::to_owned).collect());
    current.session.flash = Some(match allowed.by {
        AllowedBy::TrustedNetwork { until, .. } => format!(
            "You are on a trusted network: no second factor needed until {}.",
            format_time(until)
        ),
        AllowedBy::DeferralRunning { until } => format!(
            "Two-factor set-up postponed: we will remind you at {}.",
            format_time(until)
        ),
        AllowedBy::RecoveryCode => {
            "Logged in with a recovery code. That code cannot be used again.".to_owned()
        }
        _ => "Two-factor authentication complete.".to_owned(),
    });
    current.session.stage = Stage::LoggedIn(LoggedIn {
        account,
        recovery_codes,
        phone_change_pending: false,
        not_mobile: None,
        sign_in_again: false,
    });
    if let Err(response) = current.rotate(portal) {
        return response;
    }
    current.redirect("/home")
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
        RetryAdvice::ReauthenticationRequired => format!(
            "For your security, sign in again to make this change: your last two-factor check was more than {} ago.",
            duration_words(portal.inner().step_up)
        ),
        _ => "Please log in again.".to_owned(),
    }
}

/// What the settings page says when a change is refused. A second factor
/// older than the step-up window is no fault of the session: the user
/// stays logged in, and the page offers to sign in again. Nothing is
/// changed by a refusal.
fn settings_refusal(portal: &Portal, logged_in: &mut LoggedIn, rejected: Rejected) -> String {
    match rejected.advice() {
        RetryAdvice::ReauthenticationRequired => {
            logged_in.sign_in_again = true;
            advice_text(portal, RetryAdvice::ReauthenticationRequired)
        }
        advice @ (RetryAdvice::IncorrectCode
        | RetryAdvice::NewCodeNeeded
        | RetryAdvice::TryLater
        | RetryAdvice::CheckInput) => advice_text(portal, advice),
        _ => "The change could not be made. Please try again.".to_owned(),
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
    current.end(&portal);
    current.redirect("/login")
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

/// The partial login goes on, on the screen it now holds.
fn stay_on_screen(portal: &Portal, mut current: Current, partial: Partial) -> Response {
    current.session.stage = Stage::SecondFactor(partial);
    current.save(portal);
    current.redirect("/login/2fa")
}

/// The 2FA flow said to start over: the partial login ends.
fn start_over(portal: &Portal, mut current: Current, rejected: Rejected) -> Response {
    current.session.stage = Stage::Anonymous;
    current.session.flash = Some(advice_text(portal, rejected.advice()));
    if let Err(response) = current.rotate(portal) {
        return response;
    }
    current.redirect("/login")
}

/// A refusal on a 2FA screen: stay (with the advice) or start over.
fn refused_step(portal: &Portal, mut current: Current, rejected: Rejected) -> Response {
    if rejected.advice() == RetryAdvice::StartOver {
        return start_over(portal, current, rejected);
    }
    current.session.flash = Some(advice_text(portal, rejected.advice()));
    current.save(portal);
    current.redirect("/login/2fa")
}

fn method_name(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::App => "authenticator app",
        MethodKind::Push => "Authy-style push app",
        MethodKind::Voice => "phone call",
        _ => "text message",
    }
}

/// How "use another method" names one of the user's methods.
fn other_method_label(kind: MethodKind, masked_number: Option<&str>) -> String {
    let number = masked_number.unwrap_or("your phone");
    match kind {
        MethodKind::App => "Authenticator app".to_owned(),
        MethodKind::Push => "Authy-style push app".to_owned(),
        MethodKind::Voice => format!("Phone call to {number}"),
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
            render(&SetUpPage {
                page,
                methods,
                phone,
                remind_me_until: view.remind_me_until.map(format_time),
                pending: view.pending.map(method_name),
                dialog: view.not_mobile.as_ref().map(|d| DialogView {
                    number: d.number.clone(),
                    reason: d.reason.clone(),
                }),
            })
        }
        Screen::ScanQr(view) => {
            let page = chrome(&mut current, "Scan the QR code");
            render(&QrPage {
                page,
                method: method_name(view.method),
                svg: view.svg.clone(),
                key_groups: view.key_groups.clone(),
            })
        }
        Screen::Verify(view) => {
            let page = chrome(&mut current, "2FA Verification");
            let app = matches!(view.method, MethodKind::App | MethodKind::Push);
            render(&VerifyPage {
                page,
                method: method_name(view.method),
                sent_to: view.sent_to.clone(),
                resend: resend_buttons(&view.resend),
                read_device: app,
                push: view.method == MethodKind::Push && !view.setting_up,
                push_number: view.push_number,
                setting_up: view.setting_up,
                other_methods: view
                    .other_methods
                    .iter()
                    .map(|other| OtherMethodButton {
                        id: other.id.get(),
                        label: other_method_label(other.kind, other.masked_number.as_deref()),
                    })
                    .collect(),
                then_set_up: view.then_set_up,
            })
        }
    };
    current.save(&portal);
    current.respond(response)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct MethodForm {
    csrf: String,
    method: String,
    number: String,
    answer: String,
}

impl std::fmt::Debug for MethodForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodForm")
            .field("method", &self.method)
            .finish_non_exhaustive()
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

fn qr_view(method: MethodKind, uri: &ProvisioningUri) -> Option<QrView> {
    let svg = uri.to_qr_svg().ok()?;
    // An inline SVG: the XML declaration is not allowed inside HTML.
    let start = svg.find("<svg")?;
    let key = uri.key_uri().secret().to_base32();
    let key_groups = key
        .trim_end_matches('=')
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(QrView {
        method,
        svg: svg.get(start..)?.to_owned(),
        key_groups,
    })
}

fn code_sent_view(channel: CodeChannel, to: String, setting_up: bool) -> VerifyView {
    let method = match channel {
        CodeChannel::Voice => MethodKind::Voice,
        _ => MethodKind::Sms,
    };
    VerifyView {
        method,
        sent_to: Some(to),
        resend: vec![ResendOption::Sms, ResendOption::Voice, ResendOption::Email],
        setting_up,
        push_number: None,
        other_methods: Vec::new(),
        then_set_up: false,
    }
}

/// `POST /login/2fa/method`: the method chosen on the set-up screen.
pub(crate) async fn choose_method(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<MethodForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut partial, user) = or_respond!(partial_user(&current));
    let Screen::SetUp(mut setup) = partial.screen.clone() else {
        return to_own_place(&current);
    };
    let (choice, kind) = match form.method.as_str() {
        "app" => (MethodChoice::AuthenticatorApp, MethodKind::App),
        "push" => (MethodChoice::PushApp, MethodKind::Push),
        "sms" | "voice" => {
            let channel = if form.method == "sms" {
                PhoneChannel::Sms
            } else {
                PhoneChannel::Voice
            };
            let mut phone = PhoneChoice::new(form.number.trim(), channel);
            if form.answer == "continue" {
                phone = phone.with_answer(NotMobileAnswer::ContinueWithVoice);
            }
            (MethodChoice::Phone(phone), MethodKind::Sms)
        }
        _ => return current.respond(refused()),
    };
    let progress = portal
        .inner()
        .twofa
        .choose_method(&user, &partial.ticket, choice)
        .await;
    match progress {
        Ok(SetUpProgress::ScanQrCode(uri)) => {
            let Some(view) = qr_view(kind, &uri) else {
                return current.respond(unavailable());
            };
            partial.screen = Screen::ScanQr(view);
        }
        Ok(SetUpProgress::CodeSent(sent)) => {
            current.session.flash = Some(format!("We sent a code to {}.", sent.to));
            partial.screen = Screen::Verify(code_sent_view(sent.channel, sent.to, true));
        }
        Ok(SetUpProgress::NotMobile(dialog)) => {
            setup.not_mobile = Some(NotMobileView {
                number: form.number.trim().to_owned(),
                reason: not_mobile_reason(&dialog),
            });
            partial.screen = Screen::SetUp(setup);
        }
        Ok(_) => return current.respond(unavailable()),
        Err(rejected) => {
            setup.not_mobile = None;
            partial.screen = Screen::SetUp(setup);
            current.session.stage = Stage::SecondFactor(partial);
            return refused_step(&portal, current, rejected);
        }
    }
    stay_on_screen(&portal, current, partial)
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

/// `POST /login/2fa/verify`: the code typed.
pub(crate) async fn verify(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (partial, user) = or_respond!(partial_user(&current));
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    match portal
        .inner()
        .twofa
        .submit_code(&user, &partial.ticket, &code)
        .await
    {
        Ok(step) => after_challenge(&portal, current, partial.account, step),
        Err(rejected) => refused_step(&portal, current, rejected),
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
        Ok(step) => after_challenge(&portal, current, partial.account, step),
        Err(rejected) => refused_step(&portal, current, rejected),
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
                CodeChannel::Voice => "phone call",
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
        Err(rejected) => return refused_step(&portal, current, rejected),
    }
    stay_on_screen(&portal, current, partial)
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
        Err(rejected) => return refused_step(&portal, current, rejected),
    }
    stay_on_screen(&portal, current, partial)
}

/// `POST /login/2fa/defer`: "Remind me in 48 hours".
pub(crate) async fn defer(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (partial, user) = or_respond!(partial_user(&current));
    match portal.inner().twofa.defer(&user, &partial.ticket).await {
        Ok(allowed) => complete(&portal, current, partial.account, allowed),
        Err(rejected) => refused_step(&portal, current, rejected),
    }
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
                view.push_number = Some(sent.match_number);
            }
            stay_on_screen(&portal, current, partial)
        }
        Err(rejected) => refused_step(&portal, current, rejected),
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
        Ok(PushPoll::Allowed(allowed)) => complete(&portal, current, partial.account, allowed),
        Ok(PushPoll::SetUp(screen)) => {
            after_challenge(&portal, current, partial.account, LoginStep::SetUp(screen))
        }
        Ok(_) => {
            if headers.get("x-poll").is_some() {
                return current.respond(StatusCode::NO_CONTENT);
            }
            current.session.flash = Some("Still waiting for your phone.".to_owned());
            stay_on_screen(&portal, current, partial)
        }
        Err(rejected) if rejected.advice() == RetryAdvice::StartOver => {
            start_over(&portal, current, rejected)
        }
        Err(_) => {
            if let Screen::Verify(view) = &mut partial.screen {
                view.push_number = None;
            }
            current.session.flash = Some(
                "The request on your phone was not approved. Send a new push or enter a code."
                    .to_owned(),
            );
            stay_on_screen(&portal, current, partial)
        }
    }
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

/// Back to the settings page, with the session's new state.
fn back_to_settings(portal: &Portal, mut current: Current, logged_in: LoggedIn) -> Response {
    current.session.stage = Stage::LoggedIn(logged_in);
    current.save(portal);
    current.redirect("/settings")
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

/// `GET /home`.
pub(crate) async fn home(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = session!(portal, headers);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let enrollment = enrollment_of(&portal, &user).await;
    let status = status_line(enrollment.as_ref(), portal.inner().twofa.now());
    // Shown once: the page is no-store and the codes leave the session.
    let recovery_codes = logged_in.recovery_codes.take().unwrap_or_default();
    current.session.stage = Stage::LoggedIn(logged_in);
    let page = chrome(&mut current, "Home");
    current.save(&portal);
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
    let new_recovery_codes = logged_in.recovery_codes.take().unwrap_or_default();
    let mut methods = Vec::new();
    let mut has_phone = false;
    let mut recovery_remaining = None;
    let display_name = enrollment.as_ref().map_or_else(
        || logged_in.account.display_name.to_owned(),
        |e| e.display_name().as_str().to_owned(),
    );
    if let Some(EnrollmentState::Enrolled(enrolled)) = enrollment.as_ref().map(Enrollment::state) {
        for method in enrolled.methods() {
            let detail = match method.factor() {
                Factor::Phone(phone) => {
                    has_phone = true;
                    phone.number().masked()
                }
                _ => "this device's app".to_owned(),
            };
            methods.push(MethodRow {
                kind: method_name(method.kind()),
                detail,
                since: format_time(method.enrolled_at()),
            });
        }
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
    // Offered once, right after the refusal it answers.
    let sign_in_again = std::mem::take(&mut logged_in.sign_in_again);
    current.session.stage = Stage::LoggedIn(logged_in);
    let page = chrome(&mut current, "User settings");
    current.save(&portal);
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
    }))
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
                logged_in.recovery_codes = Some(sheet.expose_secret().map(str::to_owned).collect());
                "New recovery codes generated: your old codes no longer work.".to_owned()
            }
            Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
        }
    } else {
        "Nothing changed: tick the box to confirm that your old recovery codes will stop working."
            .to_owned()
    });
    back_to_settings(&portal, current, logged_in)
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
    back_to_settings(&portal, current, logged_in)
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
    back_to_settings(&portal, current, logged_in)
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
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    match portal
        .inner()
        .twofa
        .confirm_phone_change(&user, &code)
        .await
    {
        Ok(()) => {
            logged_in.phone_change_pending = false;
            current.session.flash =
                Some("Your new phone number is verified and in use.".to_owned());
        }
        Err(rejected) => {
            current.session.flash = Some(settings_refusal(&portal, &mut logged_in, rejected));
        }
    }
    back_to_settings(&portal, current, logged_in)
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
const METHOD_TOGGLES: [(Method, &str, &str); 4] = [
    (Method::AuthenticatorApp, "app", "Authenticator app"),
    (Method::PushApp, "push", "Authy-style push app"),
    (Method::Sms, "sms", "SMS"),
    (Method::VoiceCall, "voice", "Voice call"),
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
    current.save(portal);
    current.respond(render(&CompanyPage {
        page,
        enforced: company.settings().is_enforced(),
        confirm,
        methods,
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
        current.save(&portal);
        return current.redirect("/company?confirm=enforce");
    }
    current.session.flash = Some(
        match portal.inner().twofa.enforce_two_factor(&actor).await {
            Ok(()) => "Two-factor authentication is now required for all users.".to_owned(),
            Err(_) => "The setting could not be changed. Please try again.".to_owned(),
        },
    );
    current.save(&portal);
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
}

impl MethodsForm {
    /// The checked methods, or `None` for a value no checkbox sends.
    fn methods(&self) -> Option<MethodSet> {
        let fields = [&self.app, &self.push, &self.sms, &self.voice];
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
) -> Result<CompanyPolicy, PolicyError> {
    let mut channels = current.resend_channels();
    for (method, channel) in [
        (Method::Sms, ResendChannel::Sms),
        (Method::VoiceCall, ResendChannel::VoiceCall),
    ] {
        if !methods.contains(method) {
            channels = channels.without(channel);
        } else if !current.allowed_methods().contains(method) {
            channels = channels.with(channel);
        }
    }
    CompanyPolicy::builder()
        .with_allowed_methods(methods)
        .with_resend_channels(channels)
        .with_deferral_length(current.deferral_length())
        .with_deferral_cap(current.deferral_cap())
        .with_trusted_network_reprompt(current.trusted_network_reprompt())
        .with_out_of_band_code_lifetime(current.out_of_band_code_lifetime())
        .with_pending_setup_lifetime(current.pending_setup_lifetime())
        .with_attempts_per_challenge(current.attempts_per_challenge())
        .build()
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
        Err(PolicyError::NoMethodAllowed) => {
            "Check at least one two-factor method: users need one to sign in. Nothing was changed."
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
            Err(_) => "The methods could not be changed. Please try again.".to_owned(),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal);
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
            Err(error) => format!("The network was not added: {error}."),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal);
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
            Err(error) => format!("The network was not removed: {error}."),
        },
    };
    current.session.flash = Some(message);
    current.save(&portal);
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
    current.save(&portal);
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

    #[test]
    fn durations_are_said_in_words() {
        assert_eq!(duration_words(TimeDelta::minutes(10)), "10 minutes");
        assert_eq!(duration_words(TimeDelta::minutes(1)), "1 minute");
        assert_eq!(duration_words(TimeDelta::seconds(90)), "90 seconds");
        assert_eq!(duration_words(TimeDelta::seconds(30)), "30 seconds");
    }

    #[test]
    fn other_methods_are_named_with_their_masked_number() {
        let text = other_method_label;
        assert_eq!(
            text(MethodKind::Sms, Some("+44 ••• ••• 3456")),
            "Text message to +44 ••• ••• 3456"
        );
        assert_eq!(
            text(MethodKind::Voice, Some("+44 ••• ••• 3456")),
            "Phone call to +44 ••• ••• 3456"
        );
        assert_eq!(text(MethodKind::App, None), "Authenticator app");
    }
}
