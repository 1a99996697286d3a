//! Message texts: replaceable templates and the rendered SMS, voice and
//! email messages a channel adapter sends.

use core::fmt;

use chrono::TimeDelta;

use crate::challenge::ChallengeId;
use crate::destination::{Destination, EmailAddress, PhoneNumber};
use crate::notice::{EmailNotice, Notice, NoticeMessage, NoticeTemplates, SmsNotice};
use crate::secret::{MessageText, OobCode};
use twofa_types::CodeChannel;

/// Longest accepted template, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 2048;
/// Longest accepted issuer name, in characters.
pub const MAX_ISSUER_LEN: usize = 64;

/// Why a template, issuer or origin host was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template is empty or longer than [`MAX_TEMPLATE_LEN`] bytes.
    #[error("template must be 1 to {max} bytes")]
    Length {
        /// The longest accepted length.
        max: usize,
    },
    /// `{name}` where `name` is not a placeholder of this kind of template
    /// (`issuer`, `code` and `minutes` for a [`Template`]; `issuer`,
    /// `remaining` and `host` for a [`NoticeTemplate`](crate::NoticeTemplate)).
    #[error("unknown placeholder at byte {at}")]
    UnknownPlaceholder {
        /// Byte offset of the opening brace.
        at: usize,
    },
    /// A `{` without its `}`, or a `}` without its `{`.
    #[error("unbalanced brace at byte {at}")]
    UnbalancedBrace {
        /// Byte offset of the brace.
        at: usize,
    },
    /// A message template that does not contain `{code}`.
    #[error("template must contain the {{code}} placeholder")]
    MissingCode,
    /// A control character other than a line feed.
    #[error("template contains a control character at byte {at}")]
    ControlCharacter {
        /// Byte offset of the character.
        at: usize,
    },
    /// The issuer name is empty, too long, or has a control character or brace.
    #[error("issuer must be 1 to {max} characters without control characters or braces")]
    Issuer {
        /// The longest accepted length, in characters.
        max: usize,
    },
    /// The origin host is not a lower-case DNS host name.
    #[error("origin host must be a DNS host name of letters, digits, '-' and '.'")]
    OriginHost,
    /// A known placeholder in a text that has no value for it: `{remaining}`
    /// outside the recovery-code notice, `{host}` outside the review line.
    #[error("the {placeholder} placeholder cannot be used in this text")]
    PlaceholderNotAllowed {
        /// The placeholder's name, without braces.
        placeholder: &'static str,
    },
}

/// The name a message introduces itself with, e.g. `Example Portal`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuer {
    name: String,
}

impl Issuer {
    /// Validates a name: 1 to 64 characters, no control characters, no braces.
    ///
    /// # Errors
    ///
    /// [`TemplateError::Issuer`] otherwise.
    pub fn new(name: &str) -> Result<Self, TemplateError> {
        let count = name.chars().count();
        if count == 0
            || count > MAX_ISSUER_LEN
            || name.trim().is_empty()
            || name.chars().any(|c| c.is_control() || c == '{' || c == '}')
        {
            return Err(TemplateError::Issuer {
                max: MAX_ISSUER_LEN,
            });
        }
        Ok(Self {
            name: name.to_owned(),
        })
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// The host of the site that asks for the code, for the origin-bound last
/// line of an SMS (`@portal.example.com #123456`).
///
/// Per "Origin-bound one-time codes delivered via SMS" (WICG draft, §3
/// "Message format"), the last line of the message is `@`, the host of the
/// top-level origin, a space, `#` and the code; browsers then offer to fill
/// the code only on that site, which blunts phishing on look-alike domains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginHost {
    host: String,
}

impl OriginHost {
    /// Validates a host name (letters, digits, `-`, labels of 1 to 63 bytes
    /// separated by `.`, at most 253 bytes), stored lower case.
    ///
    /// # Errors
    ///
    /// [`TemplateError::OriginHost`] otherwise.
    pub fn new(host: &str) -> Result<Self, TemplateError> {
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(TemplateError::OriginHost);
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
        })
    }

    /// The host.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.host
    }
}

