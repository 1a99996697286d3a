//! Template machinery shared by code messages and security notices: the
//! validated issuer name and origin host, placeholders, parsing a text into
//! literal pieces and slots, rendering them, and the code-message
//! [`Template`].

use core::fmt;

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
    /// `{code}` in an email subject: subjects show in notification
    /// previews and message lists, so the code stays in the body.
    #[error("an email subject cannot contain the {{code}} placeholder")]
    CodeInSubject,
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
    pub(crate) pieces: Vec<Piece>,
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

    pub(crate) fn has_code(&self) -> bool {
        self.pieces.contains(&Piece::Slot(Placeholder::Code))
    }

    pub(crate) fn render(&self, issuer: &Issuer, code: &str, minutes: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
