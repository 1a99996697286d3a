//! Reading an `otpauth://` key URI, strictly or leniently: the label, the
//! query parameters and their percent-decoding.

use alloc::string::String;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::{
    KeyUri, OtpKind, UriError, UriPart, check_image, check_text, strip_prefix_ignore_case,
};
use crate::params::{Algorithm, Digits, Step};
use crate::secret::{Secret, SecretStrength};

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
                // `+` stays a plus sign in a URL in both modes: reading it as
                // a space would refuse, leniently, an image strict accepts.
                let url = percent_decode(raw, UriPart::Image, false)?;
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
            let Some(known) = KNOWN_PARAMETERS
                .into_iter()
                .find(|known| name.eq_ignore_ascii_case(known))
            else {
                // Unknown parameters are ignored (Key Uri Format).
                continue;
            };
            // Lenient mode reads a known name in any case; strict mode
            // refuses it rather than ignore it, so that whatever strict
            // mode accepts, lenient mode reads the same way.
            if name != known && !lenient {
                return Err(UriError::ParameterCase { name: known });
            }
            let slot = match known {
                "secret" => &mut params.secret,
                "issuer" => &mut params.issuer,
                "algorithm" => &mut params.algorithm,
                "digits" => &mut params.digits,
                "period" => &mut params.period,
                "counter" => &mut params.counter,
                "image" => &mut params.image,
                // Every name of the list has its arm above.
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(UriError::DuplicateParameter { name: known });
            }
        }
        Ok(params)
    }
}

/// The parameters of the Key Uri Format, in lower case.
const KNOWN_PARAMETERS: [&str; 7] = [
    "secret",
    "issuer",
    "algorithm",
    "digits",
    "period",
    "counter",
    "image",
];

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
