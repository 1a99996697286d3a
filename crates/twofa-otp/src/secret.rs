//! The shared secret `K` of RFC 4226 §5.1.

#[cfg(feature = "alloc")]
use alloc::string::String;
use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::base32;
use crate::error::SecretError;
use crate::params::Algorithm;

/// The strength of a secret accepted by a `*_weak` constructor.
#[must_use = "a legacy secret should be reported and replaced"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum SecretStrength {
    /// 128 bits or more (RFC 4226 §4 R6).
    Full,
    /// 80 to 127 bits: a legacy length that real sites still issue. Accept it
    /// for import, report it, and re-enroll with a generated secret.
    Legacy {
        /// The secret length in bits.
        bits: usize,
    },
}

/// An HOTP/TOTP shared secret of 16 to 64 bytes (or 10 to 64 bytes
/// through the `*_weak` constructors).
///
/// # Security
///
/// - Stored inline (no heap) and zeroized when dropped.
/// - `Debug` prints `Secret([REDACTED])`; there is no `Display`, no
///   `PartialEq`, and no `Serialize` or `Deserialize` unless the
///   `serde-secret` feature is on.
/// - Compare with [`Secret::ct_eq`] (constant time).
/// - [`Secret::expose_secret`] is the one accessor to the bytes; grep for it
///   to audit every use.
///
/// # Example
///
/// ```
/// use twofa_otp::Secret;
///
/// let secret = Secret::from_base32("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP")?;
/// assert_eq!(secret.bits(), 160);
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// # Ok::<(), twofa_otp::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    /// The secret is `bytes[..len]`; the rest is always zero.
    bytes: [u8; Self::MAX_BYTES],
    len: u8,
}

impl Secret {
    /// The minimum length of the normal constructors: 128 bits
    /// (RFC 4226 §4 R6).
    pub const MIN_BYTES: usize = 16;
    /// The minimum length of the `*_weak` constructors: 80 bits.
    pub const LEGACY_MIN_BYTES: usize = 10;
    /// The maximum length: 64 bytes, the longest HMAC output (SHA-512).
    /// RFC 2104 §3: keys longer than the output add no significant
    /// strength.
    pub const MAX_BYTES: usize = 64;

