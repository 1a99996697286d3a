//! `otpauth://` key URIs (Google Authenticator's Key Uri Format).
//!
//! ```text
//! otpauth://TYPE/LABEL?PARAMETERS
//! otpauth://totp/ACME%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30
//! ```
//!
//! This module holds the key URI, its errors, the builder and rendering;
//! reading a URI lives in `parse`.

mod description;
mod parse;

use alloc::string::String;
use core::fmt::{self, Write as _};

use zeroize::Zeroizing;

use crate::base32;
use crate::error::SecretError;
use crate::hotp::Hotp;
use crate::params::{Algorithm, Digits, Step};
use crate::secret::{Secret, SecretStrength};
use crate::totp::Totp;

pub use description::KeyDescription;
pub use parse::ParseMode;

/// The OTP type of a key URI with its type-specific parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum OtpKind {
    /// Time-based (RFC 6238), with its `period`.
    Totp {
        /// The time step (`period=` parameter, default 30 s).
        step: Step,
    },
    /// Counter-based (RFC 4226), with its initial `counter`.
    Hotp {
        /// The initial counter (`counter=` parameter, required).
        counter: u64,
    },
}

impl OtpKind {
    /// `totp` or `hotp`, as in the URI.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Totp { .. } => "totp",
            Self::Hotp { .. } => "hotp",
        }
    }
}

/// The part of a key URI an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UriPart {
    /// The label (`issuer:account` path).
    Label,
    /// The issuer, from the label or the `issuer=` parameter.
    Issuer,
    /// The account name.
    Account,
    /// The `secret=` parameter.
    Secret,
    /// The `image=` parameter.
    Image,
    /// A parameter name or another parameter value.
    Parameter,
}

impl fmt::Display for UriPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Label => "label",
            Self::Issuer => "issuer",
            Self::Account => "account",
            Self::Secret => "secret",
            Self::Image => "image",
            Self::Parameter => "parameter",
        })
    }
}

/// A malformed or refused key URI, or invalid key URI fields.
///
/// Never contains the URI text or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI does not start with `otpauth://`.
    #[error("not an otpauth:// uri")]
    Scheme,
    /// The type is neither `totp` nor `hotp`.
    #[error("otp type must be totp or hotp")]
    UnknownType,
    /// No label (`otpauth://totp?...` or an empty label).
    #[error("key uri has no label")]
    MissingLabel,
    /// The account name is empty.
    #[error("account name is empty")]
    EmptyAccount,
    /// The issuer is present but empty.
    #[error("issuer is empty")]
    EmptyIssuer,
    /// A colon inside the issuer (both modes, and when building).
    #[error("issuer contains a colon")]
    ColonInIssuer,
    /// A colon inside the account name (strict mode, and when building).
    #[error("account name contains a colon")]
    ColonInAccount,
    /// The account name starts with a space, which parsing would drop.
    #[error("account name starts with a space")]
    LeadingSpace,
    /// A control character in a text field.
    #[error("control character in {part}")]
    ControlCharacter {
        /// Where.
        part: UriPart,
    },
    /// A raw character that must be percent-encoded (strict mode).
    #[error("unencoded character in {part}")]
    UnencodedCharacter {
        /// Where.
        part: UriPart,
    },
    /// The label issuer and the `issuer=` parameter differ (strict mode).
    #[error("label issuer and issuer parameter differ")]
    IssuerMismatch,
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoding in {part}")]
    InvalidPercentEncoding {
        /// Where.
        part: UriPart,
    },
    /// Percent-decoded bytes that are not UTF-8.
    #[error("{part} is not valid utf-8")]
    InvalidUtf8 {
        /// Where.
        part: UriPart,
    },
    /// A query element without `=`, or an empty one (strict mode).
    #[error("malformed query parameter")]
    MalformedParameter,
    /// A parameter given twice.
    #[error("duplicate parameter {name}")]
    DuplicateParameter {
        /// The parameter name.
        name: &'static str,
    },
    /// A known parameter whose name is not in lower case (strict mode):
    /// strict mode neither reads it nor ignores it, so that no import
    /// silently loses, say, the issuer's number of digits.
    #[error("parameter {name} must be written in lower case")]
    ParameterCase {
        /// The parameter name, in lower case.
        name: &'static str,
    },
    /// A parameter that does not belong to this OTP type (strict mode).
    #[error("parameter {name} does not apply to this otp type")]
    UnexpectedParameter {
        /// The parameter name.
        name: &'static str,
    },
    /// No `secret=` parameter.
    #[error("missing secret parameter")]
    MissingSecret,
    /// The secret is malformed or too short or long.
    #[error("invalid secret: {0}")]
    Secret(#[from] SecretError),
    /// `algorithm=` is not `SHA1`, `SHA256` or `SHA512`.
    #[error("algorithm must be SHA1, SHA256 or SHA512")]
    UnsupportedAlgorithm,
    /// `digits=` is not 6, 7 or 8.
    #[error("digits must be 6, 7 or 8")]
    InvalidDigits,
    /// `period=` is not 1 to 120.
    #[error("period must be 1 to 120 seconds")]
    InvalidPeriod,
    /// An HOTP URI without `counter=`.
    #[error("hotp uri has no counter parameter")]
    MissingCounter,
    /// `counter=` is not a decimal `u64`.
    #[error("counter must be a decimal number below 2^64")]
    InvalidCounter,
    /// `image=` is not an `https://` URL.
    #[error("image must be an https url")]
    ImageNotHttps,
    /// A `#fragment` (strict mode).
    #[error("key uri has a fragment")]
    Fragment,
    /// An HOTP key URI where a TOTP key was asked for
    /// ([`Totp::from_key_uri`]).
    #[error("key uri is for hotp, not totp")]
    NotTotp,
}

