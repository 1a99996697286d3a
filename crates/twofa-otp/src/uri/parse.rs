//! Reading an `otpauth://` key URI, strictly or leniently: the label, the
//! query parameters and their percent-decoding.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::{
    KeyDescription, KeyUri, OtpKind, UriError, UriPart, check_image, check_text,
    strip_prefix_ignore_case,
};
use crate::params::{Algorithm, Digits, Step};
use crate::secret::{Secret, SecretStrength};
use crate::swar::find_byte;

/// How [`KeyUri::parse`] treats URIs that bend the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
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
    /// - parameter names and the algorithm are case-sensitive, and a known
    ///   parameter written in another case is refused
    ///   ([`UriError::ParameterCase`]) rather than ignored: every URI strict
    ///   mode accepts, lenient mode reads the same way.
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
    ///   parameter value is a space (HTML form encoding), except in the
    ///   image URL, where it stays a plus sign;
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

impl KeyUri {
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
        let rest = match split_at_byte(rest, b'#') {
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
        let (raw_label, query) = split_at_byte(rest, b'?').unwrap_or((rest, ""));
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
        let account = percent_decode(raw_account, UriPart::Account, false)?;

        let params = Params::parse(query, lenient)?;
        // Lenient: a label written as `quote(issuer):quote(account)` with
        // the same issuer in `issuer=` (pyotp's form) is read exactly as
        // encoded: the issuer may hold a colon of its own, and the account
        // keeps its leading spaces. Any other label splits at its first
        // separator, and spaces after it are the Key Uri Format's optional
        // padding.
        let mut as_encoded = false;
        let (label_issuer, account) = match (find_byte(raw_label.as_bytes(), b':'), params.issuer) {
            (Some(colon), Some(raw)) if lenient => {
                let named = percent_decode(raw, UriPart::Issuer, true)?;
                let (raw_prefix, raw_rest) =
                    raw_label.split_at_checked(colon).unwrap_or((raw_label, ""));
                let prefix = percent_decode(raw_prefix, UriPart::Issuer, false)?;
                if !named.is_empty() && prefix == named {
                    as_encoded = true;
                    let rest = raw_rest.get(1..).unwrap_or("");
                    (Some(prefix), percent_decode(rest, UriPart::Account, false)?)
                } else {
                    (label_issuer, account)
                }
            }
            _ => (label_issuer, account),
        };

        let issuer = if lenient {
            let param_issuer = match params.issuer {
                Some(raw) => Some(percent_decode(raw, UriPart::Issuer, true)?),
                None => None,
            };
            param_issuer
                .filter(|issuer| !issuer.is_empty())
                .or(label_issuer.filter(|issuer| !issuer.is_empty()))
        } else {
            let issuer = match (label_issuer, params.issuer) {
                (Some(label), Some(raw)) if percent_decodes_to(raw, label.as_bytes()) => {
                    Some(label)
                }
                (Some(_), Some(raw)) => {
                    // Decode in full for the error a malformed `issuer=`
                    // gets; a well-formed one differs from the label.
                    percent_decode(raw, UriPart::Issuer, false)?;
                    return Err(UriError::IssuerMismatch);
                }
                (None, Some(raw)) => Some(percent_decode(raw, UriPart::Issuer, false)?),
                (label, None) => label,
            };
            if issuer.as_deref() == Some("") {
                return Err(UriError::EmptyIssuer);
            }
            issuer
        };
        // Lenient parsing keeps what a generator encoded, exactly: an
        // issuer with a colon or a tab (`%3A`, `%09`, as pyotp writes them),
        // an account with leading spaces. Rendering percent-encodes every
        // such byte again, so the key still writes back unambiguously.
        // Strict parsing keeps the Key Uri Format's rules.
        if let Some(issuer) = &issuer
            && !lenient
        {
            check_text(issuer, UriPart::Issuer)?;
            if issuer.contains(':') {
                return Err(UriError::ColonInIssuer);
            }
        }
        // Key Uri Format: optional spaces may precede the account name.
        let account = match account {
            account if as_encoded => account,
            Cow::Borrowed(text) => Cow::Borrowed(text.trim_start_matches(' ')),
            Cow::Owned(mut text) => {
                let spaces = text
                    .len()
                    .saturating_sub(text.trim_start_matches(' ').len());
                text.drain(..spaces);
                Cow::Owned(text)
            }
        };
        if !lenient {
            check_text(&account, UriPart::Account)?;
        }
        if account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        if !lenient && account.contains(':') {
            return Err(UriError::ColonInAccount);
        }

        let raw_secret = params.secret.ok_or(UriError::MissingSecret)?;
        let secret = match percent_decode(raw_secret, UriPart::Secret, lenient)? {
            // Nothing was encoded: decode the URI's own text, without a copy.
            Cow::Borrowed(text) => secret_from_base32(text, floor)?,
            Cow::Owned(text) => secret_from_base32(&Zeroizing::new(text), floor)?,
        };

        let algorithm = match params.algorithm {
            None => Algorithm::default(),
            Some(name) => match Algorithm::from_name(name) {
                Ok(algorithm) => algorithm,
                // `FromStr` reads the names in any ASCII case.
                Err(_) if lenient => name.parse().map_err(|_| UriError::UnsupportedAlgorithm)?,
                Err(_) => return Err(UriError::UnsupportedAlgorithm),
            },
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
                // `+` stays a plus sign in a URL in both modes: reading it as
                // a space would refuse, leniently, an image strict accepts.
                let url = percent_decode(raw, UriPart::Image, false)?;
                check_text(&url, UriPart::Image)?;
                check_image(&url)?;
                Some(url.into_owned())
            }
        };
        Ok(Self {
            description: KeyDescription {
                kind,
                issuer: issuer.map(Cow::into_owned),
                account: account.into_owned(),
                algorithm,
                digits,
                image,
            },
            secret,
        })
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
        let mut rest = Some(query);
        while let Some(text) = rest {
            let (pair, next) = match split_at_byte(text, b'&') {
                Some((pair, next)) => (pair, Some(next)),
                None => (text, None),
            };
            rest = next;
            if pair.is_empty() {
                if lenient {
                    continue;
                }
                return Err(UriError::MalformedParameter);
            }
            let (name, value) = split_at_byte(pair, b'=').ok_or(UriError::MalformedParameter)?;
            let known = match Param::named(name.as_bytes()) {
                Some(known) => known,
                // Lenient mode reads a known name in any case; strict mode
                // refuses it rather than ignore it, so that whatever strict
                // mode accepts, lenient mode reads the same way.
                None => match Param::named_in_any_case(name.as_bytes()) {
                    Some(known) if lenient => known,
                    Some(known) => return Err(UriError::ParameterCase { name: known.name() }),
                    // Unknown parameters are ignored (Key Uri Format).
                    None => continue,
                },
            };
            let slot = match known {
                Param::Secret => &mut params.secret,
                Param::Issuer => &mut params.issuer,
                Param::Algorithm => &mut params.algorithm,
                Param::Digits => &mut params.digits,
                Param::Period => &mut params.period,
                Param::Counter => &mut params.counter,
                Param::Image => &mut params.image,
            };
            if slot.replace(value).is_some() {
                return Err(UriError::DuplicateParameter { name: known.name() });
            }
        }
        Ok(params)
    }
}

