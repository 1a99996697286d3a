//! Sealing of secret and personal fields for storage.
//!
//! A stored record never contains a raw secret, a code or a full phone
//! number: TOTP secrets, phone numbers and whole out-of-band challenges
//! (whose destination is the full number) are encrypted with an AEAD under
//! a key the application holds, with the user id and the field's name as
//! associated data, so a ciphertext moved to another user or another field
//! fails to open. A phone number keeps only its masked form readable, for
//! reports and administration views.
//!
//! This file holds the cipher ([`Sealer`], [`XChaChaSealer`]) and its
//! error; `field.rs` seals one field under its associated data, and
//! `record.rs` mirrors the enrollment record with its fields sealed.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::CryptoRng;
use zeroize::Zeroizing;

mod field;
mod record;

pub use record::SealedEnrollment;

/// XChaCha20-Poly1305 nonce length: 192 bits, large enough to draw at
/// random for every seal without a practical risk of reuse
/// (draft-irtf-cfrg-xchacha §1).
const NONCE_LEN: usize = 24;

/// Poly1305 tag length.
const TAG_LEN: usize = 16;

/// Why sealing or opening failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The sealing key has the wrong length.
    #[error("sealing key must be {expected} bytes")]
    KeyLength {
        /// The required length.
        expected: usize,
    },
    /// Encryption failed (input too long for the AEAD), a challenge could
    /// not be encoded for sealing, or the record holds a kind of state,
    /// method or verification that has no sealed form.
    #[error("sealing failed")]
    Seal,
    /// The ciphertext did not authenticate: wrong key, tampered, or moved
    /// to another user or field.
    #[error("sealed field did not authenticate")]
    Open,
    /// The sealed value is too short to be a ciphertext.
    #[error("sealed field is malformed")]
    Malformed,
    /// The opened bytes are not a valid secret.
    #[error("opened field is not a valid secret")]
    InvalidSecret,
    /// The opened bytes are not a phone number in E.164 form.
    #[error("opened field is not a valid phone number")]
    InvalidPhoneNumber,
    /// The opened bytes are not an out-of-band challenge.
    #[error("opened field is not a valid challenge")]
    InvalidChallenge,
    /// The opened bytes are not a passkey credential or ceremony state.
    #[error("opened field is not a valid passkey record")]
    InvalidPasskey,
    /// The record refers to something it does not hold.
    #[error("sealed record is inconsistent")]
    Inconsistent,
}

/// Encrypts and authenticates record fields under an application key.
///
/// Implementations must be an AEAD with a fresh nonce per call, and must
/// fail [`Sealer::open`] whenever the associated data differs from that
/// given to [`Sealer::seal`].
pub trait Sealer: Send + Sync {
    /// Seals `plaintext` bound to `associated_data`.
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] when encryption fails.
    fn seal(
        &self,
        associated_data: &[u8],
        plaintext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, SealError>;

    /// Opens a value sealed with the same associated data.
    ///
    /// # Errors
    ///
    /// [`SealError::Open`] or [`SealError::Malformed`].
    fn open(&self, associated_data: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;
}

/// [`Sealer`] on XChaCha20-Poly1305: a 256-bit key, a random 192-bit nonce
/// per seal, output `nonce ‖ ciphertext ‖ tag`.
///
/// # Security
///
/// The key is zeroized on drop and `Debug` prints `[REDACTED]`.
#[derive(Clone)]
pub struct XChaChaSealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for XChaChaSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XChaChaSealer([REDACTED])")
    }
}

impl XChaChaSealer {
    /// Key length in bytes.
    pub const KEY_LEN: usize = 32;

    /// A sealer with a 32-byte key.
    ///
    /// # Errors
    ///
    /// [`SealError::KeyLength`] for any other length.
    pub fn from_bytes(key: &[u8]) -> Result<Self, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| SealError::KeyLength {
            expected: Self::KEY_LEN,
        })?;
        Ok(Self { cipher })
    }

    /// A sealer with a fresh random key (for tests and key generation; the
    /// key cannot be read back, so persist keys made elsewhere).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self {
            cipher: XChaCha20Poly1305::new(&(*key).into()),
        }
    }
}

impl Sealer for XChaChaSealer {
    fn seal(
        &self,
        associated_data: &[u8],
        plaintext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN.saturating_add(ciphertext.len()));
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    fn open(&self, associated_data: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN.saturating_add(TAG_LEN) {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Malformed)?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}
