//! Security notices: the messages that tell a user that something about
//! their second factor changed (a number, a method, the recovery codes, a
//! suspension, a reset), so that a change they did not make does not go
//! unnoticed.
//!
//! NIST SP 800-63B-4 §4 ("Authenticator Event Management") asks that the
//! subscriber be notified of events in an authenticator's life (binding a
//! new one, removal, suspension), and OWASP ASVS 5.0 V6 asks for a notice on
//! every change of an authentication factor. A notice never carries a code:
//! it says what happened and what to do if it was not the user.

use core::fmt;

use twofa_types::Channel;

use crate::destination::{EmailAddress, PhoneNumber};
use crate::template::{
    Issuer, OriginHost, Piece, Placeholder, TemplateError, fmt_pieces, line_feed_at, parse_pieces,
    render_pieces,
};

/// Why the user is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Notice {
    /// A new number was submitted to replace this one.
    NumberChangeStarted,
    /// The 2FA number was replaced.
    NumberChanged,
    /// A method was added.
    MethodAdded,
    /// A method was removed.
    MethodRemoved,
    /// A recovery code was used.
    RecoveryCodeUsed {
        /// Unused codes left.
        remaining: usize,
    },
    /// The recovery codes were regenerated.
    RecoveryCodesRegenerated,
    /// Too many failed attempts: the second factor is suspended.
    FactorSuspended,
    /// An administrator reset 2FA.
    AdminReset,
}

impl Notice {
    /// The kind of notice, without its details (to pick its templates).
    #[must_use]
    pub const fn kind(self) -> NoticeKind {
        match self {
            Self::NumberChangeStarted => NoticeKind::NumberChangeStarted,
            Self::NumberChanged => NoticeKind::NumberChanged,
            Self::MethodAdded => NoticeKind::MethodAdded,
            Self::MethodRemoved => NoticeKind::MethodRemoved,
            Self::RecoveryCodeUsed { .. } => NoticeKind::RecoveryCodeUsed,
            Self::RecoveryCodesRegenerated => NoticeKind::RecoveryCodesRegenerated,
            Self::FactorSuspended => NoticeKind::FactorSuspended,
            Self::AdminReset => NoticeKind::AdminReset,
        }
    }
}

/// A [`Notice`] without its details: which texts of [`NoticeTemplates`]
/// to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NoticeKind {
    /// [`Notice::NumberChangeStarted`].
    NumberChangeStarted,
    /// [`Notice::NumberChanged`].
    NumberChanged,
    /// [`Notice::MethodAdded`].
    MethodAdded,
    /// [`Notice::MethodRemoved`].
    MethodRemoved,
    /// [`Notice::RecoveryCodeUsed`].
    RecoveryCodeUsed,
    /// [`Notice::RecoveryCodesRegenerated`].
    RecoveryCodesRegenerated,
    /// [`Notice::FactorSuspended`].
    FactorSuspended,
    /// [`Notice::AdminReset`].
    AdminReset,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [Self; 8] = [
        Self::NumberChangeStarted,
        Self::NumberChanged,
        Self::MethodAdded,
        Self::MethodRemoved,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesRegenerated,
        Self::FactorSuspended,
        Self::AdminReset,
    ];
}

/// Every placeholder a notice template may be written with; which of them a
/// given text may use is checked when it is put into [`NoticeTemplates`].
const NOTICE_PLACEHOLDERS: &[Placeholder] = &[
    Placeholder::Issuer,
    Placeholder::Remaining,
    Placeholder::Host,
];

/// A notice template: text with the placeholders `{issuer}`, `{remaining}`
/// (unused recovery codes left; only in the texts of
/// [`NoticeKind::RecoveryCodeUsed`]) and `{host}` (the origin host; only in
/// the review line).
///
/// Validated at construction like a code [`Template`](crate::Template):
/// known placeholders only, balanced braces, no control character except
/// the line feed, 1 to [`MAX_TEMPLATE_LEN`](crate::MAX_TEMPLATE_LEN) bytes.
/// There is no `{code}`: a notice never carries one.
#[derive(Clone, PartialEq, Eq)]
pub struct NoticeTemplate {
    pieces: Vec<Piece>,
}