/// The parameters of the Key Uri Format.
#[derive(Clone, Copy)]
enum Param {
    Secret,
    Issuer,
    Algorithm,
    Digits,
    Period,
    Counter,
    Image,
}

impl Param {
    const ALL: [Self; 7] = [
        Self::Secret,
        Self::Issuer,
        Self::Algorithm,
        Self::Digits,
        Self::Period,
        Self::Counter,
        Self::Image,
    ];

    /// The name, in lower case as the format writes it.
    const fn name(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Issuer => "issuer",
            Self::Algorithm => "algorithm",
            Self::Digits => "digits",
            Self::Period => "period",
            Self::Counter => "counter",
            Self::Image => "image",
        }
    }

    /// The parameter spelled exactly `name`. A match against literals
    /// compiles to a few integer comparisons.
    fn named(name: &[u8]) -> Option<Self> {
        match name {
            b"secret" => Some(Self::Secret),
            b"issuer" => Some(Self::Issuer),
            b"algorithm" => Some(Self::Algorithm),
            b"digits" => Some(Self::Digits),
            b"period" => Some(Self::Period),
            b"counter" => Some(Self::Counter),
            b"image" => Some(Self::Image),
            _ => None,
        }
    }

    /// The parameter `name` spells in any ASCII case.
    fn named_in_any_case(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|known| name.eq_ignore_ascii_case(known.name().as_bytes()))
    }
}