/// A setting that several popular authenticator apps silently ignore,
/// showing codes the server will not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum CompatibilityWarning {
    /// SHA-256 or SHA-512 instead of SHA-1.
    Algorithm(Algorithm),
    /// Other than 6 digits.
    Digits(Digits),
    /// A TOTP step other than 30 seconds.
    Step(Step),
}

impl fmt::Display for CompatibilityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Algorithm(algorithm) => write!(
                f,
                "algorithm {algorithm} is ignored by several authenticator apps, which then show SHA1 codes"
            ),
            Self::Digits(digits) => write!(
                f,
                "{digits} digits are ignored by several authenticator apps, which then show 6-digit codes"
            ),
            Self::Step(step) => write!(
                f,
                "a {step} period is ignored by several authenticator apps, which then use 30s"
            ),
        }
    }
}

/// A key URI: everything an authenticator app needs to add a key.
///
/// Build one with [`KeyUri::totp`] / [`KeyUri::new`], or parse one with
/// [`KeyUri::parse`]; render it with [`KeyUri::to_uri`].
///
/// # Security
///
/// The URI contains the secret. `Debug` redacts it, there is no `Display`,
/// and [`KeyUri::to_uri`] returns a string that is wiped when dropped.
///
/// # Example
///
/// ```
/// use twofa_otp::{KeyUri, ParseMode, Secret};
///
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?;
/// let uri = KeyUri::totp("ACME Co", "alice@example.com", secret)?;
/// assert_eq!(
///     uri.to_uri().as_str(),
///     "otpauth://totp/ACME%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
///      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
/// );
/// let parsed = KeyUri::parse(&uri.to_uri(), ParseMode::Strict)?;
/// assert_eq!(parsed.issuer(), Some("ACME Co"));
/// assert_eq!(parsed.account(), "alice@example.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KeyUri {
    description: KeyDescription,
    secret: Secret,
}

impl KeyUri {
    /// A TOTP key URI with SHA-1, 6 digits and a 30 s period.
    ///
    /// # Errors
    ///
    /// [`UriError::EmptyIssuer`], [`UriError::EmptyAccount`],
    /// [`UriError::ColonInIssuer`], [`UriError::ColonInAccount`],
    /// [`UriError::LeadingSpace`] or [`UriError::ControlCharacter`].
    pub fn totp(issuer: &str, account: &str, secret: Secret) -> Result<Self, UriError> {
        Self::new(
            issuer,
            account,
            secret,
            OtpKind::Totp {
                step: Step::default(),
            },
        )
    }

    /// A key URI of any kind, with SHA-1 and 6 digits.
    ///
    /// # Errors
    ///
    /// As [`KeyUri::totp`].
    pub fn new(
        issuer: &str,
        account: &str,
        secret: Secret,
        kind: OtpKind,
    ) -> Result<Self, UriError> {
        check_text(issuer, UriPart::Issuer)?;
        check_text(account, UriPart::Account)?;
        if issuer.is_empty() {
            return Err(UriError::EmptyIssuer);
        }
        if account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        if issuer.contains(':') {
            return Err(UriError::ColonInIssuer);
        }
        if account.contains(':') {
            return Err(UriError::ColonInAccount);
        }
        if account.starts_with(' ') {
            return Err(UriError::LeadingSpace);
        }
        Ok(Self {
            description: KeyDescription {
                kind,
                issuer: Some(String::from(issuer)),
                account: String::from(account),
                algorithm: Algorithm::default(),
                digits: Digits::default(),
                image: None,
            },
            secret,
        })
    }

