//! The user's own methods on the settings page (add one with proof, remove
//! one, choose the default) and "confirm it's you": the step-up that a
//! change of a factor or of company settings asks for when the last second
//! factor is older than the step-up window.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use twofa::SetUpProgress;
use twofa::enrollment::MethodId;

use super::account::{back_to_settings, settings_refusal};
use super::login::enter_step_returning;
use super::setup::MethodForm;
use super::{CodeForm, CsrfForm, advice_text, logged_in_user};
use crate::Portal;
use crate::session::{CeremonyOptions, QrView, ReturnTo};
use crate::web::{Current, Jar, client_context, refused, unavailable};

/// `POST /settings/methods/add`: start adding an app, a push app or a
/// phone (step-up required).
pub(crate) async fn add(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<MethodForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    if let Some(notice) = form.bad_passkey_name() {
        current.session.flash = Some(notice);
        return back_to_settings(&portal, current, logged_in).await;
    }
    // The settings page has no not-a-mobile dialog: choosing a phone call
    // is the answer to it.
    let Some((choice, kind)) = form.choice(true) else {
        return current.respond(refused());
    };
    logged_in.not_mobile = None;
    logged_in.adding = None;
    logged_in.adding_passkey = None;
    match portal.inner().twofa.add_method(&user, choice).await {
        Ok(SetUpProgress::ScanQrCode(uri)) => {
            logged_in.adding = Some(QrView {
                method: kind,
                key_uri: uri.key_uri().to_uri(),
            });
            current.session.flash =
                Some("Scan the QR code with the new app, then type the code it shows.".to_owned());
        }
        Ok(SetUpProgress::CreatePasskey(options)) => {
            logged_in.adding_passkey = Some(CeremonyOptions::new(options.as_json()));
            current.session.flash = Some(
                "Create the passkey: your browser will ask you to confirm it is you.".to_owned(),
            );
        }
        Ok(SetUpProgress::CodeSent(sent)) => {
            current.session.flash = Some(format!(
                "We sent a code to {}. Enter it to add this phone.",
                sent.to
            ));
        }
        Ok(SetUpProgress::NotMobile(dialog)) => {
            current.session.flash = Some(format!(
                "{} Choose a phone call for this number instead, or add an app.",
                super::not_mobile_reason(&dialog)
            ));
        }
        Ok(_) => return current.respond(unavailable()),
        Err(rejected) => {
            current.session.flash = Some(settings_refusal(&portal, &mut logged_in, rejected))
        }
    }
    back_to_settings(&portal, current, logged_in).await
}

/// `POST /settings/methods/confirm`: the first code of the method being
/// added.
pub(crate) async fn confirm(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    match portal.inner().twofa.confirm_method(&user, &form.code).await {
        Ok(()) => {
            logged_in.adding = None;
            current.session.flash =
                Some("The new method is added: a login can use it from now on.".to_owned());
        }
        Err(rejected) => {
            current.session.flash = Some(settings_refusal(&portal, &mut logged_in, rejected))
        }
    }
    back_to_settings(&portal, current, logged_in).await
}

/// `POST /settings/methods/cancel`: abandon the method being added.
pub(crate) async fn cancel(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let _form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    logged_in.adding = None;
    logged_in.adding_passkey = None;
    current.session.flash = Some(
        match portal.inner().twofa.cancel_method_setup(&user).await {
            Ok(()) => "Nothing was added.".to_owned(),
            Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
        },
    );
    back_to_settings(&portal, current, logged_in).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MethodIdForm {
    csrf: String,
    method: u32,
}

/// `POST /settings/methods/remove`: remove a method (step-up required;
/// never the last one the company requires).
pub(crate) async fn remove(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<MethodIdForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let method = MethodId::new(form.method);
    current.session.flash = Some(
        match portal.inner().twofa.remove_method(&user, method).await {
            Ok(()) => "The method is removed.".to_owned(),
            Err(rejected) if rejected.reason() == twofa::RejectionDetail::MethodRequired => {
                "This method cannot be removed: your company requires it (add another one first)."
                    .to_owned()
            }
            Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
        },
    );
    back_to_settings(&portal, current, logged_in).await
}

/// `POST /settings/methods/default`: the method a login asks for first.
pub(crate) async fn make_default(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<MethodIdForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (mut logged_in, user) = or_respond!(logged_in_user(&current));
    let method = MethodId::new(form.method);
    current.session.flash = Some(
        match portal.inner().twofa.set_primary_method(&user, method).await {
            Ok(()) => "Logins now ask for this method first.".to_owned(),
            Err(rejected) => settings_refusal(&portal, &mut logged_in, rejected),
        },
    );
    back_to_settings(&portal, current, logged_in).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StepUpForm {
    csrf: String,
    back: String,
}

/// `POST /step-up`: "confirm it's you". The second factor is asked for
/// now, whatever a trusted network or a deferral would allow; once it is
/// accepted the user is back on the page the form named.
pub(crate) async fn step_up(
    State(portal): State<Portal>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<StepUpForm>, FormRejection>,
) -> Response {
    let mut current = session!(portal, headers);
    let form = checked_form!(current, form);
    let (logged_in, user) = or_respond!(logged_in_user(&current));
    let return_to = if form.back == "company" {
        ReturnTo::Company
    } else {
        ReturnTo::Settings
    };
    let client = client_context(peer, &headers);
    match portal.inner().twofa.begin_step_up(&user, &client).await {
        Ok(step) => {
            enter_step_returning(&portal, current, logged_in.account, step, Some(return_to)).await
        }
        Err(rejected) => {
            current.session.flash = Some(advice_text(&portal, rejected.advice()));
            back_to_settings(&portal, current, logged_in).await
        }
    }
}