/// A slot in a template, filled when the message is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// The issuer name.
    Issuer,
    /// The one-time code (code messages only).
    Code,
    /// The code lifetime in whole minutes (code messages only).
    Minutes,
    /// Unused recovery codes left (the recovery-code notice only).
    Remaining,
    /// The origin host (the review line of notices only).
    Host,
}

impl Placeholder {
    /// The name between the braces.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::Code => "code",
            Self::Minutes => "minutes",
            Self::Remaining => "remaining",
            Self::Host => "host",
        }
    }
}

/// The placeholders of a code message template.
const CODE_PLACEHOLDERS: &[Placeholder] =
    &[Placeholder::Issuer, Placeholder::Code, Placeholder::Minutes];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Slot(Placeholder),
}

/// Splits `text` into literal text and the placeholders in `accepted`.
///
/// Checks: 1 to [`MAX_TEMPLATE_LEN`] bytes, no control character except the
/// line feed, balanced braces, known placeholders only.
pub(crate) fn parse_pieces(
    text: &str,
    accepted: &[Placeholder],
) -> Result<Vec<Piece>, TemplateError> {
    if text.is_empty() || text.len() > MAX_TEMPLATE_LEN {
        return Err(TemplateError::Length {
            max: MAX_TEMPLATE_LEN,
        });
    }
    if let Some((at, _)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\n')
    {
        return Err(TemplateError::ControlCharacter { at });
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut offset = 0usize;
    while !rest.is_empty() {
        let next = rest.find(['{', '}']);
        let Some(index) = next else {
            pieces.push(Piece::Text(rest.to_owned()));
            break;
        };
        let at = offset.saturating_add(index);
        let (before, from_brace) = rest.split_at(index);
        if from_brace.starts_with('}') {
            return Err(TemplateError::UnbalancedBrace { at });
        }
        let Some(close) = from_brace.find('}') else {
            return Err(TemplateError::UnbalancedBrace { at });
        };
        let name = from_brace.get(1..close).unwrap_or("");
        if name.contains('{') {
            return Err(TemplateError::UnbalancedBrace { at });
        }
        let Some(slot) = accepted.iter().copied().find(|slot| slot.name() == name) else {
            return Err(TemplateError::UnknownPlaceholder { at });
        };
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_owned()));
        }
        pieces.push(Piece::Slot(slot));
        let consumed = index.saturating_add(close).saturating_add(1);
        offset = offset.saturating_add(consumed);
        rest = rest.get(consumed..).unwrap_or("");
    }
    Ok(pieces)
}

/// Appends the rendered `pieces` to `out`, asking `fill` for each slot.
pub(crate) fn render_pieces(
    pieces: &[Piece],
    out: &mut String,
    fill: impl Fn(Placeholder, &mut String),
) {
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Slot(slot) => fill(*slot, out),
        }
    }
}

/// The template text as written, placeholders in braces.
pub(crate) fn fmt_pieces(pieces: &[Piece], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for piece in pieces {
        match piece {
            Piece::Text(text) => f.write_str(text)?,
            Piece::Slot(slot) => write!(f, "{{{}}}", slot.name())?,
        }
    }
    Ok(())
}

/// The byte offset, within the literal text, of the first line feed.
pub(crate) fn line_feed_at(pieces: &[Piece]) -> Option<usize> {
    let mut offset = 0usize;
    for piece in pieces {
        if let Piece::Text(text) = piece {
            if let Some(at) = text.find('\n') {
                return Some(offset.saturating_add(at));
            }
            offset = offset.saturating_add(text.len());
        }
    }
    None
}

