//! What the user sees: the portal's screens drawn as boxes in the terminal.

use twofa::delivery::{LineType, ResendOption};

use twofa::enrollment::NotMobileDialog;
use twofa::types::{Method, MethodSet};
use twofa::{Allowed, AllowedBy, ChallengeScreen, Rejected, RetryAdvice, SetUpScreen};

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
        match &screen.sent_to {
            Some(to) => lines.push(format!("We sent a code to {to}.")),
            None => lines.push("Enter the code shown in your authenticator app.".to_owned()),
        }
        lines.push("Code: [______]   [ Submit ]".to_owned());
        let resend: Vec<&str> = screen.resend.iter().map(|o| resend_label(*o)).collect();
        lines.push(format!("Didn't get it?  {}", resend.join(" · ")));
        for other in &screen.other_methods {
            let label = match (&other.masked_number, other.kind) {
                (Some(number), Method::VoiceCall) => format!("a phone call to {number}"),
                (Some(number), _) => format!("a text message to {number}"),
                (None, Method::PushApp) => "the push app".to_owned(),
                (None, _) => "the authenticator app".to_owned(),
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
            AllowedBy::SecondFactor { method } => format!("second factor completed ({method})"),
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
        let text = match rejected.advice() {
            RetryAdvice::IncorrectCode => "That code is not correct. Please try again.",
            RetryAdvice::NewCodeNeeded => "This code can no longer be used. Request a new one.",
            RetryAdvice::TryLater => "Please wait a moment before trying again.",
            RetryAdvice::CheckInput => "Please check what you entered.",
            _ => "Please log in again.",
        };
        self.screen(&format!("{PORTAL} · Verify"), &[format!("⚠ {text}")]);
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
