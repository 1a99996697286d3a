//! The page templates (askama, HTML-escaped by default).

use askama::Template;

/// What every portal page shows around its content.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chrome {
    pub(crate) title: &'static str,
    pub(crate) csrf: String,
    /// The logged-in user's name; `None` on the login and 2FA screens.
    pub(crate) who: Option<String>,
    pub(crate) admin: bool,
    /// A message at the top of the page.
    pub(crate) notice: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) message: &'static str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub(crate) page: Chrome,
}

/// One method on the set-up screen.
#[derive(Debug, Clone)]
pub(crate) struct MethodOption {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) hint: &'static str,
}

#[derive(Template)]
#[template(path = "setup.html")]
pub(crate) struct SetUpPage {
    pub(crate) page: Chrome,
    pub(crate) methods: Vec<MethodOption>,
    pub(crate) phone: bool,
    /// A passkey is offered: its name field.
    pub(crate) passkey: bool,
    pub(crate) remind_me_until: Option<String>,
    pub(crate) pending: Option<&'static str>,
    pub(crate) dialog: Option<DialogView>,
}

/// The not-a-mobile dialog.
#[derive(Debug, Clone)]
pub(crate) struct DialogView {
    pub(crate) number: String,
    pub(crate) reason: String,
}

#[derive(Template)]
#[template(path = "qr.html")]
pub(crate) struct QrPage {
    pub(crate) page: Chrome,
    pub(crate) method: &'static str,
    pub(crate) svg: String,
    pub(crate) key_groups: String,
}

/// A re-send button.
#[derive(Debug, Clone)]
pub(crate) struct ResendButton {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
}

/// "Use another method": one of the user's other methods.
#[derive(Debug, Clone)]
pub(crate) struct OtherMethodButton {
    /// The method's id, as the switch form posts it.
    pub(crate) id: u32,
    /// "Text message to +44 ••• ••• 3456", "Authenticator app", ….
    pub(crate) label: String,
}