impl NoticeTemplate {
    /// Parses a notice template.
    ///
    /// # Errors
    ///
    /// A [`TemplateError`] saying where the template is wrong.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_delivery::{NoticeTemplate, TemplateError};
    ///
    /// assert!(NoticeTemplate::new("{issuer}: {remaining} codes left").is_ok());
    /// assert_eq!(
    ///     NoticeTemplate::new("your code is {code}").err(),
    ///     Some(TemplateError::UnknownPlaceholder { at: 13 })
    /// );
    /// ```
    pub fn new(text: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            pieces: parse_pieces(text, NOTICE_PLACEHOLDERS)?,
        })
    }

    /// Refuses a placeholder outside `allowed`.
    fn only(self, allowed: &[Placeholder]) -> Result<Self, TemplateError> {
        for piece in &self.pieces {
            if let Piece::Slot(slot) = piece
                && !allowed.contains(slot)
            {
                return Err(TemplateError::PlaceholderNotAllowed {
                    placeholder: slot.name(),
                });
            }
        }
        Ok(self)
    }

    /// Refuses a line feed (a subject or a single line).
    fn single_line(self) -> Result<Self, TemplateError> {
        match line_feed_at(&self.pieces) {
            Some(at) => Err(TemplateError::ControlCharacter { at }),
            None => Ok(self),
        }
    }

    fn render_into(&self, out: &mut String, values: &Values<'_>) {
        render_pieces(&self.pieces, out, |slot, out| match slot {
            Placeholder::Issuer => out.push_str(values.issuer.as_str()),
            Placeholder::Remaining => {
                if let Some(remaining) = values.remaining {
                    out.push_str(&remaining.to_string());
                }
            }
            Placeholder::Host => {
                if let Some(host) = values.host {
                    out.push_str(host.as_str());
                }
            }
            // Not accepted by `NoticeTemplate::new`.
            Placeholder::Code | Placeholder::Minutes => {}
        });
    }
}

impl fmt::Debug for NoticeTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoticeTemplate(\"")?;
        fmt_pieces(&self.pieces, f)?;
        f.write_str("\")")
    }
}

/// What the placeholders of one rendering stand for.
struct Values<'v> {
    issuer: &'v Issuer,
    remaining: Option<usize>,
    host: Option<&'v OriginHost>,
}

/// The three texts of one kind of notice.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NoticeTexts {
    sms: NoticeTemplate,
    email_subject: NoticeTemplate,
    email_body: NoticeTemplate,
}

impl NoticeTexts {
    fn english(kind: NoticeKind) -> Self {
        let (sms, subject, body) = english(kind);
        Self {
            sms: default_template(sms),
            email_subject: default_template(subject),
            email_body: default_template(body),
        }
    }
}

/// The texts of every security notice, with English defaults, and the
/// review line that ends each notice when an
/// [`OriginHost`] is set (`To review your account, sign in at {host}.`).
///
/// Part of [`MessageTemplates`](crate::MessageTemplates), which supplies the
/// issuer name and the origin host and renders a notice with
/// [`MessageTemplates::render_notice`](crate::MessageTemplates::render_notice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTemplates {
    number_change_started: NoticeTexts,
    number_changed: NoticeTexts,
    method_added: NoticeTexts,
    method_removed: NoticeTexts,
    recovery_code_used: NoticeTexts,
    recovery_codes_regenerated: NoticeTexts,
    factor_suspended: NoticeTexts,
    admin_reset: NoticeTexts,
    review: NoticeTemplate,
}

impl NoticeTemplates {
    /// The English texts.
    #[must_use]
    pub fn english() -> Self {
        Self {
            number_change_started: NoticeTexts::english(NoticeKind::NumberChangeStarted),
            number_changed: NoticeTexts::english(NoticeKind::NumberChanged),
            method_added: NoticeTexts::english(NoticeKind::MethodAdded),
            method_removed: NoticeTexts::english(NoticeKind::MethodRemoved),
            recovery_code_used: NoticeTexts::english(NoticeKind::RecoveryCodeUsed),
            recovery_codes_regenerated: NoticeTexts::english(NoticeKind::RecoveryCodesRegenerated),
            factor_suspended: NoticeTexts::english(NoticeKind::FactorSuspended),
            admin_reset: NoticeTexts::english(NoticeKind::AdminReset),
            review: default_template(REVIEW),
        }
    }