    /// The same URI with another algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.description.algorithm = algorithm;
        self
    }

    /// The same URI with another digit count.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.description.digits = digits;
        self
    }

    /// The same URI with an `image=` logo URL.
    ///
    /// # Errors
    ///
    /// [`UriError::ImageNotHttps`] unless `url` starts with `https://` and
    /// names a host; [`UriError::ControlCharacter`].
    pub fn with_image(mut self, url: &str) -> Result<Self, UriError> {
        check_text(url, UriPart::Image)?;
        check_image(url)?;
        self.description.image = Some(String::from(url));
        Ok(self)
    }

    /// The OTP type and its type-specific parameter.
    #[must_use]
    pub fn kind(&self) -> OtpKind {
        self.description.kind()
    }

    /// The issuer (service name), if any.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.description.issuer()
    }

    /// The account name.
    #[must_use]
    pub fn account(&self) -> &str {
        self.description.account()
    }

    /// The secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Whether the secret has the full 128 bits (only a lenient parse or a
    /// `*_weak` secret can give less).
    pub fn secret_strength(&self) -> SecretStrength {
        self.secret.strength()
    }

    /// The HMAC algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.description.algorithm()
    }

    /// The digit count.
    #[must_use]
    pub fn digits(&self) -> Digits {
        self.description.digits()
    }

    /// The TOTP period, or `None` for HOTP.
    #[must_use]
    pub fn step(&self) -> Option<Step> {
        self.description.step()
    }

    /// The HOTP initial counter, or `None` for TOTP.
    #[must_use]
    pub fn counter(&self) -> Option<u64> {
        self.description.counter()
    }

    /// The `image=` URL, if any.
    #[must_use]
    pub fn image(&self) -> Option<&str> {
        self.description.image()
    }

    /// Everything this URI says except the secret: a value that may be
    /// shown, logged or (feature `serde`) serialized.
    #[must_use]
    pub fn description(&self) -> &KeyDescription {
        &self.description
    }

    /// The key URI of a description and a secret, the inverse of
    /// [`KeyUri::description`] and [`KeyUri::secret`]. A description is
    /// valid by construction, so this cannot fail.
    #[must_use]
    pub fn from_description(description: KeyDescription, secret: Secret) -> Self {
        Self {
            description,
            secret,
        }
    }

    /// A [`Totp`] for this key (T0 = 0, which the format cannot express), or
    /// `None` for an HOTP URI.
    #[must_use]
    pub fn to_totp(&self) -> Option<Totp> {
        self.step().map(|step| {
            Totp::new(&self.secret, self.algorithm())
                .with_digits(self.digits())
                .with_step(step)
        })
    }

    /// An [`Hotp`] for this key, or `None` for a TOTP URI.
    #[must_use]
    pub fn to_hotp(&self) -> Option<Hotp> {
        self.counter()
            .map(|_| Hotp::new(&self.secret, self.algorithm()).with_digits(self.digits()))
    }

    /// The settings that several popular authenticator apps silently
    /// ignore: an algorithm other than SHA-1, digits other than 6, a period
    /// other than 30 s. Empty for the defaults.
    pub fn compatibility_warnings(&self) -> impl Iterator<Item = CompatibilityWarning> + use<> {
        self.description.compatibility_warnings()
    }

    /// The URI text: `otpauth://TYPE/ISSUER:ACCOUNT?secret=…&issuer=…&
    /// algorithm=…&digits=…&period=…` (or `&counter=…`), then `&image=…`.
    /// Every parameter is written, defaults included; the label and the
    /// values are percent-encoded (space as `%20`).
    ///
    /// # Security
    ///
    /// The text contains the secret; it is wiped when dropped.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(
            128_usize.saturating_add(self.secret.bits() / 5),
        ));
        // Writing to a String cannot fail.
        let _ = self.write_uri(&mut out);
        out
    }

    fn write_uri(&self, out: &mut String) -> fmt::Result {
        let key = &self.description;
        out.push_str("otpauth://");
        out.push_str(key.kind.name());
        out.push('/');
        if let Some(issuer) = &key.issuer {
            percent_encode(issuer, out);
            out.push(':');
        } else if key.account.contains(':') {
            // Only a lenient parse yields this (`:a:b`, empty issuer): an
            // empty issuer keeps the account's colons from being read as a
            // separator.
            out.push(':');
        }
        percent_encode(&key.account, out);
        out.push_str("?secret=");
        base32::encode_to(self.secret.expose_secret(), out)?;
        if let Some(issuer) = &key.issuer {
            out.push_str("&issuer=");
            percent_encode(issuer, out);
        }
        write!(
            out,
            "&algorithm={}&digits={}",
            key.algorithm.name(),
            key.digits.get()
        )?;
        match key.kind {
            OtpKind::Totp { step } => write!(out, "&period={}", step.seconds())?,
            OtpKind::Hotp { counter } => write!(out, "&counter={counter}")?,
        }
        if let Some(image) = &key.image {
            out.push_str("&image=");
            percent_encode(image, out);
        }
        Ok(())
    }
}