/// The passkey set-up screen at login.
#[derive(Template)]
#[template(path = "passkey.html")]
pub(crate) struct PasskeyPage {
    pub(crate) page: Chrome,
    /// The options for `navigator.credentials.create` (JSON, escaped
    /// into a `data-` attribute).
    pub(crate) options: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub(crate) struct VerifyPage {
    pub(crate) page: Chrome,
    /// The challenge is a passkey: no code to type.
    pub(crate) passkey_method: bool,
    /// The options for `navigator.credentials.get` while the ceremony is
    /// open (JSON, escaped into a `data-` attribute); `None`: "try again".
    pub(crate) passkey: Option<String>,
    pub(crate) method: &'static str,
    pub(crate) sent_to: Option<String>,
    /// The provider reported the code undelivered.
    pub(crate) undelivered: bool,
    pub(crate) resend: Vec<ResendButton>,
    pub(crate) read_device: bool,
    pub(crate) push: bool,
    pub(crate) push_number: Option<u8>,
    pub(crate) setting_up: bool,
    pub(crate) other_methods: Vec<OtherMethodButton>,
    /// The company switched off the method: another one is set up after
    /// this check.
    pub(crate) then_set_up: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub(crate) page: Chrome,
    pub(crate) status: String,
    pub(crate) recovery_codes: Vec<String>,
}

/// An enrolled method on the settings page.
#[derive(Debug, Clone)]
pub(crate) struct MethodRow {
    /// The method's id, for the remove and default forms.
    pub(crate) id: u32,
    pub(crate) kind: &'static str,
    pub(crate) detail: String,
    pub(crate) since: String,
    /// When a passkey last answered a login ("never used" if it has not).
    pub(crate) last_used: Option<String>,
    /// The method a login asks for first.
    pub(crate) primary: bool,
}

/// An app being added on the settings page: its QR code and key.
#[derive(Debug, Clone)]
pub(crate) struct AddingView {
    pub(crate) method: &'static str,
    pub(crate) svg: String,
    pub(crate) key_groups: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub(crate) struct SettingsPage {
    pub(crate) page: Chrome,
    pub(crate) display_name: String,
    pub(crate) methods: Vec<MethodRow>,
    pub(crate) has_phone: bool,
    pub(crate) recovery_remaining: Option<String>,
    /// A new set of recovery codes, shown once.
    pub(crate) new_recovery_codes: Vec<String>,
    pub(crate) phone_change_pending: bool,
    pub(crate) dialog: Option<DialogView>,
    /// The step-up window in words ("10 minutes").
    pub(crate) step_up: String,
    /// A change was refused for a stale second factor: offer to confirm
    /// it is the user (a step-up).
    pub(crate) sign_in_again: bool,
    /// The kinds of method that may be added: app, push app, phone.
    pub(crate) may_add_app: bool,
    pub(crate) may_add_push: bool,
    pub(crate) may_add_phone: bool,
    pub(crate) may_add_passkey: bool,
    /// A passkey being added: the options for
    /// `navigator.credentials.create` (JSON, escaped into a `data-`
    /// attribute).
    pub(crate) adding_passkey: Option<String>,
    /// An app being added: scan, then type its first code.
    pub(crate) adding: Option<AddingView>,
    /// A phone being added waits for the code sent to it.
    pub(crate) adding_phone: bool,
}

/// A trusted network on the company page.
#[derive(Debug, Clone)]
pub(crate) struct NetworkRow {
    pub(crate) network: String,
    pub(crate) label: String,
    pub(crate) added_by: String,
    pub(crate) added_at: String,
}

/// A method's checkbox in the company's "Two-factor methods" form.
#[derive(Debug, Clone)]
pub(crate) struct MethodToggle {
    /// The form field's name (`app`, `push`, `sms`, `voice`).
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    /// Allowed by the company's current policy.
    pub(crate) allowed: bool,
}

/// One choice of "Require a phishing-resistant method".
#[derive(Debug, Clone)]
pub(crate) struct PhishingChoice {
    /// The form value.
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    /// The company's current setting.
    pub(crate) chosen: bool,
}

#[derive(Template)]
#[template(path = "company.html")]
pub(crate) struct CompanyPage {
    pub(crate) page: Chrome,
    /// The step-up window in words ("10 minutes").
    pub(crate) step_up: String,
    pub(crate) enforced: bool,
    pub(crate) confirm: bool,
    pub(crate) methods: Vec<MethodToggle>,
    /// The phishing-resistance choices (`nobody`, `admins`, `everyone`)
    /// and which one is the policy's.
    pub(crate) phishing: Vec<PhishingChoice>,
    pub(crate) networks: Vec<NetworkRow>,
}

/// One employee on the status page.
#[derive(Debug, Clone)]
pub(crate) struct StatusRow {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) kind: &'static str,
    pub(crate) status: &'static str,
    pub(crate) last: String,
}

#[derive(Template)]
#[template(path = "status.html")]
pub(crate) struct StatusPage {
    pub(crate) page: Chrome,
    pub(crate) rows: Vec<StatusRow>,
}

/// One message in the outbox.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    pub(crate) channel: String,
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) body: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub(crate) struct OutboxPage {
    pub(crate) page: Chrome,
    pub(crate) messages: Vec<OutboxRow>,
    pub(crate) clock: bool,
}

/// One push prompt on the simulated phone.
#[derive(Debug, Clone)]
pub(crate) struct PushRow {
    pub(crate) user: String,
    pub(crate) request: String,
    pub(crate) issuer: String,
    /// The login's client address.
    pub(crate) from: String,
    /// When the login asked.
    pub(crate) at: String,
    pub(crate) expires: String,
}

#[derive(Template)]
#[template(path = "phone.html")]
pub(crate) struct PhonePage {
    pub(crate) page: Chrome,
    pub(crate) prompts: Vec<PushRow>,
    pub(crate) clock: bool,
}

#[derive(Template)]
#[template(path = "clock.html")]
pub(crate) struct ClockPage {
    pub(crate) page: Chrome,
    pub(crate) now: String,
    pub(crate) clock: bool,
}