    /// Replaces the text message of `kind`.
    ///
    /// # Errors
    ///
    /// [`TemplateError::PlaceholderNotAllowed`] for `{host}`, or for
    /// `{remaining}` outside [`NoticeKind::RecoveryCodeUsed`].
    pub fn with_sms(
        mut self,
        kind: NoticeKind,
        template: NoticeTemplate,
    ) -> Result<Self, TemplateError> {
        self.texts_mut(kind).sms = template.only(body_placeholders(kind))?;
        Ok(self)
    }

    /// Replaces the email subject of `kind` (a single line).
    ///
    /// # Errors
    ///
    /// [`TemplateError::ControlCharacter`] when it contains a line feed;
    /// [`TemplateError::PlaceholderNotAllowed`] as for
    /// [`NoticeTemplates::with_sms`].
    pub fn with_email_subject(
        mut self,
        kind: NoticeKind,
        template: NoticeTemplate,
    ) -> Result<Self, TemplateError> {
        self.texts_mut(kind).email_subject =
            template.only(body_placeholders(kind))?.single_line()?;
        Ok(self)
    }

    /// Replaces the email body of `kind`.
    ///
    /// # Errors
    ///
    /// [`TemplateError::PlaceholderNotAllowed`] as for
    /// [`NoticeTemplates::with_sms`].
    pub fn with_email_body(
        mut self,
        kind: NoticeKind,
        template: NoticeTemplate,
    ) -> Result<Self, TemplateError> {
        self.texts_mut(kind).email_body = template.only(body_placeholders(kind))?;
        Ok(self)
    }

    /// Replaces the review line, the last line of every notice when an
    /// origin host is set (a single line with `{issuer}` and `{host}`).
    ///
    /// # Errors
    ///
    /// [`TemplateError::ControlCharacter`] when it contains a line feed;
    /// [`TemplateError::PlaceholderNotAllowed`] for `{remaining}`.
    pub fn with_review_line(mut self, template: NoticeTemplate) -> Result<Self, TemplateError> {
        self.review = template
            .only(&[Placeholder::Issuer, Placeholder::Host])?
            .single_line()?;
        Ok(self)
    }

    fn texts(&self, kind: NoticeKind) -> &NoticeTexts {
        match kind {
            NoticeKind::NumberChangeStarted => &self.number_change_started,
            NoticeKind::NumberChanged => &self.number_changed,
            NoticeKind::MethodAdded => &self.method_added,
            NoticeKind::MethodRemoved => &self.method_removed,
            NoticeKind::RecoveryCodeUsed => &self.recovery_code_used,
            NoticeKind::RecoveryCodesRegenerated => &self.recovery_codes_regenerated,
            NoticeKind::FactorSuspended => &self.factor_suspended,
            NoticeKind::AdminReset => &self.admin_reset,
        }
    }

    fn texts_mut(&mut self, kind: NoticeKind) -> &mut NoticeTexts {
        match kind {
            NoticeKind::NumberChangeStarted => &mut self.number_change_started,
            NoticeKind::NumberChanged => &mut self.number_changed,
            NoticeKind::MethodAdded => &mut self.method_added,
            NoticeKind::MethodRemoved => &mut self.method_removed,
            NoticeKind::RecoveryCodeUsed => &mut self.recovery_code_used,
            NoticeKind::RecoveryCodesRegenerated => &mut self.recovery_codes_regenerated,
            NoticeKind::FactorSuspended => &mut self.factor_suspended,
            NoticeKind::AdminReset => &mut self.admin_reset,
        }
    }

    pub(crate) fn render_sms(
        &self,
        notice: Notice,
        issuer: &Issuer,
        host: Option<&OriginHost>,
    ) -> String {
        let values = values(notice, issuer, host);
        let mut text = String::new();
        self.texts(notice.kind())
            .sms
            .render_into(&mut text, &values);
        if host.is_some() {
            text.push('\n');
            self.review.render_into(&mut text, &values);
        }
        text
    }

    pub(crate) fn render_email(
        &self,
        notice: Notice,
        issuer: &Issuer,
        host: Option<&OriginHost>,
    ) -> (String, String) {
        let values = values(notice, issuer, host);
        let texts = self.texts(notice.kind());
        let mut subject = String::new();
        texts.email_subject.render_into(&mut subject, &values);
        let mut body = String::new();
        texts.email_body.render_into(&mut body, &values);
        if host.is_some() {
            if !body.ends_with('\n') {
                body.push('\n');
            }
            body.push('\n');
            self.review.render_into(&mut body, &values);
            body.push('\n');
        }
        (subject, body)
    }
}

