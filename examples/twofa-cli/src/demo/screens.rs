//! What the user sees: the portal's screens drawn as boxes in the terminal.

use twofa::delivery::{LineType, PushMessage, ResendOption};
use twofa::enforcement::StatusKind;
use twofa::enrollment::NotMobileDialog;
use twofa::types::{AccountKind, Method, MethodSet, TrustedNetworks};
use twofa::{Allowed, AllowedBy, ChallengeScreen, PushSent, Rejected, RetryAdvice, SetUpScreen};

use super::{PORTAL, Portal};

impl Portal<'_> {
    pub(super) fn screen(&mut self, title: &str, lines: &[String]) {
        let width = lines
            .iter()
            .map(|line| line.chars().count())
            .chain([title.chars().count().saturating_add(4)])
            .max()
            .unwrap_or(0)
            .saturating_add(2);
        let rule = "─".repeat(
            width
                .saturating_sub(title.chars().count())
                .saturating_sub(3),
        );
        self.say(format!("  ┌─ {title} {rule}┐"));
        for line in lines {
            let pad = " ".repeat(width.saturating_sub(line.chars().count()));
            self.say(format!("  │ {line}{pad}│"));
        }
        self.say(format!("  └{}┘", "─".repeat(width.saturating_add(1))));
    }

    pub(super) fn show_set_up(&mut self, screen: &SetUpScreen) {
        let mut lines = vec![
            "You must set up two-factor authentication.".to_owned(),
            "Choose an authentication method:".to_owned(),
        ];
        lines.extend(method_lines(screen.methods));
        lines.push(String::new());
        match screen.remind_me_until {
            Some(until) => lines.push(format!(
                "[ Enable 2FA ]   [ Remind me in 48 hours ] (until {})",
                until.format("%a %H:%M UTC")
            )),
            None => lines.push("[ Enable 2FA ]".to_owned()),
        }
        self.screen(&format!("{PORTAL} · Enable 2FA"), &lines);
    }

    pub(super) fn show_challenge(&mut self, screen: &ChallengeScreen) {
        let mut lines = vec!["2FA Verification".to_owned()];
        match (&screen.sent_to, screen.method) {
            (Some(to), _) => lines.push(format!("We sent a code to {to}.")),
            (None, Method::PushApp) => {
                lines.push("Approve the login in your Authy app, or enter its token.".to_owned());
                lines.push("[ Send push to Authy ]".to_owned());
            }
            (None, Method::Passkey) => {
                lines.push("Confirm it is you with your passkey.".to_owned());
                lines.push("[ Use my passkey ]".to_owned());
            }
            (None, _) => lines.push("Enter the code shown in your authenticator app.".to_owned()),
        }
        // A passkey is a signature, not a code: nothing to type or re-send.
        if screen.method != Method::Passkey {
            lines.push("Code: [______]   [ Submit ]".to_owned());
            let resend: Vec<&str> = screen.resend.iter().map(|o| resend_label(*o)).collect();
            lines.push(format!("Didn't get it?  {}", resend.join(" · ")));
        }
        for other in &screen.other_methods {
            let label = match (&other.masked_number, &other.name) {
                (Some(number), _) => format!("{} to {number}", method_label(other.kind)),
                (None, Some(name)) => format!("{} \"{name}\"", method_label(other.kind)),
                (None, None) => method_label(other.kind).to_owned(),
            };
            lines.push(format!("Use another method: [ {label} ]"));
        }
        if screen.then_set_up.is_some() {
            lines.push(
                "Your company no longer allows this method: after this check, set up another one."
                    .to_owned(),
            );
        }
        self.screen(&format!("{PORTAL} · Verify"), &lines);
    }

    pub(super) fn show_allowed(&mut self, allowed: &Allowed) {
        let why = match allowed.by {
            AllowedBy::SecondFactor { method } => {
                format!("two-factor check passed: {}", method_label(method))
            }
            AllowedBy::RecoveryCode => "recovery code accepted".to_owned(),
            AllowedBy::TrustedNetwork { network, until } => format!(
                "trusted network {network}: no prompt until {}",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            AllowedBy::DeferralRunning { until } | AllowedBy::Deferred { until } => format!(
                "2FA set-up postponed until {}",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            _ => "allowed".to_owned(),
        };
        let mut lines = vec![
            "Welcome to the Partner Portal.".to_owned(),
            format!("({why})"),
        ];
        if let Some(sheet) = &allowed.recovery_codes {
            lines.push(String::new());
            lines.push("2FA is active. Save these recovery codes; each works once:".to_owned());
            lines.extend(sheet.expose_secret().map(|code| format!("  {code}")));
        }
        self.screen(&format!("{PORTAL} · Dashboard"), &lines);
    }

    pub(super) fn show_rejected(&mut self, rejected: Rejected) {
        let text = advice_text(rejected.advice());
        self.screen(&format!("{PORTAL} · Verify"), &[format!("⚠ {text}")]);
    }

    /// The login page while a push prompt waits for the user's device.
    pub(super) fn show_push_sent(&mut self, sent: &PushSent) {
        self.screen(
            &format!("{PORTAL} · Verify"),
            &[
                "2FA Verification".to_owned(),
                "We sent a login request to your Authy app.".to_owned(),
                format!("To approve it, type {} on your device.", sent.match_number),
                format!(
                    "The request expires at {}.",
                    sent.expires_at.format("%H:%M:%S UTC")
                ),
                "Or type the token Authy shows: [______]   [ Submit ]".to_owned(),
            ],
        );
    }

    /// The prompt on the user's phone.
    pub(super) fn show_push_prompt(&mut self, message: &PushMessage) {
        let from = message
            .client_address
            .map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
        self.say(format!(
            "  📱 Authy: login to {PORTAL} from {from} at {}. Type the number on the login page: [__]   [ Approve ]   [ Deny ]",
            message.requested_at.format("%H:%M UTC")
        ));
    }

    /// The user's own settings page: the name and number used for 2FA.
    pub(super) fn show_settings(&mut self, name: &str, phone: &str) {
        self.screen(
            &format!("{PORTAL} · User Settings · Two-factor authentication"),
            &[
                format!("Name used for 2FA:   {name}   [ Change ]"),
                format!("Phone number:        {phone}   [ Change ]"),
            ],
        );
    }

    pub(super) fn show_dialog(&mut self, number: &str, dialog: &NotMobileDialog) {
        let why = match dialog.line_type {
            LineType::Unknown(_) => {
                "We cannot tell whether this number is a mobile (numbers in Canada and the US look alike)."
            }
            _ => "This looks like a landline or other non-mobile number.",
        };
        self.screen(
            &format!("{PORTAL} · {number}"),
            &[
                why.to_owned(),
                "Text messages may not arrive. We recommend an authenticator app".to_owned(),
                "(Authy or any app that scans a QR code).".to_owned(),
                String::new(),
                "[ Use an app instead ]   [ Call me with the code instead ]".to_owned(),
            ],
        );
    }
}

fn method_lines(methods: MethodSet) -> Vec<String> {
    let mut lines = Vec::new();
    if methods.contains(Method::AuthenticatorApp) {
        lines.push("  ( ) Third-party authenticator app".to_owned());
    }
    if methods.contains(Method::PushApp) {
        lines.push("  ( ) Authy (push notification or token)".to_owned());
    }
    if methods.contains(Method::Sms) || methods.contains(Method::VoiceCall) {
        lines.push("  ( ) SMS / Voice".to_owned());
    }
    if methods.contains(Method::Passkey) {
        lines.push("  ( ) Passkey (fingerprint, face or screen lock)".to_owned());
    }
    lines
}

fn resend_label(option: ResendOption) -> &'static str {
    match option {
        ResendOption::Sms => "[SMS]",
        ResendOption::Voice => "[Phone call]",
        ResendOption::Email => "[Email]",
        ResendOption::App => "check your device for a new code",
    }
}

