//! Base32 decoding on arbitrary text: no panic; accepted text re-encodes
//! (unpadded upper case) to a text that decodes to the same bytes; the
//! `base32` crate agrees wherever its rules and ours coincide; a refusal
//! points inside the text; arbitrary bytes survive encode -> decode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use twofa_otp::{Base32Error, Secret, SecretError, base32};

const ALPHABET: ::base32::Alphabet = ::base32::Alphabet::Rfc4648 { padding: false };

/// The text as the `base32` crate (strict RFC 4648 upper case, no
/// separators, no padding) would have to see it.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect::<String>()
        .trim_end_matches('=')
        .to_ascii_uppercase()
}

fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let mut out = [0_u8; 128];
    let written = base32::decode_into(text, &mut out)?;
    assert!(written <= out.len());
    Ok(out[..written].to_vec())
}

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes: encode -> decode is the identity.
    let bytes = &data[..data.len().min(128)];
    let encoded = base32::encode(bytes);
    assert_eq!(Some(encoded.len()), base32::encoded_len(bytes.len()));
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert_eq!(decode(&encoded).as_deref(), Ok(bytes));
    assert_eq!(encoded, ::base32::encode(ALPHABET, bytes));

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = decode(text);
    let theirs = ::base32::decode(ALPHABET, &normalized(text));
    match &ours {
        Ok(bytes) => {
            // Canonical: re-encoding gives the normalized text back.
            let again = base32::encode(bytes);
            assert_eq!(again, normalized(text));
            assert_eq!(decode(&again).as_ref(), Ok(bytes));
            assert_eq!(theirs.as_ref(), Some(bytes), "{text:?}");
            // Secret::from_base32 follows the same decoder and adds the
            // length rules.
            match Secret::from_base32(text) {
                Ok(secret) => assert_eq!(secret.expose_secret(), bytes.as_slice()),
                Err(SecretError::TooShort { bits } | SecretError::TooWeak { bits }) => {
                    assert_eq!(bits, bytes.len() * 8);
                    assert!(bytes.len() < Secret::MIN_BYTES);
                }
                Err(SecretError::TooLong { bytes: length, max }) => {
                    assert_eq!(length, bytes.len());
                    assert_eq!(max, Secret::MAX_BYTES);
                    assert!(length > max);
                }
                Err(error) => panic!("{text:?}: decoded but {error}"),
            }
        }
        Err(error) => {
            let chars = text.chars().count();
            match *error {
                Base32Error::InvalidCharacter { position } => {
                    let c = text
                        .chars()
                        .nth(position)
                        .expect("position inside the text");
                    assert!(
                        !c.is_ascii_alphabetic() && !('2'..='7').contains(&c),
                        "{text:?}"
                    );
                    assert!(c != ' ' && c != '-' && c != '=', "{text:?}");
                    assert_eq!(theirs, None, "{text:?}");
                }
                Base32Error::MisplacedPadding { position } => {
                    assert_eq!(text.chars().nth(position), Some('='));
                    // Something other than padding follows.
                    assert!(text.chars().skip(position).any(|c| c != '='), "{text:?}");
                }
                Base32Error::NonCanonical { position } => assert!(position < chars),
                Base32Error::InvalidLength { symbols } => {
                    assert!(matches!(symbols % 8, 1 | 3 | 6), "{symbols}");
                }
                Base32Error::TooLong { capacity } => {
                    assert_eq!(capacity, 128);
                    // More symbols than 128 bytes need (204.8), whatever
                    // else is wrong further on.
                    let symbols = text
                        .chars()
                        .filter(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(c))
                        .count();
                    assert!(symbols > 204, "{text:?}");
                    if let Some(decoded) = &theirs {
                        assert!(decoded.len() > 128);
                    }
                }
                _ => {}
            }
            assert!(!error.to_string().is_empty());
            // Where the other decoder accepts a canonical text of a
            // possible length, so must we.
            // (Separators after the padding are not ignored: padding ends
            // the text.)
            let separator_after_padding = text
                .find('=')
                .is_some_and(|at| text[at..].contains([' ', '-']));
            if let Some(bytes) = theirs.as_ref().filter(|_| !separator_after_padding)
                && bytes.len() <= 128
                && ::base32::encode(ALPHABET, bytes) == normalized(text)
            {
                panic!("{text:?}: refused ({error}) a canonical text");
            }
        }
    }
});