/// A message template: text with the placeholders `{issuer}`, `{code}` and
/// `{minutes}` (the code lifetime in whole minutes, rounded up).
///
/// Validated at construction: known placeholders only, balanced braces, no
/// control character except the line feed, 1 to [`MAX_TEMPLATE_LEN`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// A [`TemplateError`] saying where the template is wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_delivery::{Template, TemplateError};
    ///
    /// assert!(Template::new("{issuer}: your code is {code}").is_ok());
    /// assert_eq!(
    ///     Template::new("your code is {pin}").err(),
    ///     Some(TemplateError::UnknownPlaceholder { at: 13 })
    /// );
    /// ```
    pub fn new(text: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            pieces: parse_pieces(text, CODE_PLACEHOLDERS)?,
        })
    }

    fn has_code(&self) -> bool {
        self.pieces.contains(&Piece::Slot(Placeholder::Code))
    }

    fn render(&self, issuer: &Issuer, code: &str, minutes: i64) -> String {
        let mut out = String::new();
        render_pieces(&self.pieces, &mut out, |slot, out| match slot {
            Placeholder::Issuer => out.push_str(issuer.as_str()),
            Placeholder::Code => out.push_str(code),
            Placeholder::Minutes => out.push_str(&minutes.to_string()),
            // Not accepted by `Template::new`.
            Placeholder::Remaining | Placeholder::Host => {}
        });
        out
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Template(\"")?;
        fmt_pieces(&self.pieces, f)?;
        f.write_str("\")")
    }
}

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

    /// Replaces the email subject template (single line; `{code}` allowed
    /// but not advised, since subjects show in notification previews).
    ///
    /// # Errors
    ///
    /// [`TemplateError::ControlCharacter`] when it contains a line feed.
    pub fn with_email_subject(mut self, template: Template) -> Result<Self, TemplateError> {
        if let Some(at) = line_feed_at(&template.pieces) {
            return Err(TemplateError::ControlCharacter { at });
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
        assert!(Template::new(DEFAULT_EMAIL_SUBJECT).is_ok());
    }

    #[test]
    fn template_errors_point_at_the_fault() {
        assert_eq!(
            Template::new("a {code").err(),
            Some(TemplateError::UnbalancedBrace { at: 2 })
        );
        assert_eq!(
            Template::new("a } b").err(),
            Some(TemplateError::UnbalancedBrace { at: 2 })
        );
        assert_eq!(
            Template::new("{co{de}").err(),
            Some(TemplateError::UnbalancedBrace { at: 0 })
        );
        assert_eq!(
            Template::new("x\ty").err(),
            Some(TemplateError::ControlCharacter { at: 1 })
        );
        assert_eq!(
            Template::new("").err(),
            Some(TemplateError::Length {
                max: MAX_TEMPLATE_LEN
            })
        );
        assert!(Template::new(&"a".repeat(MAX_TEMPLATE_LEN)).is_ok());
        assert!(Template::new(&"a".repeat(MAX_TEMPLATE_LEN + 1)).is_err());
    }

    #[test]
    fn render_fills_every_placeholder() {
        let template = Template::new("{issuer}|{code}|{minutes}|{code}").unwrap();
        let issuer = Issuer::new("Acme").unwrap();
        assert_eq!(
            template.render(&issuer, "123456", 10),
            "Acme|123456|10|123456"
        );
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

    #[test]
    fn issuer_and_host_are_validated() {
        assert!(Issuer::new("").is_err());
        assert!(Issuer::new("a\nb").is_err());
        assert!(Issuer::new("{code}").is_err());
        assert!(Issuer::new(&"x".repeat(MAX_ISSUER_LEN + 1)).is_err());
        assert!(OriginHost::new("portal.example.com").is_ok());
        assert_eq!(
            OriginHost::new("Portal.Example.com").unwrap().as_str(),
            "portal.example.com"
        );
        assert!(OriginHost::new("portal example.com").is_err());
        assert!(OriginHost::new("-portal.example.com").is_err());
        assert!(OriginHost::new("portal..example.com").is_err());
    }
}