impl Totp {
    /// The TOTP key of a key URI, parsed in [`ParseMode::Strict`]: one call
    /// from the text an authenticator app scans to a key ready to generate
    /// and verify codes (T0 = 0, which the format cannot express).
    ///
    /// The issuer, account and image are dropped; parse with
    /// [`KeyUri::parse`] to keep them.
    ///
    /// # Errors
    ///
    /// Any [`UriError`] of [`KeyUri::parse`] (a secret under 128 bits is
    /// [`UriError::Secret`]), or [`UriError::NotTotp`] for an HOTP URI.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_otp::{Digits, Totp};
    ///
    /// let totp = Totp::from_key_uri(
    ///     "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8",
    /// )?;
    /// assert_eq!(totp.digits(), Digits::EIGHT);
    /// assert_eq!(totp.generate(59)?.expose_secret().as_str(), "94287082"); // RFC 6238
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_key_uri(uri: &str) -> Result<Self, UriError> {
        KeyUri::parse(uri, ParseMode::Strict)?
            .to_totp()
            .ok_or(UriError::NotTotp)
    }

    /// [`Totp::from_key_uri`] in [`ParseMode::Lenient`], for keys other
    /// issuers made: a legacy secret of 80 to 127 bits is accepted, and the
    /// returned [`SecretStrength`] says so.
    ///
    /// # Errors
    ///
    /// As [`Totp::from_key_uri`], with lenient parsing.
    pub fn from_key_uri_lenient(uri: &str) -> Result<(Self, SecretStrength), UriError> {
        let key = KeyUri::parse(uri, ParseMode::Lenient)?;
        let totp = key.to_totp().ok_or(UriError::NotTotp)?;
        Ok((totp, key.secret_strength()))
    }
}

impl fmt::Debug for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.description;
        f.debug_struct("KeyUri")
            .field("kind", &key.kind)
            .field("issuer", &key.issuer)
            .field("account", &key.account)
            .field("secret", &self.secret)
            .field("algorithm", &key.algorithm)
            .field("digits", &key.digits.get())
            .field("image", &key.image)
            .finish()
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Refuses control characters in a decoded text field.
fn check_text(text: &str, part: UriPart) -> Result<(), UriError> {
    if has_control(text) {
        return Err(UriError::ControlCharacter { part });
    }
    Ok(())
}

/// Whether `text` holds a control character (`char::is_control`: U+0000 to
/// U+001F and U+007F to U+009F), read from the UTF-8 bytes: a byte below
/// 0x20, 0x7F, or 0xC2 followed by 0x80 to 0x9F. One branch-free pass.
fn has_control(text: &str) -> bool {
    let (found, _) = text.bytes().fold((false, 0_u8), |(found, previous), b| {
        let c1 = (previous == 0xc2) & (b < 0xa0);
        (found | (b < 0x20) | (b == 0x7f) | c1, b)
    });
    found
}

fn check_image(url: &str) -> Result<(), UriError> {
    let host = strip_prefix_ignore_case(url, "https://").ok_or(UriError::ImageNotHttps)?;
    if host.is_empty() || host.starts_with('/') || host.contains(char::is_whitespace) {
        return Err(UriError::ImageNotHttps);
    }
    Ok(())
}

/// RFC 3986 §2.3 unreserved characters stay; every other byte becomes
/// `%XX` (so a space is `%20`, never `+`).
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(
                HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_control;

    #[test]
    fn control_characters_are_found_in_the_bytes() {
        for c in ('\0'..='\u{800}').chain(['\u{FEFF}', '\u{10FFFF}']) {
            for text in [format!("{c}"), format!("a{c}b"), format!("é{c}")] {
                assert_eq!(has_control(&text), c.is_control(), "{:?}", c);
            }
        }
    }
}
