//! Code messages: the replaceable templates of every message an issuer
//! sends, and the rendered SMS, voice and email messages a channel adapter
//! sends.

use chrono::TimeDelta;
use twofa_types::{CodeChannel, UserId};

use crate::destination::{Destination, EmailAddress, PhoneNumber};
use crate::ids::ChallengeId;
use crate::notice::{EmailNotice, Notice, NoticeMessage, NoticeTemplates, SmsNotice};
use crate::secret::{MessageText, OobCode};
use crate::template::{Issuer, OriginHost, Template, TemplateError, line_feed_at};

const DEFAULT_SMS: &str = "{issuer} verification code: {code}\n\
Do not share this code with anyone. {issuer} will never ask you for it.\n\
It expires in {minutes} minutes.";

const DEFAULT_VOICE: &str = "Hello. This is {issuer}. Your verification code is: {code}. \
Again, your verification code is: {code}. \
Do not share this code with anyone. Goodbye.";

const DEFAULT_EMAIL_SUBJECT: &str = "Your {issuer} verification code";

const DEFAULT_EMAIL_BODY: &str = "Hello,\n\n\
Your {issuer} verification code is: {code}\n\n\
The code expires in {minutes} minutes. Do not share it with anyone: \
{issuer} will never ask you for it.\n\n\
If you did not ask for this code, someone may know your password: \
change it and tell your administrator.\n";

/// The templates of every message an issuer sends, with English defaults:
/// code messages (SMS, voice, email) and security notices
/// ([`NoticeTemplates`]).
///
/// In a voice script `{code}` is read digit by digit (`4, 2, 9, 1, 7, 3`);
/// the default script says the code twice. When an [`OriginHost`] is set,
/// every SMS ends with the origin-bound line `@host #code`, appended after
/// the template so that a replaced template cannot break it, and every
/// notice ends with the review line naming the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplates {
    issuer: Issuer,
    origin_host: Option<OriginHost>,
    sms: Template,
    voice: Template,
    email_subject: Template,
    email_body: Template,
    notices: NoticeTemplates,
}

impl MessageTemplates {
    /// English defaults for `issuer`, without an origin-bound SMS line.
    #[must_use]
    pub fn new(issuer: Issuer) -> Self {
        Self {
            issuer,
            origin_host: None,
            sms: default_template(DEFAULT_SMS),
            voice: default_template(DEFAULT_VOICE),
            email_subject: default_template(DEFAULT_EMAIL_SUBJECT),
            email_body: default_template(DEFAULT_EMAIL_BODY),
            notices: NoticeTemplates::english(),
        }
    }

    /// Ends every SMS with the origin-bound line `@host #code`, and every
    /// notice with the review line naming `host`.
    #[must_use]
    pub fn with_origin_host(mut self, host: OriginHost) -> Self {
        self.origin_host = Some(host);
        self
    }

    /// Replaces the SMS template.
    ///
    /// # Errors
    ///
    /// [`TemplateError::MissingCode`] without `{code}`.
    pub fn with_sms(mut self, template: Template) -> Result<Self, TemplateError> {
        self.sms = require_code(template)?;
        Ok(self)
    }

    /// Replaces the voice script template.
    ///
    /// # Errors
    ///
    /// [`TemplateError::MissingCode`] without `{code}`.
    pub fn with_voice(mut self, template: Template) -> Result<Self, TemplateError> {
        self.voice = require_code(template)?;
        Ok(self)
    }

    /// Replaces the email subject template (a single line with `{issuer}`
    /// and `{minutes}`).
    ///
    /// # Errors
    ///
    /// [`TemplateError::ControlCharacter`] when it contains a line feed;
    /// [`TemplateError::CodeInSubject`] when it contains `{code}`.
    ///
    /// # Security
    ///
    /// The code never goes into a subject: mail clients show subjects in
    /// notification previews, on lock screens and in message lists, where
    /// anyone near the device can read them without unlocking it.
    pub fn with_email_subject(mut self, template: Template) -> Result<Self, TemplateError> {
        if let Some(at) = line_feed_at(&template.pieces) {
            return Err(TemplateError::ControlCharacter { at });
        }
        if template.has_code() {
            return Err(TemplateError::CodeInSubject);
        }
        self.email_subject = template;
        Ok(self)
    }

    /// Replaces the email body template.
    ///
    /// # Errors
    ///
    /// [`TemplateError::MissingCode`] without `{code}`.
    pub fn with_email_body(mut self, template: Template) -> Result<Self, TemplateError> {
        self.email_body = require_code(template)?;
        Ok(self)
    }

    /// Replaces the texts of the security notices.
    #[must_use]
    pub fn with_notices(mut self, notices: NoticeTemplates) -> Self {
        self.notices = notices;
        self
    }

    /// The texts of the security notices.
    #[must_use]
    pub fn notices(&self) -> &NoticeTemplates {
        &self.notices
    }

