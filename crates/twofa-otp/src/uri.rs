//! `otpauth://` key URIs (Google Authenticator's Key Uri Format).
//!
//! ```text
//! otpauth://TYPE/LABEL?PARAMETERS
//! otpauth://totp/ACME%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use zeroize::Zeroizing;

use crate::base32;
use crate::error::SecretError;
use crate::hotp::Hotp;
use crate::params::{Algorithm, Digits, Step};
use crate::secret::{Secret, SecretStrength};
use crate::totp::Totp;

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

/// How [`KeyUri::parse`] treats URIs that bend the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ParseMode {
    /// The format as written, for URIs this system issues or checks:
    ///
    /// - the label separator is a literal `:`; a `%3A` decodes to a colon
    ///   inside the issuer or account and is refused;
    /// - the label issuer and the `issuer=` parameter must agree when both
    ///   are present, and neither may be empty;
    /// - characters that must be percent-encoded (space, non-ASCII,
    ///   controls) are refused when raw;
    /// - `+` is a literal plus sign;
    /// - `counter=` on a TOTP URI or `period=` on an HOTP URI is refused;
    /// - the secret must have at least 128 bits;
    /// - parameter names and the algorithm are case-sensitive.
    #[default]
    Strict,
    /// Import of URIs from other issuers, which several large vendors emit
    /// slightly off the format:
    ///
    /// - the label separator is the first `:` or `%3A` (later ones stay in
    ///   the account name; a colon in the issuer is still refused);
    /// - when the label issuer and `issuer=` disagree, the `issuer=`
    ///   parameter wins (it is the one the format calls authoritative); an
    ///   empty issuer counts as absent;
    /// - raw spaces and non-ASCII characters are accepted; `+` in a
    ///   parameter value is a space (HTML form encoding);
    /// - `counter=` on TOTP and `period=` on HOTP are ignored;
    /// - secrets of 80 to 127 bits are accepted; [`KeyUri::secret_strength`]
    ///   reports them;
    /// - parameter names and the algorithm are case-insensitive;
    /// - a `#fragment` is ignored.
    Lenient,
}

/// The weakest secret a parse accepts.
#[derive(Clone, Copy)]
enum SecretFloor {
    /// 128 bits, the minimum of RFC 4226 §4 requirement R6.
    Full,
    /// 80 bits, the legacy length some sites still issue.
    Legacy,
}