    /// A secret of at least 128 bits from raw bytes.
    ///
    /// # Errors
    ///
    /// [`SecretError::TooShort`] below 128 bits (see
    /// [`Secret::from_bytes_weak`]), [`SecretError::TooWeak`] below 80 bits,
    /// [`SecretError::TooLong`] above [`Secret::MAX_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        let (secret, strength) = Self::from_bytes_weak(bytes)?;
        match strength {
            SecretStrength::Full => Ok(secret),
            SecretStrength::Legacy { bits } => Err(SecretError::TooShort { bits }),
        }
    }

    /// A secret of at least 80 bits from raw bytes, with its strength.
    ///
    /// Use this only to import keys issued elsewhere; new keys come from
    /// [`Secret::generate`].
    ///
    /// # Errors
    ///
    /// [`SecretError::TooWeak`] below 80 bits, [`SecretError::TooLong`]
    /// above [`Secret::MAX_BYTES`].
    pub fn from_bytes_weak(bytes: &[u8]) -> Result<(Self, SecretStrength), SecretError> {
        let len = bytes.len();
        let bits = len.saturating_mul(8);
        if len > Self::MAX_BYTES {
            return Err(SecretError::TooLong {
                bytes: len,
                max: Self::MAX_BYTES,
            });
        }
        if len < Self::LEGACY_MIN_BYTES {
            return Err(SecretError::TooWeak { bits });
        }
        let mut secret = Self::zeroed();
        if let Some(head) = secret.bytes.get_mut(..len) {
            head.copy_from_slice(bytes);
        }
        secret.len = u8::try_from(len).unwrap_or(u8::MAX);
        Ok((secret, secret_strength(len)))
    }

    /// A secret of at least 128 bits from base32 text (see [`crate::base32`]
    /// for what is accepted).
    ///
    /// # Errors
    ///
    /// [`SecretError::Base32`] for malformed text, then as
    /// [`Secret::from_bytes`].
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let secret = Self::decode_base32(text)?;
        if usize::from(secret.len) < Self::MIN_BYTES {
            return Err(SecretError::TooShort {
                bits: secret.bits(),
            });
        }
        Ok(secret)
    }

    /// A secret of at least 80 bits from base32 text, with its strength.
    ///
    /// # Errors
    ///
    /// [`SecretError::Base32`] for malformed text, then as
    /// [`Secret::from_bytes_weak`].
    pub fn from_base32_weak(text: &str) -> Result<(Self, SecretStrength), SecretError> {
        let secret = Self::decode_base32(text)?;
        let strength = secret.strength();
        Ok((secret, strength))
    }

    /// Decodes base32 text into a secret of at least 80 bits.
    #[inline(always)]
    fn decode_base32(text: &str) -> Result<Self, SecretError> {
        let mut secret = Self::zeroed();
        // Decoding into the secret's own storage avoids a second copy of the
        // bytes; `secret` is zeroized on drop if anything fails.
        let len = match base32::decode_into(text, &mut secret.bytes) {
            Ok(len) => len,
            Err(error) => {
                // A partial result may have been written: wipe all of it.
                secret.bytes.zeroize();
                return Err(match error {
                    crate::Base32Error::TooLong { .. } => SecretError::TooLong {
                        bytes: base32_len_upper_bound(text),
                        max: Self::MAX_BYTES,
                    },
                    other => SecretError::Base32(other),
                });
            }
        };
        // Record the length first, so that the drop below wipes the bytes
        // if the secret is refused.
        secret.len = u8::try_from(len).unwrap_or(u8::MAX);
        if len < Self::LEGACY_MIN_BYTES {
            return Err(SecretError::TooWeak {
                bits: len.saturating_mul(8),
            });
        }
        Ok(secret)
    }

    /// A fresh secret from `rng`, as long as the algorithm's HMAC output (20,
    /// 32 or 64 bytes; RFC 4226 §4 R6 recommends 160 bits for SHA-1).
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, algorithm: Algorithm) -> Self {
        let mut secret = Self::zeroed();
        let len = algorithm.output_len();
        if let Some(head) = secret.bytes.get_mut(..len) {
            rng.fill_bytes(head);
        }
        secret.len = u8::try_from(len).unwrap_or(u8::MAX);
        secret
    }

    /// A fresh secret of `len` bytes from `rng`.
    ///
    /// # Errors
    ///
    /// [`SecretError::TooShort`] below [`Secret::MIN_BYTES`],
    /// [`SecretError::TooLong`] above [`Secret::MAX_BYTES`].
    pub fn generate_with_len<R: CryptoRng + ?Sized>(
        rng: &mut R,
        len: usize,
    ) -> Result<Self, SecretError> {
        if len > Self::MAX_BYTES {
            return Err(SecretError::TooLong {
                bytes: len,
                max: Self::MAX_BYTES,
            });
        }
        if len < Self::MIN_BYTES {
            return Err(SecretError::TooShort {
                bits: len.saturating_mul(8),
            });
        }
        let mut secret = Self::zeroed();
        if let Some(head) = secret.bytes.get_mut(..len) {
            rng.fill_bytes(head);
        }
        secret.len = u8::try_from(len).unwrap_or(u8::MAX);
        Ok(secret)
    }

    /// The secret bytes.
    ///
    /// # Security
    ///
    /// Everything derived from these bytes is as sensitive as the secret.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The secret as unpadded upper-case base32 text, in a string that is
    /// wiped when dropped.
    ///
    /// # Security
    ///
    /// The text is the secret.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_base32(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(base32::encode(self.expose_secret()))
    }

    /// The length in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        usize::from(self.len).saturating_mul(8)
    }

    /// [`SecretStrength::Full`] from 128 bits, else
    /// [`SecretStrength::Legacy`].
    pub fn strength(&self) -> SecretStrength {
        secret_strength(usize::from(self.len))
    }

    /// Constant-time equality of the bytes (the lengths, which are not
    /// secret, are compared first).
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }

    fn zeroed() -> Self {
        Self {
            bytes: [0; Self::MAX_BYTES],
            len: 0,
        }
    }
}

fn secret_strength(len: usize) -> SecretStrength {
    if len >= Secret::MIN_BYTES {
        SecretStrength::Full
    } else {
        SecretStrength::Legacy {
            bits: len.saturating_mul(8),
        }
    }
}

