//! What a key URI says besides its secret, and (feature `serde-secret`) the
//! key URI as a serialized value.

use alloc::string::String;

use super::{CompatibilityWarning, OtpKind};
#[cfg(feature = "serde")]
use super::{UriError, UriPart, check_image, check_text};
use crate::params::{Algorithm, Digits, Step};

/// Everything a key URI says except the secret: the OTP type with its
/// period or counter, the issuer, the account name, the algorithm, the digit
/// count and the logo URL.
///
/// Nothing in it is secret, so it may be shown, logged and stored in clear,
/// and with the `serde` feature it serializes. [`KeyUri::description`]
/// gives one; [`KeyUri::from_description`] joins one with a secret again.
/// Deserialization checks the texts as [`KeyUri::parse`] does and refuses
/// unknown fields (a stray `secret` field is an error, not silently
/// dropped).
///
/// ```
/// use twofa_otp::{KeyUri, Secret};
///
/// let secret = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?;
/// let uri = KeyUri::totp("ACME Co", "alice@example.com", secret.clone())?;
/// let description = uri.description().clone();
/// assert_eq!(description.issuer(), Some("ACME Co"));
/// let again = KeyUri::from_description(description, secret);
/// assert_eq!(*again.to_uri(), *uri.to_uri());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`KeyUri::description`]: super::KeyUri::description
/// [`KeyUri::from_description`]: super::KeyUri::from_description
/// [`KeyUri::parse`]: super::KeyUri::parse
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "Fields"))]
#[non_exhaustive]
pub struct KeyDescription {
    pub(super) kind: OtpKind,
    pub(super) issuer: Option<String>,
    pub(super) account: String,
    pub(super) algorithm: Algorithm,
    pub(super) digits: Digits,
    pub(super) image: Option<String>,
}

impl KeyDescription {
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
}

/// The fields as read, before the checks every key URI passes.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    kind: OtpKind,
    issuer: Option<String>,
    account: String,
    algorithm: Algorithm,
    digits: Digits,
    image: Option<String>,
}

#[cfg(feature = "serde")]
impl TryFrom<Fields> for KeyDescription {
    type Error = UriError;

    /// Accepts exactly what a parsed key URI can hold: an issuer that is
    /// absent or non-empty without a colon; a non-empty account that does
    /// not start with a space (a colon is allowed, as a lenient parse
    /// reads `Issuer:a:b`); no control character; an `https` image URL.
    fn try_from(fields: Fields) -> Result<Self, UriError> {
        if let Some(issuer) = &fields.issuer {
            check_text(issuer, UriPart::Issuer)?;
            if issuer.is_empty() {
                return Err(UriError::EmptyIssuer);
            }
            if issuer.contains(':') {
                return Err(UriError::ColonInIssuer);
            }
        }
        check_text(&fields.account, UriPart::Account)?;
        if fields.account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        if fields.account.starts_with(' ') {
            return Err(UriError::LeadingSpace);
        }
        if let Some(image) = &fields.image {
            check_text(image, UriPart::Image)?;
            check_image(image)?;
        }
        Ok(Self {
            kind: fields.kind,
            issuer: fields.issuer,
            account: fields.account,
            algorithm: fields.algorithm,
            digits: fields.digits,
            image: fields.image,
        })
    }
}

/// A key URI serializes as its text, [`KeyUri::to_uri`](super::KeyUri::to_uri)
/// (feature `serde-secret`): the secret is in it.
#[cfg(feature = "serde-secret")]
impl serde::Serialize for super::KeyUri {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_uri())
    }
}

/// A key URI deserializes from its text, read as
/// [`KeyUri::parse_weak`](super::KeyUri::parse_weak) in
/// [`ParseMode::Lenient`](super::ParseMode::Lenient) reads it, so that every
/// key URI this crate can hold (a legacy secret, an account with a colon)
/// reads back; [`KeyUri::secret_strength`](super::KeyUri::secret_strength)
/// tells a legacy secret.
#[cfg(feature = "serde-secret")]
impl<'de> serde::Deserialize<'de> for super::KeyUri {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = super::KeyUri;

            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an otpauth:// key uri")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                super::KeyUri::parse_weak(text, super::ParseMode::Lenient)
                    .map(|(key, _)| key)
                    .map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}
