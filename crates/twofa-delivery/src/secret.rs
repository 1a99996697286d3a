//! Secret values: the server key, plain codes and message texts holding them.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Shortest accepted server key: 32 bytes, the output size of SHA-256, which
/// RFC 2104 §3 names as the minimum recommended HMAC key length.
pub const MIN_SERVER_KEY_LEN: usize = 32;
/// Longest accepted server key: one SHA-256 block (RFC 2104 §2 hashes longer
/// keys first, which adds nothing).
pub const MAX_SERVER_KEY_LEN: usize = 64;

/// Why a server key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ServerKeyError {
    /// The key is shorter than 32 or longer than 64 bytes.
    #[error("server key must be {min} to {max} bytes, got {len}")]
    Length {
        /// The length given.
        len: usize,
        /// The shortest accepted length.
        min: usize,
        /// The longest accepted length.
        max: usize,
    },
}

/// The server-side HMAC-SHA-256 key under which out-of-band codes are stored.
///
/// # Security
///
/// Whoever holds this key and a challenge record can test candidate codes
/// offline; keep it out of the database that stores the records. Zeroized on
/// drop; `Debug` prints `[REDACTED]`.
pub struct ServerKey {
    bytes: Zeroizing<Vec<u8>>,
}

impl ServerKey {
    /// Wraps key material of 32 to 64 bytes.
    ///
    /// # Errors
    ///
    /// [`ServerKeyError::Length`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ServerKeyError> {
        if !(MIN_SERVER_KEY_LEN..=MAX_SERVER_KEY_LEN).contains(&bytes.len()) {
            return Err(ServerKeyError::Length {
                len: bytes.len(),
                min: MIN_SERVER_KEY_LEN,
                max: MAX_SERVER_KEY_LEN,
            });
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Draws a fresh 32-byte key from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; MIN_SERVER_KEY_LEN]);
        rng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// The key bytes.
    ///
    /// # Security
    ///
    /// For persisting the key in a secret store only.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }

    /// HMAC-SHA-256 (RFC 2104, FIPS 180-4) of `parts`, each prefixed with its
    /// length as a 4-byte big-endian integer so that no two different
    /// sequences of parts produce the same input.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // `new_from_slice` accepts every key length for HMAC; the fallback
        // keeps this total without a panic path.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes) else {
            return [0u8; 32];
        };
        for part in parts {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            mac.update(&len.to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey([REDACTED])")
    }
}

/// A plain one-time code, as it goes into a message.
///
/// # Security
///
/// Exists only between issuing and sending: the challenge record stores a
/// keyed hash instead. Zeroized on drop, `Debug` prints `[REDACTED]`, no
/// `Display`, compared only with [`OobCode::ct_eq`].
pub struct OobCode {
    digits: Zeroizing<String>,
}

impl OobCode {
    pub(crate) fn new(digits: Zeroizing<String>) -> Self {
        Self { digits }
    }

    /// The digits, e.g. `"042917"`.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.digits
    }

    /// Number of digits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    /// Always false: a code has 6 to 10 digits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }

    /// Constant-time comparison with `candidate`.
    #[must_use]
    pub fn ct_eq(&self, candidate: &str) -> bool {
        self.digits.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl fmt::Debug for OobCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OobCode([REDACTED])")
    }
}

/// A rendered message text that contains a code.
///
/// # Security
///
/// Zeroized on drop, `Debug` prints `[REDACTED]`, no `Display`; read it with
/// [`MessageText::expose_secret`] only to hand it to the provider.
#[derive(Clone)]
pub struct MessageText {
    text: Zeroizing<String>,
}

impl MessageText {
    pub(crate) fn new(text: String) -> Self {
        Self {
            text: Zeroizing::new(text),
        }
    }

    /// The text.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Zeroize for MessageText {
    fn zeroize(&mut self) {
        self.text.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_keep_part_boundaries_apart() {
        let key = ServerKey::from_bytes(&[1u8; 32]).unwrap();
        assert_ne!(key.mac(&[b"ab", b"c"]), key.mac(&[b"a", b"bc"]));
        assert_ne!(key.mac(&[b"abc"]), key.mac(&[b"abc", b""]));
        assert_eq!(key.mac(&[b"a", b"bc"]), key.mac(&[b"a", b"bc"]));
    }

    #[test]
    fn the_key_changes_the_mac() {
        let one = ServerKey::from_bytes(&[1u8; 32]).unwrap();
        let two = ServerKey::from_bytes(&[2u8; 32]).unwrap();
        assert_ne!(one.mac(&[b"123456"]), two.mac(&[b"123456"]));
    }

    #[test]
    fn secrets_print_redacted() {
        let key = ServerKey::from_bytes(&[0x41u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "ServerKey([REDACTED])");
        let code = OobCode::new(Zeroizing::new("123456".to_owned()));
        assert_eq!(format!("{code:?}"), "OobCode([REDACTED])");
        assert!(code.ct_eq("123456"));
        assert!(!code.ct_eq("123457"));
        assert!(!code.ct_eq("12345"));
        let text = MessageText::new("your code is 123456".to_owned());
        assert_eq!(format!("{text:?}"), "[REDACTED]");
    }
}