    /// Renders `notice` for one destination: a text message for a phone,
    /// an email (subject and body) for a mailbox.
    ///
    /// # Security
    ///
    /// The text is made of the notice template, the issuer name, the
    /// origin host and, for [`Notice::RecoveryCodeUsed`], the count of
    /// codes left: never a code, a secret or the destination itself.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_delivery::{Destination, Issuer, MessageTemplates, Notice, NoticeMessage, OriginHost, PhoneNumber};
    ///
    /// let templates = MessageTemplates::new(Issuer::new("Example Portal")?)
    ///     .with_origin_host(OriginHost::new("portal.example.com")?);
    /// let old = PhoneNumber::from_e164("+447400123456")?;
    /// let message = templates.render_notice(Notice::NumberChanged, &Destination::Phone(old));
    /// let NoticeMessage::Sms(sms) = message else { unreachable!() };
    /// assert!(sms.text.starts_with("Example Portal: your two-factor phone number was changed."));
    /// assert!(sms.text.ends_with("portal.example.com."));
    /// assert!(!sms.text.contains("123456"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn render_notice(&self, notice: Notice, to: &Destination) -> NoticeMessage {
        let host = self.origin_host.as_ref();
        match to {
            Destination::Phone(phone) => NoticeMessage::Sms(SmsNotice {
                notice,
                to: phone.clone(),
                text: self.notices.render_sms(notice, &self.issuer, host),
            }),
            Destination::Email(email) => {
                let (subject, body) = self.notices.render_email(notice, &self.issuer, host);
                NoticeMessage::Email(EmailNotice {
                    notice,
                    to: email.clone(),
                    subject,
                    body,
                })
            }
        }
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The origin host, when set.
    #[must_use]
    pub fn origin_host(&self) -> Option<&OriginHost> {
        self.origin_host.as_ref()
    }

    pub(crate) fn render_sms(&self, code: &OobCode, lifetime: TimeDelta) -> MessageText {
        let mut text = self
            .sms
            .render(&self.issuer, code.expose_secret(), minutes(lifetime));
        if let Some(host) = &self.origin_host {
            text.push_str("\n\n@");
            text.push_str(host.as_str());
            text.push_str(" #");
            text.push_str(code.expose_secret());
        }
        MessageText::new(text)
    }

    pub(crate) fn render_voice(&self, code: &OobCode, lifetime: TimeDelta) -> MessageText {
        let spoken = zeroize::Zeroizing::new(spell_digits(code.expose_secret()));
        MessageText::new(self.voice.render(&self.issuer, &spoken, minutes(lifetime)))
    }

    pub(crate) fn render_email(
        &self,
        code: &OobCode,
        lifetime: TimeDelta,
    ) -> (MessageText, MessageText) {
        let minutes = minutes(lifetime);
        (
            MessageText::new(self.email_subject.render(
                &self.issuer,
                code.expose_secret(),
                minutes,
            )),
            MessageText::new(
                self.email_body
                    .render(&self.issuer, code.expose_secret(), minutes),
            ),
        )
    }
}

fn default_template(text: &str) -> Template {
    // The defaults are constants checked by a unit test; an empty template
    // would only ever appear if that test were deleted.
    Template::new(text).unwrap_or(Template { pieces: Vec::new() })
}

fn require_code(template: Template) -> Result<Template, TemplateError> {
    if template.has_code() {
        Ok(template)
    } else {
        Err(TemplateError::MissingCode)
    }
}

/// Whole minutes, rounded up, so a message never promises more time than
/// the code has.
fn minutes(lifetime: TimeDelta) -> i64 {
    let seconds = lifetime.num_seconds().max(0);
    seconds.saturating_add(59) / 60
}

/// `"429173"` -> `"4, 2, 9, 1, 7, 3"`: text-to-speech engines read a run of
/// digits as a number ("four hundred twenty-nine thousand…"), separated
/// digits one by one with a pause.
fn spell_digits(code: &str) -> String {
    let mut out = String::with_capacity(code.len().saturating_mul(3));
    for (index, digit) in code.chars().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push(digit);
    }
    out
}

/// A text message to send.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SmsMessage {
    /// The challenge this message belongs to.
    pub challenge: ChallengeId,
    /// The user the code is for (to route a delivery receipt back).
    pub user: UserId,
    /// The recipient.
    pub to: PhoneNumber,
    /// The text, containing the code.
    pub body: MessageText,
}

/// A voice call to place.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VoiceMessage {
    /// The challenge this call belongs to.
    pub challenge: ChallengeId,
    /// The user the code is for (to route a delivery receipt back).
    pub user: UserId,
    /// The number to call.
    pub to: PhoneNumber,
    /// The script to read, digits separated so they are read one by one.
    pub script: MessageText,
}

/// An email to send.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmailMessage {
    /// The challenge this email belongs to.
    pub challenge: ChallengeId,
    /// The recipient.
    pub to: EmailAddress,
    /// The subject line.
    pub subject: MessageText,
    /// The plain-text body, containing the code.
    pub body: MessageText,
}

/// A code message, ready for the adapter of its channel.
#[derive(Debug, Clone)]
pub enum OutboundMessage {
    /// Send with an [`SmsSender`](crate::SmsSender).
    Sms(SmsMessage),
    /// Send with a [`VoiceCaller`](crate::VoiceCaller).
    Voice(VoiceMessage),
    /// Send with an [`EmailSender`](crate::EmailSender).
    Email(EmailMessage),
}

impl OutboundMessage {
    /// The channel this message goes through.
    #[must_use]
    pub fn channel(&self) -> CodeChannel {
        match self {
            Self::Sms(_) => CodeChannel::Sms,
            Self::Voice(_) => CodeChannel::VoiceCall,
            Self::Email(_) => CodeChannel::Email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_carry_the_code() {
        for text in [DEFAULT_SMS, DEFAULT_VOICE, DEFAULT_EMAIL_BODY] {
            assert!(Template::new(text).unwrap().has_code());
        }
        assert!(!Template::new(DEFAULT_EMAIL_SUBJECT).unwrap().has_code());
    }

    #[test]
    fn minutes_round_up() {
        assert_eq!(minutes(TimeDelta::seconds(600)), 10);
        assert_eq!(minutes(TimeDelta::seconds(601)), 11);
        assert_eq!(minutes(TimeDelta::seconds(1)), 1);
    }

    #[test]
    fn digits_are_spelled_one_by_one() {
        assert_eq!(spell_digits("429173"), "4, 2, 9, 1, 7, 3");
    }
}