/// The portal's name for a method.
pub(super) fn method_label(method: Method) -> &'static str {
    match method {
        Method::AuthenticatorApp => "Authenticator app",
        Method::PushApp => "Authy",
        Method::Sms => "SMS",
        Method::VoiceCall => "Phone call",
        Method::Passkey => "Passkey",
        _ => "Another method",
    }
}

/// The portal's name for an enrollment status in the report.
pub(super) fn status_label(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::NotEnrolled => "Not enrolled",
        StatusKind::Deferred => "Postponed (Remind me in 48 hours)",
        StatusKind::PendingVerification => "Pending verification",
        StatusKind::Enrolled => "Enrolled",
        _ => "Unknown",
    }
}

/// The portal's name for a kind of account.
pub(super) fn account_label(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::PartnerEmployee => "Partner employee",
        AccountKind::EndUserClient => "End-user client",
    }
}

/// Whether trusted networks serve an account, in the report's words.
pub(super) fn trusted_label(trusted: TrustedNetworks) -> &'static str {
    match trusted {
        TrustedNetworks::Apply => "Apply",
        TrustedNetworks::DoNotApply => "Do not apply (client account)",
    }
}

/// What the user is told after a refusal.
pub(super) fn advice_text(advice: RetryAdvice) -> &'static str {
    match advice {
        RetryAdvice::IncorrectCode => "That code is not correct. Please try again.",
        RetryAdvice::NewCodeNeeded => "This code can no longer be used. Request a new one.",
        RetryAdvice::TryLater => "Please wait a moment before trying again.",
        RetryAdvice::CheckInput => "Please check what you entered.",
        RetryAdvice::TemporarilyUnavailable => "Temporarily unavailable: please try again.",
        RetryAdvice::TryAnotherMethodOrLater => {
            "No code can be sent this way now: use another method, or try again later."
        }
        RetryAdvice::PasskeyNotAccepted => {
            "Your passkey was not accepted: try again, or use another method."
        }
        RetryAdvice::ReauthenticationRequired => {
            "Confirm it is you: log in again with your second factor, then make the change."
        }
        _ => "Please log in again.",
    }
}