impl SecretFloor {
    /// [`ParseMode::Strict`] wants a full-strength secret; an import in
    /// [`ParseMode::Lenient`] takes what the issuer gave.
    const fn for_mode(mode: ParseMode) -> Self {
        match mode {
            ParseMode::Strict => Self::Full,
            ParseMode::Lenient => Self::Legacy,
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
}

/// A setting that several popular authenticator apps silently ignore,
/// showing codes the server will not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    kind: OtpKind,
    issuer: Option<String>,
    account: String,
    secret: Secret,
    algorithm: Algorithm,
    digits: Digits,
    image: Option<String>,
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
            kind,
            issuer: Some(String::from(issuer)),
            account: String::from(account),
            secret,
            algorithm: Algorithm::default(),
            digits: Digits::default(),
            image: None,
        })
    }

    /// The same URI with another algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The same URI with another digit count.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.digits = digits;
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
        self.image = Some(String::from(url));
        Ok(self)
    }

    /// The OTP type and its type-specific parameter.
    #[must_use]
    pub fn kind(&self) -> OtpKind {
        self.kind
    }

    /// The issuer (service name), if any.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The account name.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
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
        self.algorithm
    }

    /// The digit count.
    #[must_use]
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The TOTP period, or `None` for HOTP.
    #[must_use]
    pub fn step(&self) -> Option<Step> {
        match self.kind {
            OtpKind::Totp { step } => Some(step),
            OtpKind::Hotp { .. } => None,
        }
    }

    /// The HOTP initial counter, or `None` for TOTP.
    #[must_use]
    pub fn counter(&self) -> Option<u64> {
        match self.kind {
            OtpKind::Totp { .. } => None,
            OtpKind::Hotp { counter } => Some(counter),
        }
    }

    /// The `image=` URL, if any.
    #[must_use]
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// A [`Totp`] for this key (T0 = 0, which the format cannot express), or
    /// `None` for an HOTP URI.
    #[must_use]
    pub fn to_totp(&self) -> Option<Totp> {
        self.step().map(|step| {
            Totp::new(&self.secret, self.algorithm)
                .with_digits(self.digits)
                .with_step(step)
        })
    }

    /// An [`Hotp`] for this key, or `None` for a TOTP URI.
    #[must_use]
    pub fn to_hotp(&self) -> Option<Hotp> {
        self.counter()
            .map(|_| Hotp::new(&self.secret, self.algorithm).with_digits(self.digits))
    }

    /// The settings that several popular authenticator apps silently
    /// ignore: an algorithm other than SHA-1, digits other than 6, a period
    /// other than 30 s. Empty for the defaults.
    pub fn compatibility_warnings(&self) -> impl Iterator<Item = CompatibilityWarning> + use<> {
        let algorithm = (self.algorithm != Algorithm::Sha1)
            .then_some(CompatibilityWarning::Algorithm(self.algorithm));
        let digits =
            (self.digits != Digits::SIX).then_some(CompatibilityWarning::Digits(self.digits));
        let step = self
            .step()
            .filter(|step| *step != Step::THIRTY_SECONDS)
            .map(CompatibilityWarning::Step);
        [algorithm, digits, step].into_iter().flatten()
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
        out.push_str("otpauth://");
        out.push_str(self.kind.name());
        out.push('/');
        if let Some(issuer) = &self.issuer {
            percent_encode(issuer, out);
            out.push(':');
        } else if self.account.contains(':') {
            // Only a lenient parse yields this (`:a:b`, empty issuer): an
            // empty issuer keeps the account's colons from being read as a
            // separator.
            out.push(':');
        }
        percent_encode(&self.account, out);
        out.push_str("?secret=");
        base32::encode_to(self.secret.expose_secret(), out)?;
        if let Some(issuer) = &self.issuer {
            out.push_str("&issuer=");
            percent_encode(issuer, out);
        }
        write!(
            out,
            "&algorithm={}&digits={}",
            self.algorithm.name(),
            self.digits.get()
        )?;
        match self.kind {
            OtpKind::Totp { step } => write!(out, "&period={}", step.seconds())?,
            OtpKind::Hotp { counter } => write!(out, "&counter={counter}")?,
        }
        if let Some(image) = &self.image {
            out.push_str("&image=");
            percent_encode(image, out);
        }
        Ok(())
    }

    /// Parses a key URI.
    ///
    /// The label is split into issuer and account at the first `:` (or, in
    /// [`ParseMode::Lenient`], `%3A`); spaces after the separator are
    /// dropped. Unknown parameters are ignored, as the format asks. See
    /// [`ParseMode`] for what each mode accepts.
    ///
    /// # Errors
    ///
    /// A [`UriError`] naming the malformed piece.
    pub fn parse(uri: &str, mode: ParseMode) -> Result<Self, UriError> {
        Self::parse_with(uri, mode, SecretFloor::for_mode(mode))
    }

    /// Parses a key URI whose secret may be a legacy one of 80 to 127 bits,
    /// in either mode, and reports its strength.
    ///
    /// Many sites still issue 80-bit secrets (the Key Uri Format's own
    /// example has one). Importing such a key is the caller's informed
    /// choice: the returned [`SecretStrength`] says how weak it is, as
    /// [`Secret::from_base32_weak`] does. Every other rule of `mode`
    /// applies unchanged.
    ///
    /// # Errors
    ///
    /// A [`UriError`] naming the malformed piece; a secret under 80 bits is
    /// refused.
    pub fn parse_weak(uri: &str, mode: ParseMode) -> Result<(Self, SecretStrength), UriError> {
        let key = Self::parse_with(uri, mode, SecretFloor::Legacy)?;
        let strength = key.secret_strength();
        Ok((key, strength))
    }

    fn parse_with(uri: &str, mode: ParseMode, floor: SecretFloor) -> Result<Self, UriError> {
        let lenient = mode == ParseMode::Lenient;
        let rest = strip_prefix_ignore_case(uri, "otpauth://").ok_or(UriError::Scheme)?;
        let rest = match rest.split_once('#') {
            Some(_) if !lenient => return Err(UriError::Fragment),
            Some((before, _)) => before,
            None => rest,
        };
        let type_end = rest
            .bytes()
            .position(|b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (type_name, rest) = rest.split_at_checked(type_end).unwrap_or((rest, ""));
        let is_totp = if type_name == "totp" || (lenient && type_name.eq_ignore_ascii_case("totp"))
        {
            true
        } else if type_name == "hotp" || (lenient && type_name.eq_ignore_ascii_case("hotp")) {
            false
        } else {
            return Err(UriError::UnknownType);
        };
        let rest = rest.strip_prefix('/').ok_or(UriError::MissingLabel)?;
        let (raw_label, query) = rest.split_once('?').unwrap_or((rest, ""));
        if raw_label.is_empty() {
            return Err(UriError::MissingLabel);
        }
        if !lenient {
            check_raw(raw_label, UriPart::Label)?;
        }

        // Label: "issuer:account" (Key Uri Format, "Label").
        let (raw_issuer, raw_account) = split_label(raw_label, lenient);
        let label_issuer = match raw_issuer {
            Some(raw) => Some(percent_decode(raw, UriPart::Issuer, false)?),
            None => None,
        };
        let mut account = percent_decode(raw_account, UriPart::Account, false)?;
        // Key Uri Format: optional spaces may precede the account name.
        let spaces = account
            .len()
            .saturating_sub(account.trim_start_matches(' ').len());
        account.drain(..spaces);

        let params = Params::parse(query, lenient)?;

        let param_issuer = match params.issuer {
            Some(raw) => Some(percent_decode(raw, UriPart::Issuer, lenient)?),
            None => None,
        };
        let issuer = if lenient {
            param_issuer
                .filter(|issuer| !issuer.is_empty())
                .or(label_issuer.filter(|issuer| !issuer.is_empty()))
        } else {
            if let (Some(label), Some(param)) = (&label_issuer, &param_issuer)
                && label != param
            {
                return Err(UriError::IssuerMismatch);
            }
            let issuer = param_issuer.or(label_issuer);
            if issuer.as_deref() == Some("") {
                return Err(UriError::EmptyIssuer);
            }
            issuer
        };
        if let Some(issuer) = &issuer {
            check_text(issuer, UriPart::Issuer)?;
            // Refused in both modes: a label issuer never has one (the label
            // splits at the first colon), and an `issuer=` with one could
            // not be written back unambiguously.
            if issuer.contains(':') {
                return Err(UriError::ColonInIssuer);
            }
        }
        check_text(&account, UriPart::Account)?;
        if account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        if !lenient && account.contains(':') {
            return Err(UriError::ColonInAccount);
        }

        let raw_secret = params.secret.ok_or(UriError::MissingSecret)?;
        let secret_text = Zeroizing::new(percent_decode(raw_secret, UriPart::Secret, lenient)?);
        let secret = match floor {
            SecretFloor::Legacy => Secret::from_base32_weak(&secret_text)?.0,
            SecretFloor::Full => Secret::from_base32(&secret_text)?,
        };

        let algorithm = match params.algorithm {
            None => Algorithm::default(),
            Some(name) => Algorithm::ALL
                .into_iter()
                .find(|algorithm| {
                    name == algorithm.name()
                        || (lenient && name.eq_ignore_ascii_case(algorithm.name()))
                })
                .ok_or(UriError::UnsupportedAlgorithm)?,
        };
        let digits = match params.digits {
            None => Digits::default(),
            Some(text) => parse_decimal(text)
                .and_then(|n| u32::try_from(n).ok())
                .and_then(|n| Digits::new(n).ok())
                .ok_or(UriError::InvalidDigits)?,
        };
        let kind = if is_totp {
            if !lenient && params.counter.is_some() {
                return Err(UriError::UnexpectedParameter { name: "counter" });
            }
            let step = match params.period {
                None => Step::default(),
                Some(text) => parse_decimal(text)
                    .and_then(|n| Step::new(n).ok())
                    .ok_or(UriError::InvalidPeriod)?,
            };
            OtpKind::Totp { step }
        } else {
            if !lenient && params.period.is_some() {
                return Err(UriError::UnexpectedParameter { name: "period" });
            }
            let text = params.counter.ok_or(UriError::MissingCounter)?;
            let counter = parse_decimal(text).ok_or(UriError::InvalidCounter)?;
            OtpKind::Hotp { counter }
        };
        let image = match params.image {
            None => None,
            Some(raw) => {
                let url = percent_decode(raw, UriPart::Image, lenient)?;
                check_text(&url, UriPart::Image)?;
                check_image(&url)?;
                Some(url)
            }
        };
        Ok(Self {
            kind,
            issuer,
            account,
            secret,
            algorithm,
            digits,
            image,
        })
    }
}

