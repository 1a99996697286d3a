//! Checking that a callback comes from Twilio: the `X-Twilio-Signature`
//! header.
//!
//! Twilio signs each request it makes to an application with the account's
//! Auth Token: the signature is Base64(HMAC-SHA1(Auth Token, URL ‖ each POST
//! parameter's name ‖ value, sorted by name)), where the URL is the full URL
//! Twilio called, query included (Twilio's "Webhooks security" guide).
//! Twilio's helper libraries sort repeated names by value and drop exact
//! duplicates, and accept a signature made over the URL with or without the
//! scheme's default port; this check does the same.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::{Choice, ConstantTimeEq};

use crate::ids::AuthToken;

/// Bytes of an HMAC-SHA1 output.
const SIGNATURE_LEN: usize = 20;

/// Why a callback's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is absent or empty.
    #[error("signature header missing")]
    Missing,
    /// The header is not the Base64 encoding of 20 bytes.
    #[error("signature header malformed")]
    Malformed,
    /// The signature does not match this URL, these parameters and this
    /// token.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks the `X-Twilio-Signature` header of a callback.
///
/// `full_url` is the URL exactly as Twilio called it (scheme, host, path
/// and query; behind a proxy, the public URL, not the one the application
/// server sees); `params` are the decoded POST form parameters (empty for
/// a `GET`); `header_value` is the header's value (empty when absent).
///
/// # Errors
///
/// [`SignatureError`]: missing, malformed or not matching.
///
/// # Security
///
/// The comparison runs in constant time. Refuse the request on any error,
/// before reading its parameters. A valid signature proves the request
/// came from Twilio, not that it is fresh: Twilio's scheme has no
/// timestamp, so a recorded callback can be replayed; the receipts this
/// crate builds from callbacks only ever mark a challenge undelivered,
/// which a replay cannot turn into an accepted code.
///
/// # Example
///
/// ```
/// use twofa_twilio::{verify_signature, AuthToken, SignatureError};
///
/// // The example of Twilio's helper libraries.
/// let token = AuthToken::new("12345")?;
/// let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// let params: Vec<(String, String)> = [
///     ("CallSid", "CA1234567890ABCDE"),
///     ("Caller", "+14158675309"),
///     ("Digits", "1234"),
///     ("From", "+14158675309"),
///     ("To", "+18005551212"),
/// ]
/// .into_iter()
/// .map(|(name, value)| (name.to_owned(), value.to_owned()))
/// .collect();
/// assert_eq!(verify_signature(&token, url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), Ok(()));
/// assert_eq!(
///     verify_signature(&token, url, &params[1..], "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
///     Err(SignatureError::Mismatch)
/// );
/// # Ok::<(), twofa_twilio::TwilioConfigError>(())
/// ```
pub fn verify_signature(
    auth_token: &AuthToken,
    full_url: &str,
    params: &[(String, String)],
    header_value: &str,
) -> Result<(), SignatureError> {
    let header_value = header_value.trim();
    if header_value.is_empty() {
        return Err(SignatureError::Missing);
    }
    let given = STANDARD
        .decode(header_value)
        .map_err(|_| SignatureError::Malformed)?;
    let given: [u8; SIGNATURE_LEN] = given.try_into().map_err(|_| SignatureError::Malformed)?;

    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();

    let mut matched = Choice::from(0);
    matched |= signature(auth_token, full_url, &pairs).ct_eq(&given);
    if let Some(variant) = default_port_variant(full_url) {
        matched |= signature(auth_token, &variant, &pairs).ct_eq(&given);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn signature(auth_token: &AuthToken, url: &str, pairs: &[(&str, &str)]) -> [u8; SIGNATURE_LEN] {
    // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail;
    // the fallback keeps the function total without a panic.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.expose_secret().as_bytes()) else {
        return [0; SIGNATURE_LEN];
    };
    mac.update(url.as_bytes());
    for (name, value) in pairs {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// The same URL with the scheme's default port (443 for `https`, 80 for
/// `http`) added when absent or removed when present; `None` for another
/// scheme or port, or a URL that is not `scheme://authority…`.
fn default_port_variant(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    // The port follows the host; an IPv6 host is bracketed and has colons
    // of its own.
    let host_start = authority.rfind('@').map_or(0, |at| at.saturating_add(1));
    let host_and_port = authority.get(host_start..)?;
    let port_colon = match host_and_port.rfind(']') {
        Some(bracket) => host_and_port
            .get(bracket..)?
            .find(':')
            .map(|colon| colon.saturating_add(bracket)),
        None => host_and_port.find(':'),
    };
    let new_authority = match port_colon {
        None => format!("{authority}:{default_port}"),
        Some(colon) => {
            let port = host_and_port.get(colon.saturating_add(1)..)?;
            if port != default_port {
                return None;
            }
            let end = host_start.saturating_add(colon);
            authority.get(..end)?.to_owned()
        }
    };
    Some(format!("{scheme}://{new_authority}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_are_added_or_removed() {
        for (url, variant) in [
            (
                "https://a.example/x?y=1",
                Some("https://a.example:443/x?y=1"),
            ),
            ("https://a.example:443/x", Some("https://a.example/x")),
            ("http://a.example", Some("http://a.example:80")),
            ("http://a.example:80?q", Some("http://a.example?q")),
            ("https://u:p@a.example:443/", Some("https://u:p@a.example/")),
            ("https://[::1]/cb", Some("https://[::1]:443/cb")),
            ("https://[::1]:443/cb", Some("https://[::1]/cb")),
            ("https://a.example:8443/x", None),
            ("http://a.example:443/x", None),
            ("ftp://a.example/x", None),
            ("a.example/x", None),
        ] {
            assert_eq!(default_port_variant(url).as_deref(), variant, "{url}");
        }
    }

    #[test]
    fn headers_that_are_not_a_signature_are_malformed() {
        let token = AuthToken::new("12345").unwrap();
        let url = "https://a.example/x";
        assert_eq!(
            verify_signature(&token, url, &[], ""),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(&token, url, &[], "  "),
            Err(SignatureError::Missing)
        );
        for bad in ["not base64!", "AAAA", "zYQTYrRWXE7LtzbG4PfP7/bkkGoA"] {
            assert_eq!(
                verify_signature(&token, url, &[], bad),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
