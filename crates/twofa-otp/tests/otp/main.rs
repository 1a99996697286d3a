//! Behaviour of the public API: RFC vectors, boundaries, replay, HOTP
//! resync, key URIs, QR, redaction and allocation.
//!
//! This file holds the independent reference HOTP and the helpers shared
//! by the topic modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod allocation;
mod hotp;
mod keyuri;
#[cfg(feature = "std")]
mod now;
mod params;
#[cfg(feature = "qr")]
mod qr;
mod redaction;
mod secrets;
#[cfg(feature = "serde")]
mod serialization;
mod vectors;
mod windows;

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use twofa_otp::{
    Algorithm, Base32Error, Code, CodeError, CodeRejected, CompatibilityWarning, ConfigError,
    Digits, Hotp, HotpAccepted, KeyDescription, KeyUri, LookAhead, OtpKind, ParseMode,
    ResyncWindow, Secret, SecretError, SecretStrength, Step, TimeError, Totp, TotpAccepted,
    UriError, UriPart, Window, base32,
};

// An independent reference: HOTP written directly from RFC 4226 §5.3 on top
// of the `hmac` crate, sharing no code with the crate under test.

fn reference_hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    let message = counter.to_be_bytes();
    let tag: Vec<u8> = match algorithm {
        Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha256 => Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha512 => Hmac::<sha2::Sha512>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
    };
    let offset = usize::from(tag[tag.len() - 1] & 0xf);
    let binary = (u32::from(tag[offset]) & 0x7f) << 24
        | u32::from(tag[offset + 1]) << 16
        | u32::from(tag[offset + 2]) << 8
        | u32::from(tag[offset + 3]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(binary) % modulus,
        width = digits as usize
    )
}

/// The RFC 6238 Appendix B seeds: "12345678901234567890" repeated to the
/// hash output length (20, 32 or 64 bytes).
fn rfc6238_seed(algorithm: Algorithm) -> Vec<u8> {
    b"1234567890"
        .iter()
        .cycle()
        .take(algorithm.output_len())
        .copied()
        .collect()
}

fn rfc_secret(algorithm: Algorithm) -> Secret {
    Secret::from_bytes(&rfc6238_seed(algorithm)).unwrap()
}

/// A code with one digit changed (the last digit plus one, mod 10).
fn tampered(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = b'0' + (bytes[last] - b'0' + 1) % 10;
    String::from_utf8(bytes).unwrap()
}

fn code_text(code: &Code) -> String {
    code.expose_secret().as_str().to_owned()
}

fn digits(n: u32) -> Digits {
    Digits::new(n).unwrap()
}

/// Every public type is `Send + Sync` (checked at compile time).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Secret>();
    send_sync::<SecretStrength>();
    send_sync::<Code>();
    send_sync::<twofa_otp::CodeText>();
    send_sync::<Totp>();
    send_sync::<Hotp>();
    send_sync::<TotpAccepted>();
    send_sync::<HotpAccepted>();
    send_sync::<CodeRejected>();
    send_sync::<KeyUri>();
    send_sync::<KeyDescription>();
    send_sync::<OtpKind>();
    send_sync::<ParseMode>();
    send_sync::<UriError>();
    send_sync::<CompatibilityWarning>();
    send_sync::<Algorithm>();
    send_sync::<Digits>();
    send_sync::<Step>();
    send_sync::<Window>();
    send_sync::<LookAhead>();
    send_sync::<ResyncWindow>();
    send_sync::<ConfigError>();
    send_sync::<SecretError>();
    send_sync::<Base32Error>();
    send_sync::<CodeError>();
    send_sync::<TimeError>();
};

fn uri_secret() -> Secret {
    Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap()
}

fn algorithm_strategy() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}
