//! Setting up a second factor during login: the method chosen on the set-up
//! screen, and "remind me later".

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use twofa::delivery::ResendOption;
use twofa::enrollment::{NotMobileAnswer, PhoneChannel, ProvisioningUri};
use twofa::otp::{KeyUri, ParseMode};
use twofa::types::CodeChannel;
use twofa::types::Method;
use twofa::{MethodChoice, PhoneChoice, SetUpProgress};
use zeroize::Zeroizing;

use super::login::{complete, refused_step, stay_on_screen};
use super::passkey::passkey_name;
use super::{CsrfForm, not_mobile_reason, partial_user, to_own_place};
use crate::Portal;
use crate::session::{
    CeremonyOptions, NotMobileView, PasskeyCreateView, QrView, Screen, Stage, VerifyView,
};
use crate::web::{Current, Jar, refused, unavailable};

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct MethodForm {
    pub(super) csrf: String,
    method: String,
    number: String,
    answer: String,
    /// The name of a passkey.
    name: String,
}

impl MethodForm {
    /// The method the form names and its kind, or `None` for another
    /// value. With `call_answers_dialog`, choosing a phone call outright
    /// counts as the answer to the not-a-mobile dialog; otherwise only the
    /// dialog's own "continue" does.
    pub(super) fn choice(&self, call_answers_dialog: bool) -> Option<(MethodChoice, Method)> {
        let phone = |channel| {
            let mut phone = PhoneChoice::new(self.number.trim(), channel);
            let answered = self.answer == "continue"
                || (call_answers_dialog && channel == PhoneChannel::Voice);
            if answered {
                phone = phone.with_answer(NotMobileAnswer::ContinueWithVoice);
            }
            MethodChoice::Phone(phone)
        };
        Some(match self.method.as_str() {
            "app" => (MethodChoice::AuthenticatorApp, Method::AuthenticatorApp),
            "push" => (MethodChoice::PushApp, Method::PushApp),
            "sms" => (phone(PhoneChannel::Sms), Method::Sms),
            "voice" => (phone(PhoneChannel::Voice), Method::VoiceCall),
            "passkey" => (
                MethodChoice::Passkey(passkey_name(&self.name).ok()?),
                Method::Passkey,
            ),
            _ => return None,
        })
    }

    /// For a passkey whose name is refused: the notice saying why.
    pub(super) fn bad_passkey_name(&self) -> Option<String> {
        if self.method != "passkey" {
            return None;
        }
        passkey_name(&self.name).err()
    }
}

impl std::fmt::Debug for MethodForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodForm")
            .field("method", &self.method)
            .finish_non_exhaustive()
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
    if let Some(notice) = form.bad_passkey_name() {
        current.session.flash = Some(notice);
        partial.screen = Screen::SetUp(setup);
        return stay_on_screen(&portal, current, partial).await;
    }
    let Some((choice, kind)) = form.choice(false) else {
        return current.respond(refused());
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
        Ok(SetUpProgress::CreatePasskey(options)) => {
            setup.not_mobile = None;
            partial.screen = Screen::CreatePasskey(PasskeyCreateView {
                options: CeremonyOptions::new(options.as_json()),
                back: setup,
            });
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
            return refused_step(&portal, current, rejected).await;
        }
    }
    stay_on_screen(&portal, current, partial).await
}

fn qr_view(method: Method, uri: &ProvisioningUri) -> Option<QrView> {
    let view = QrView {
        method,
        key_uri: uri.key_uri().to_uri(),
    };
    // A key that cannot be drawn is refused now, not on the next GET.
    qr_picture(&view)?;
    Some(view)
}

/// The QR code (an inline SVG) and the key in groups of four, drawn from
/// the key URI the session holds.
pub(super) fn qr_picture(view: &QrView) -> Option<(Zeroizing<String>, Zeroizing<String>)> {
    let uri = KeyUri::parse(&view.key_uri, ParseMode::Strict).ok()?;
    let svg = uri.to_qr_svg().ok()?;
    // An inline SVG: the XML declaration is not allowed inside HTML.
    let start = svg.find("<svg")?;
    let key = Zeroizing::new(uri.secret().to_base32());
    let key_groups = key
        .trim_end_matches('=')
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some((
        Zeroizing::new(svg.get(start..)?.to_owned()),
        Zeroizing::new(key_groups),
    ))
}

fn code_sent_view(channel: CodeChannel, to: String, setting_up: bool) -> VerifyView {
    let method = match channel {
        CodeChannel::VoiceCall => Method::VoiceCall,
        _ => Method::Sms,
    };
    VerifyView {
        method,
        sent_to: Some(to),
        resend: vec![ResendOption::Sms, ResendOption::Voice, ResendOption::Email],
        setting_up,
        push_number: None,
        other_methods: Vec::new(),
        then_set_up: false,
        passkey: None,
    }
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
        Ok(allowed) => complete(&portal, current, partial.account, allowed).await,
        Err(rejected) => refused_step(&portal, current, rejected).await,
    }
}