/// `text` split around the first `byte` (an ASCII byte, so both sides are
/// whole characters).
fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let index = find_byte(text.as_bytes(), byte)?;
    Some((text.get(..index)?, text.get(index.saturating_add(1)..)?))
}

fn secret_from_base32(text: &str, floor: SecretFloor) -> Result<Secret, UriError> {
    Ok(match floor {
        SecretFloor::Legacy => Secret::from_base32_weak(text)?.0,
        SecretFloor::Full => Secret::from_base32(text)?,
    })
}

/// Splits a raw label at the first `:` (or, leniently, `%3A`).
fn split_label(raw: &str, lenient: bool) -> (Option<&str>, &str) {
    let colon = find_byte(raw.as_bytes(), b':');
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

/// Refuses raw characters that a URI must percent-encode (strict mode):
/// space, controls, non-ASCII.
fn check_raw(raw: &str, part: UriPart) -> Result<(), UriError> {
    // A fold without early exit, which the compiler vectorises.
    let unencoded = raw
        .bytes()
        .fold(false, |found, b| found | (b <= b' ') | (b >= 0x7f));
    if unencoded {
        return Err(UriError::UnencodedCharacter { part });
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

/// RFC 3986 §2.1 percent-decoding, optionally with `+` as a space. Text
/// with nothing to decode is returned as it is, without a copy.
fn percent_decode(raw: &str, part: UriPart, plus_is_space: bool) -> Result<Cow<'_, str>, UriError> {
    let bytes = raw.as_bytes();
    // Most values have nothing to decode.
    let first = if plus_is_space {
        bytes.iter().position(|&b| b == b'%' || b == b'+')
    } else {
        find_byte(bytes, b'%')
    };
    let Some(first) = first else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..first).unwrap_or(&[]));
    let mut index = first;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let Some(value) = percent_escape(bytes, index) else {
                    zeroize::Zeroize::zeroize(&mut out);
                    return Err(UriError::InvalidPercentEncoding { part });
                };
                out.push(value);
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
    String::from_utf8(out).map(Cow::Owned).map_err(|error| {
        // The bytes may be secret: wipe them before dropping.
        let mut bytes = error.into_bytes();
        zeroize::Zeroize::zeroize(&mut bytes);
        UriError::InvalidUtf8 { part }
    })
}

/// Whether `raw` is well-formed and percent-decodes (`+` as itself) to
/// exactly `expected`, found without decoding it into a new string.
fn percent_decodes_to(raw: &str, expected: &[u8]) -> bool {
    let bytes = raw.as_bytes();
    let mut index = 0_usize;
    let mut matched = 0_usize;
    while let Some(&byte) = bytes.get(index) {
        let (value, width) = if byte == b'%' {
            match percent_escape(bytes, index) {
                Some(value) => (value, 3),
                None => return false,
            }
        } else {
            (byte, 1)
        };
        if expected.get(matched) != Some(&value) {
            return false;
        }
        matched = matched.saturating_add(1);
        index = index.saturating_add(width);
    }
    matched == expected.len()
}

/// The byte a well-formed `%XY` at `index` of `bytes` encodes.
fn percent_escape(bytes: &[u8], index: usize) -> Option<u8> {
    let high = hex_value(*bytes.get(index.wrapping_add(1))?)?;
    let low = hex_value(*bytes.get(index.wrapping_add(2))?)?;
    Some((high << 4) | low)
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
    use crate::uri::percent_encode;

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