impl fmt::Debug for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyUri")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("secret", &self.secret)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits.get())
            .field("image", &self.image)
            .finish()
    }
}

/// The known query parameters, raw (still percent-encoded).
#[derive(Default)]
struct Params<'a> {
    secret: Option<&'a str>,
    issuer: Option<&'a str>,
    algorithm: Option<&'a str>,
    digits: Option<&'a str>,
    period: Option<&'a str>,
    counter: Option<&'a str>,
    image: Option<&'a str>,
}

impl<'a> Params<'a> {
    fn parse(query: &'a str, lenient: bool) -> Result<Self, UriError> {
        let mut params = Self::default();
        if query.is_empty() {
            return Ok(params);
        }
        if !lenient {
            check_raw(query, UriPart::Parameter)?;
        }
        for pair in query.split('&') {
            if pair.is_empty() {
                if lenient {
                    continue;
                }
                return Err(UriError::MalformedParameter);
            }
            let (name, value) = pair.split_once('=').ok_or(UriError::MalformedParameter)?;
            let matches =
                |known: &str| name == known || (lenient && name.eq_ignore_ascii_case(known));
            let (slot, known) = if matches("secret") {
                (&mut params.secret, "secret")
            } else if matches("issuer") {
                (&mut params.issuer, "issuer")
            } else if matches("algorithm") {
                (&mut params.algorithm, "algorithm")
            } else if matches("digits") {
                (&mut params.digits, "digits")
            } else if matches("period") {
                (&mut params.period, "period")
            } else if matches("counter") {
                (&mut params.counter, "counter")
            } else if matches("image") {
                (&mut params.image, "image")
            } else {
                // Unknown parameters are ignored (Key Uri Format).
                continue;
            };
            if slot.replace(value).is_some() {
                return Err(UriError::DuplicateParameter { name: known });
            }
        }
        Ok(params)
    }
}