fn values<'v>(notice: Notice, issuer: &'v Issuer, host: Option<&'v OriginHost>) -> Values<'v> {
    let remaining = match notice {
        Notice::RecoveryCodeUsed { remaining } => Some(remaining),
        _ => None,
    };
    Values {
        issuer,
        remaining,
        host,
    }
}

/// The placeholders the texts of `kind` have values for.
fn body_placeholders(kind: NoticeKind) -> &'static [Placeholder] {
    match kind {
        NoticeKind::RecoveryCodeUsed => &[Placeholder::Issuer, Placeholder::Remaining],
        _ => &[Placeholder::Issuer],
    }
}

fn default_template(text: &str) -> NoticeTemplate {
    // The defaults are constants checked by a unit test; an empty template
    // would only ever appear if that test were deleted.
    NoticeTemplate::new(text).unwrap_or(NoticeTemplate { pieces: Vec::new() })
}

const REVIEW: &str = "To review your account, sign in at {host}.";

/// The English (SMS, email subject, email body) of each kind.
///
/// Each says what happened and what to do if it was not the user; none
/// names the destination or holds a digit of its own.
fn english(kind: NoticeKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        NoticeKind::NumberChangeStarted => (
            "{issuer}: a new number is being set up to replace this two-factor phone number. \
             If this was not you, change your password now and tell your administrator.",
            "{issuer}: your two-factor phone number is being changed",
            "Hello,\n\n\
             A new phone number is being set up to replace the one used for two-factor \
             authentication on your {issuer} account. The change takes effect once the code \
             sent to the new number is entered.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::NumberChanged => (
            "{issuer}: your two-factor phone number was changed. This number no longer receives \
             sign-in codes. If this was not you, tell your administrator now.",
            "{issuer}: your two-factor phone number was changed",
            "Hello,\n\n\
             The phone number used for two-factor authentication on your {issuer} account was \
             changed. The old number no longer receives sign-in codes.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::MethodAdded => (
            "{issuer}: a two-factor sign-in method was added to your account. \
             If this was not you, change your password now and tell your administrator.",
            "{issuer}: a two-factor method was added",
            "Hello,\n\n\
             A new two-factor authentication method was added to your {issuer} account. It can \
             now be used to sign in.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::MethodRemoved => (
            "{issuer}: a two-factor sign-in method was removed from your account. \
             If this was not you, change your password now and tell your administrator.",
            "{issuer}: a two-factor method was removed",
            "Hello,\n\n\
             A two-factor authentication method was removed from your {issuer} account. It can \
             no longer be used to sign in.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::RecoveryCodeUsed => (
            "{issuer}: a recovery code was used to sign in to your account. Unused codes left: \
             {remaining}. If this was not you, change your password now and tell your \
             administrator.",
            "{issuer}: a recovery code was used",
            "Hello,\n\n\
             A recovery code was used to sign in to your {issuer} account. Each code works \
             once; unused codes left: {remaining}. When few are left, generate a new set in \
             your account settings.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::RecoveryCodesRegenerated => (
            "{issuer}: new recovery codes were generated for your account; the old ones no \
             longer work. If this was not you, change your password now and tell your \
             administrator.",
            "{issuer}: new recovery codes were generated",
            "Hello,\n\n\
             A new set of recovery codes was generated for your {issuer} account. Every code \
             of the old set, used or not, no longer works.\n\n\
             If this was not you, change your password now and tell your administrator.\n",
        ),
        NoticeKind::FactorSuspended => (
            "{issuer}: two-factor sign-in to your account was suspended after too many failed \
             attempts. Use a recovery code or ask your administrator to reset it.",
            "{issuer}: two-factor sign-in was suspended",
            "Hello,\n\n\
             Two-factor sign-in to your {issuer} account was suspended after too many failed \
             attempts. To sign in again, use one of your recovery codes or ask your \
             administrator to reset your two-factor authentication.\n\n\
             If the attempts were not yours, someone may know your password: change it now \
             and tell your administrator.\n",
        ),
        NoticeKind::AdminReset => (
            "{issuer}: an administrator reset two-factor authentication on your account. You \
             will set it up again at your next sign-in. If you did not ask for this, tell your \
             administrator.",
            "{issuer}: two-factor authentication was reset",
            "Hello,\n\n\
             An administrator reset two-factor authentication on your {issuer} account. You \
             will be asked to set it up again at your next sign-in.\n\n\
             If you did not ask for this, tell your administrator.\n",
        ),
    }
}

