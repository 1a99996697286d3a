//! [`Keys`]: the service's two secret keys, generated from the operating
//! system or loaded from configuration.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::TryRng;
use twofa_delivery::ServerKey;
use zeroize::Zeroizing;

use crate::hex;
use crate::random::RandomUnavailable;
use crate::seal::{Sealer, XChaChaSealer};

/// The length of each key, in bytes.
const KEY_LEN: usize = 32;

/// Which of the two keys a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyName {
    /// The server key, which hashes one-time and recovery codes.
    ServerKey,
    /// The sealing key, which encrypts secrets at rest.
    SealingKey,
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ServerKey => "server key",
            Self::SealingKey => "sealing key",
        })
    }
}

/// A key could not be loaded. The text is never repeated: it is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not hex (two digits a byte, either case) or base64
    /// (standard or URL-safe alphabet, padded or not), as the call asked.
    #[error("the {key} is not valid {encoding}")]
    Encoding {
        /// Which key.
        key: KeyName,
        /// `"hex"` or `"base64"`.
        encoding: &'static str,
    },
    /// The text decodes to the wrong number of bytes (32 are needed).
    #[error("the {key} is {bytes} bytes long; it must be 32")]
    Length {
        /// Which key.
        key: KeyName,
        /// How many bytes it decoded to.
        bytes: usize,
    },
    /// The server key and the sealing key are the same: each must be
    /// drawn on its own.
    #[error("the server key and the sealing key must differ")]
    SameKeys,
}

/// The service's two secret keys: the **server key** (HMAC-SHA-256 over
/// one-time and recovery codes, so that a stolen database does not give
/// them away) and the **sealing key** (XChaCha20-Poly1305 over TOTP secrets
/// and phone numbers at rest).
///
/// Generate them once ([`Keys::generate`]), store them in the
/// application's secret store (as [`Keys::to_hex`] prints them), and load
/// them at every start ([`Keys::from_hex`], [`Keys::from_base64`]). Every
/// server sharing the stores needs the same keys; losing the sealing key
/// makes every enrollment unreadable.
///
/// ```
/// use twofa::Keys;
///
/// let keys = Keys::generate()?;
/// let (server, sealing) = keys.to_hex();
/// let again = Keys::from_hex(&server, &sealing)?;
/// # let _ = again;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// Zeroized on drop; `Debug` prints `[REDACTED]`.
pub struct Keys {
    server: ServerKey,
    sealing: Zeroizing<[u8; KEY_LEN]>,
    sealer: XChaChaSealer,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([REDACTED])")
    }
}

impl Keys {
    /// Two fresh keys from the operating system's random generator.
    ///
    /// # Errors
    ///
    /// [`RandomUnavailable`] when the operating system has no randomness
    /// to give.
    pub fn generate() -> Result<Self, RandomUnavailable> {
        let mut server = Zeroizing::new([0u8; KEY_LEN]);
        let mut sealing = Zeroizing::new([0u8; KEY_LEN]);
        let mut os = rand::rngs::SysRng;
        os.try_fill_bytes(server.as_mut())
            .map_err(|_| RandomUnavailable)?;
        os.try_fill_bytes(sealing.as_mut())
            .map_err(|_| RandomUnavailable)?;
        Self::new(server, sealing).map_err(|_| RandomUnavailable)
    }

    /// Loads the keys from 64 hex digits each (surrounding whitespace is
    /// ignored, as in a file or an environment variable).
    ///
    /// # Errors
    ///
    /// [`KeyError`]: not hex, not 32 bytes, or the same key twice.
    pub fn from_hex(server_key: &str, sealing_key: &str) -> Result<Self, KeyError> {
        let decode = |text: &str, key| {
            let bytes = Zeroizing::new(hex::decode(text.trim()).ok_or(KeyError::Encoding {
                key,
                encoding: "hex",
            })?);
            exact(&bytes, key)
        };
        Self::new(
            decode(server_key, KeyName::ServerKey)?,
            decode(sealing_key, KeyName::SealingKey)?,
        )
    }

    /// Loads the keys from base64, standard or URL-safe alphabet, with or
    /// without padding (surrounding whitespace is ignored).
    ///
    /// # Errors
    ///
    /// [`KeyError`]: not base64, not 32 bytes, or the same key twice.
    pub fn from_base64(server_key: &str, sealing_key: &str) -> Result<Self, KeyError> {
        let config = GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent);
        let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
        let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
        let decode = |text: &str, key| {
            let text = text.trim();
            let bytes = Zeroizing::new(
                standard
                    .decode(text)
                    .or_else(|_| url_safe.decode(text))
                    .map_err(|_| KeyError::Encoding {
                        key,
                        encoding: "base64",
                    })?,
            );
            exact(&bytes, key)
        };
        Self::new(
            decode(server_key, KeyName::ServerKey)?,
            decode(sealing_key, KeyName::SealingKey)?,
        )
    }

    fn new(
        server: Zeroizing<[u8; KEY_LEN]>,
        sealing: Zeroizing<[u8; KEY_LEN]>,
    ) -> Result<Self, KeyError> {
        if *server == *sealing {
            return Err(KeyError::SameKeys);
        }
        let length = |key| KeyError::Length {
            key,
            bytes: KEY_LEN,
        };
        Ok(Self {
            server: ServerKey::from_bytes(server.as_ref())
                .map_err(|_| length(KeyName::ServerKey))?,
            sealer: XChaChaSealer::from_bytes(sealing.as_ref())
                .map_err(|_| length(KeyName::SealingKey))?,
            sealing,
        })
    }

    /// The keys as lower-case hex (server key, sealing key), to store in a
    /// secret store once after [`Keys::generate`].
    ///
    /// # Security
    ///
    /// Whoever reads these strings can test codes offline against a stolen
    /// database and open every sealed secret in it.
    #[must_use]
    pub fn to_hex(&self) -> (Zeroizing<String>, Zeroizing<String>) {
        (
            Zeroizing::new(hex::encode(self.server.expose_secret())),
            Zeroizing::new(hex::encode(self.sealing.as_ref())),
        )
    }

    /// The server key and the sealer, for the service.
    pub(crate) fn into_parts(self) -> (ServerKey, Arc<dyn Sealer>) {
        (self.server, Arc::new(self.sealer))
    }
}

fn exact(bytes: &[u8], key: KeyName) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        return Err(KeyError::Length {
            key,
            bytes: bytes.len(),
        });
    }
    out.copy_from_slice(bytes);
    Ok(out)
}