/// Splits a raw label at the first `:` (or, leniently, `%3A`).
fn split_label(raw: &str, lenient: bool) -> (Option<&str>, &str) {
    let colon = raw.find(':');
    let encoded = if lenient {
        find_ignore_case(raw, "%3a")
    } else {
        None
    };
    match (colon, encoded) {
        (Some(c), Some(e)) if e < c => (raw.get(..e), raw.get(e.saturating_add(3)..).unwrap_or("")),
        (Some(c), _) => (raw.get(..c), raw.get(c.saturating_add(1)..).unwrap_or("")),
        (None, Some(e)) => (raw.get(..e), raw.get(e.saturating_add(3)..).unwrap_or("")),
        (None, None) => (None, raw),
    }
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Refuses raw characters that a URI must percent-encode (strict mode):
/// space, controls, non-ASCII.
fn check_raw(raw: &str, part: UriPart) -> Result<(), UriError> {
    if raw
        .bytes()
        .any(|b| b == b' ' || !b.is_ascii() || b.is_ascii_control())
    {
        return Err(UriError::UnencodedCharacter { part });
    }
    Ok(())
}

/// Refuses control characters in a decoded text field.
fn check_text(text: &str, part: UriPart) -> Result<(), UriError> {
    if text.chars().any(char::is_control) {
        return Err(UriError::ControlCharacter { part });
    }
    Ok(())
}

fn check_image(url: &str) -> Result<(), UriError> {
    let host = strip_prefix_ignore_case(url, "https://").ok_or(UriError::ImageNotHttps)?;
    if host.is_empty() || host.starts_with('/') || host.contains(char::is_whitespace) {
        return Err(UriError::ImageNotHttps);
    }
    Ok(())
}

/// A canonical decimal number: ASCII digits, no sign, no leading zero
/// (except `0` itself), no overflow.
fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || (bytes.len() > 1 && bytes.first() == Some(&b'0')) {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?
                .checked_add(u64::from(b.wrapping_sub(b'0')))
        } else {
            None
        }
    })
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