/// A security notice sent as a text message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmsNotice {
    /// What it reports.
    pub notice: Notice,
    /// The recipient (masked in `Debug`).
    pub to: PhoneNumber,
    /// The text: no code, no phone number.
    pub text: String,
}

/// A security notice sent as an email.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmailNotice {
    /// What it reports.
    pub notice: Notice,
    /// The recipient (masked in `Debug`).
    pub to: EmailAddress,
    /// The subject line.
    pub subject: String,
    /// The plain-text body: no code, no address.
    pub body: String,
}

/// A security notice, ready for a [`NoticeSender`](crate::NoticeSender):
/// a text message to a phone or an email to a mailbox.
///
/// Rendered by [`MessageTemplates::render_notice`](crate::MessageTemplates::render_notice).
/// Unlike a code message its text is not secret, and `Debug` shows it; the
/// destination prints masked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeMessage {
    /// A text message.
    Sms(SmsNotice),
    /// An email.
    Email(EmailNotice),
}

impl NoticeMessage {
    /// What the message reports.
    #[must_use]
    pub fn notice(&self) -> Notice {
        match self {
            Self::Sms(sms) => sms.notice,
            Self::Email(email) => email.notice,
        }
    }

    /// The channel it goes through.
    #[must_use]
    pub fn channel(&self) -> Channel {
        match self {
            Self::Sms(_) => Channel::Sms,
            Self::Email(_) => Channel::Email,
        }
    }

    /// The recipient, masked (`+44 ••• ••• 3456`, `j•••@example.com`).
    #[must_use]
    pub fn masked_to(&self) -> String {
        match self {
            Self::Sms(sms) => sms.to.masked(),
            Self::Email(email) => email.to.masked(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_YOU: &str =
        "If this was not you, change your password now and tell your administrator.";

    #[test]
    fn english_texts_parse_and_use_only_their_placeholders() {
        for kind in NoticeKind::ALL {
            let (sms, subject, body) = english(kind);
            for text in [sms, subject, body] {
                let template = NoticeTemplate::new(text).unwrap();
                assert!(!template.pieces.is_empty(), "{kind:?}");
                assert!(template.only(body_placeholders(kind)).is_ok(), "{kind:?}");
            }
            assert!(!subject.contains('\n'), "{kind:?}");
            assert!(!sms.contains('\n'), "{kind:?}");
            assert!(
                !format!("{sms}{subject}{body}").contains(|c: char| c.is_ascii_digit()),
                "{kind:?}"
            );
            if kind != NoticeKind::FactorSuspended && kind != NoticeKind::AdminReset {
                assert!(body.ends_with(&format!("{NOT_YOU}\n")), "{kind:?}");
            }
        }
        let review = NoticeTemplate::new(REVIEW).unwrap();
        assert!(
            review
                .only(&[Placeholder::Issuer, Placeholder::Host])
                .unwrap()
                .single_line()
                .is_ok()
        );
    }

    #[test]
    fn kinds_match_notices() {
        let notices = [
            Notice::NumberChangeStarted,
            Notice::NumberChanged,
            Notice::MethodAdded,
            Notice::MethodRemoved,
            Notice::RecoveryCodeUsed { remaining: 3 },
            Notice::RecoveryCodesRegenerated,
            Notice::FactorSuspended,
            Notice::AdminReset,
        ];
        let kinds: Vec<NoticeKind> = notices.iter().map(|n| n.kind()).collect();
        assert_eq!(kinds, NoticeKind::ALL);
    }

    #[test]
    fn the_remaining_count_fills_only_its_notice() {
        let issuer = Issuer::new("Acme").unwrap();
        let templates = NoticeTemplates::english();
        let text = templates.render_sms(Notice::RecoveryCodeUsed { remaining: 0 }, &issuer, None);
        assert!(text.contains("Unused codes left: 0."), "{text}");
        let (_, body) =
            templates.render_email(Notice::RecoveryCodeUsed { remaining: 9 }, &issuer, None);
        assert!(body.contains("unused codes left: 9."), "{body}");
    }

    #[test]
    fn debug_shows_the_template_as_written() {
        let template = NoticeTemplate::new("{issuer}: {remaining} left").unwrap();
        assert_eq!(
            format!("{template:?}"),
            "NoticeTemplate(\"{issuer}: {remaining} left\")"
        );
    }
}