/// An upper bound of the decoded length of a base32 text, for the error
/// of an oversized secret.
fn base32_len_upper_bound(text: &str) -> usize {
    let symbols = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'-' | b'='))
        .count();
    symbols.saturating_mul(5) / 8
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Invariant: bytes past `len` are always zero (every constructor
        // writes only the prefix, or wipes everything on failure), so only
        // the prefix needs wiping.
        if let Some(used) = self.bytes.get_mut(..usize::from(self.len)) {
            used.zeroize();
        }
        self.len.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// A secret serializes as unpadded upper-case base32 text (feature
/// `serde-secret`, off by default: without it `Secret` has no `Serialize`).
///
/// # Security
///
/// The serialized form is the secret; where it goes (a file, a database, a
/// log) is the caller's decision. Nothing here keeps a copy: the text is
/// written straight into the serializer.
#[cfg(feature = "serde-secret")]
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// Writes the base32 text into the serializer, so no string holds it.
        struct Base32<'a>(&'a Secret);

        impl fmt::Display for Base32<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                base32::encode_to(self.0.expose_secret(), f)
            }
        }

        serializer.collect_str(&Base32(self))
    }
}

/// A secret deserializes from base32 text as [`Secret::from_base32_weak`]
/// reads it (feature `serde-secret`): every secret this type can hold reads
/// back, a legacy one of 80 to 127 bits included, which
/// [`Secret::strength`] reports. Errors say what was wrong, never the text.
#[cfg(feature = "serde-secret")]
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base32 secret")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Secret, E> {
                Secret::from_base32_weak(text)
                    .map(|(secret, _)| secret)
                    .map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// Without `serde-secret`, the types that hold a secret or a code implement
/// neither `Serialize` nor `Deserialize`; this item does not compile if one
/// of them does. Each `AmbiguousIf*` trait has a blanket implementation for
/// every type, and a second one for the types with the serde trait: for such
/// a type `<T as AmbiguousIf*<_>>` has two candidates and type inference
/// fails ("type annotations needed").
#[cfg(all(feature = "serde", not(feature = "serde-secret")))]
const _: fn() = || {
    trait AmbiguousIfSerialize<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSerialize<()> for T {}
    impl<T: ?Sized + serde::Serialize> AmbiguousIfSerialize<u8> for T {}

    trait AmbiguousIfDeserialize<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfDeserialize<()> for T {}
    impl<T: for<'de> serde::Deserialize<'de>> AmbiguousIfDeserialize<u8> for T {}

    <Secret as AmbiguousIfSerialize<_>>::check();
    <Secret as AmbiguousIfDeserialize<_>>::check();
    <crate::Code as AmbiguousIfSerialize<_>>::check();
    <crate::Code as AmbiguousIfDeserialize<_>>::check();
    <crate::CodeText as AmbiguousIfSerialize<_>>::check();
    <crate::Totp as AmbiguousIfSerialize<_>>::check();
    <crate::Totp as AmbiguousIfDeserialize<_>>::check();
    <crate::Hotp as AmbiguousIfSerialize<_>>::check();
    <crate::Hotp as AmbiguousIfDeserialize<_>>::check();
    #[cfg(feature = "alloc")]
    <crate::KeyUri as AmbiguousIfSerialize<_>>::check();
    #[cfg(feature = "alloc")]
    <crate::KeyUri as AmbiguousIfDeserialize<_>>::check();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_enforced() {
        assert!(Secret::from_bytes(&[7; 16]).is_ok());
        assert_eq!(
            Secret::from_bytes(&[7; 15]).err(),
            Some(SecretError::TooShort { bits: 120 })
        );
        assert_eq!(
            Secret::from_bytes(&[7; 9]).err(),
            Some(SecretError::TooWeak { bits: 72 })
        );
        let (_, strength) = Secret::from_bytes_weak(&[7; 10]).unwrap();
        assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
        assert!(Secret::from_bytes(&[7; 64]).is_ok());
        assert_eq!(
            Secret::from_bytes(&[7; 65]).err(),
            Some(SecretError::TooLong { bytes: 65, max: 64 })
        );
    }

    #[test]
    fn oversized_base32_is_too_long() {
        let text = "A".repeat(112); // 70 bytes
        assert_eq!(
            Secret::from_base32(&text).err(),
            Some(SecretError::TooLong { bytes: 70, max: 64 })
        );
    }
}