/// RFC 3986 §2.1 percent-decoding, optionally with `+` as a space.
fn percent_decode(raw: &str, part: UriPart, plus_is_space: bool) -> Result<String, UriError> {
    let bytes = raw.as_bytes();
    let is_special = |b: &u8| *b == b'%' || (plus_is_space && *b == b'+');
    // Most values have nothing to decode: copy them in one go.
    let Some(first) = bytes.iter().position(is_special) else {
        return Ok(String::from(raw));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..first).unwrap_or(&[]));
    let mut index = first;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let high = bytes.get(index.wrapping_add(1)).and_then(|&b| hex_value(b));
                let low = bytes.get(index.wrapping_add(2)).and_then(|&b| hex_value(b));
                let (Some(high), Some(low)) = (high, low) else {
                    zeroize::Zeroize::zeroize(&mut out);
                    return Err(UriError::InvalidPercentEncoding { part });
                };
                out.push((high << 4) | low);
                index = index.saturating_add(3);
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                index = index.saturating_add(1);
            }
            _ => {
                out.push(byte);
                index = index.saturating_add(1);
            }
        }
    }
    String::from_utf8(out).map_err(|error| {
        // The bytes may be secret: wipe them before dropping.
        let mut bytes = error.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        UriError::InvalidUtf8 { part }
    })
}

const fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(byte.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(byte.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_split() {
        assert_eq!(split_label("A:b", false), (Some("A"), "b"));
        assert_eq!(split_label("A%3Ab", false), (None, "A%3Ab"));
        assert_eq!(split_label("A%3ab:c", true), (Some("A"), "b:c"));
        assert_eq!(split_label("A:b%3Ac", true), (Some("A"), "b%3Ac"));
        assert_eq!(split_label("alice", true), (None, "alice"));
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal("18446744073709551616"), None);
        assert_eq!(parse_decimal("06"), None);
        assert_eq!(parse_decimal("+6"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn percent_round_trip() {
        let mut out = String::new();
        percent_encode("ACME Co/ü:%&=+", &mut out);
        assert_eq!(out, "ACME%20Co%2F%C3%BC%3A%25%26%3D%2B");
        assert_eq!(
            percent_decode(&out, UriPart::Issuer, false).unwrap(),
            "ACME Co/ü:%&=+"
        );
        assert_eq!(
            percent_decode("a%2", UriPart::Issuer, false),
            Err(UriError::InvalidPercentEncoding {
                part: UriPart::Issuer
            })
        );
        assert_eq!(
            percent_decode("%FF", UriPart::Account, false),
            Err(UriError::InvalidUtf8 {
                part: UriPart::Account
            })
        );
        assert_eq!(percent_decode("a+b", UriPart::Issuer, true).unwrap(), "a b");
        assert_eq!(
            percent_decode("a+b", UriPart::Issuer, false).unwrap(),
            "a+b"
        );
    }
}
