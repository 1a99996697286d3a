//! Identifiers shared by code challenges and push requests: the caller's
//! login transaction id, the random challenge id, their validation error,
//! and the bias-free uniform draw that challenge codes and push match
//! numbers are made of.

use core::fmt;
use core::str::FromStr;

use rand_core::CryptoRng;

/// Longest accepted transaction identifier, in bytes.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Empty, or longer than [`MAX_IDENTIFIER_LEN`] bytes.
    #[error("identifier must be 1 to {max} bytes")]
    Length {
        /// The longest accepted length.
        max: usize,
    },
    /// Contains a control character or whitespace.
    #[error("identifier contains a control character or whitespace")]
    Character,
    /// A challenge id that is not 32 lower- or upper-case hex digits.
    #[error("challenge id must be 32 hex digits")]
    ChallengeIdFormat,
}

fn check_identifier(text: &str) -> Result<(), IdentifierError> {
    if text.is_empty() || text.len() > MAX_IDENTIFIER_LEN {
        return Err(IdentifierError::Length {
            max: MAX_IDENTIFIER_LEN,
        });
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdentifierError::Character);
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(try_from = "String", into = "String")
        )]
        pub struct $name {
            id: String,
        }

        impl $name {
            /// Validates an identifier: 1 to 128 bytes, no whitespace or
            /// control characters.
            ///
            /// # Errors
            ///
            /// [`IdentifierError`] otherwise.
            pub fn new(id: &str) -> Result<Self, IdentifierError> {
                check_identifier(id)?;
                Ok(Self { id: id.to_owned() })
            }

            /// The identifier.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.id
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentifierError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_identifier(&value)?;
                Ok(Self { id: value })
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.id
            }
        }
    };
}

opaque_id!(
    /// The application's opaque identifier of the login transaction a code
    /// approves, so a code issued for one login cannot complete another.
    TransactionId
);

/// A random 128-bit challenge or push-request identifier, printed as 32
/// lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct ChallengeId {
    bytes: [u8; 16],
}

impl ChallengeId {
    /// Draws a fresh identifier from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.bytes {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({self})")
    }
}

impl FromStr for ChallengeId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.as_bytes();
        if raw.len() != 32 {
            return Err(IdentifierError::ChallengeIdFormat);
        }
        let mut bytes = [0u8; 16];
        for (out, pair) in bytes.iter_mut().zip(raw.chunks_exact(2)) {
            let text =
                core::str::from_utf8(pair).map_err(|_| IdentifierError::ChallengeIdFormat)?;
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(IdentifierError::ChallengeIdFormat);
            }
            *out = u8::from_str_radix(text, 16).map_err(|_| IdentifierError::ChallengeIdFormat)?;
        }
        Ok(Self { bytes })
    }
}

impl TryFrom<String> for ChallengeId {
    type Error = IdentifierError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ChallengeId> for String {
    fn from(value: ChallengeId) -> Self {
        value.to_string()
    }
}

/// The largest multiple of `modulus` not above 2^64: a 64-bit draw below it,
/// reduced modulo `modulus`, is exactly uniform; draws at or above it are
/// rejected and redrawn (the bias-free method of NIST SP 800-90A Rev. 1
/// §A.5.1 "The Simple Discard Method", applied to a range that is not a
/// power of two).
pub(crate) fn acceptance_bound(modulus: u64) -> u128 {
    let space: u128 = 1u128 << 64;
    let modulus = u128::from(modulus.max(1));
    space.saturating_sub(space % modulus)
}

/// Draws a uniform integer below `modulus` by rejection sampling.
pub(crate) fn uniform_below(modulus: u64, rng: &mut impl CryptoRng) -> u64 {
    let modulus = modulus.max(1);
    let bound = acceptance_bound(modulus);
    loop {
        let draw = rng.next_u64();
        if u128::from(draw) < bound {
            return draw % modulus;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::convert::Infallible;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// Replays scripted 64-bit values, so the sampler's accept/reject
    /// decisions can be observed exactly.
    pub(crate) struct Scripted(pub(crate) VecDeque<u64>);

    impl rand_core::TryRng for Scripted {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(u32::try_from(self.0.pop_front().unwrap() >> 32).unwrap())
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(self.0.pop_front().unwrap())
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Scripted {}

    #[test]
    fn bound_for_a_million_is_the_largest_multiple_below_two_to_the_64() {
        // 2^64 = 18446744073709551616; 2^64 mod 10^6 = 551616.
        let bound = acceptance_bound(1_000_000);
        assert_eq!(bound, 18_446_744_073_709_000_000);
        assert_eq!(bound % 1_000_000, 0);
        assert_eq!((1u128 << 64) - bound, 551_616);
    }

    #[test]
    fn power_of_two_modulus_accepts_every_draw() {
        assert_eq!(acceptance_bound(1 << 10), 1u128 << 64);
    }

    #[test]
    fn draws_at_or_above_the_bound_are_redrawn() {
        let bound = u64::try_from(acceptance_bound(1_000_000)).unwrap();
        let mut rng = Scripted(VecDeque::from([u64::MAX, bound, bound - 1]));
        // `bound - 1` is the first accepted draw: 18446744073708999999 mod 10^6.
        assert_eq!(uniform_below(1_000_000, &mut rng), 999_999);
        assert!(rng.0.is_empty());

        let mut rng = Scripted(VecDeque::from([bound, 1_234_567]));
        assert_eq!(uniform_below(1_000_000, &mut rng), 234_567);
    }

    #[test]
    fn challenge_ids_round_trip_through_hex() {
        let id = ChallengeId { bytes: [0xab; 16] };
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<ChallengeId>().unwrap(), id);
        assert!("ab".parse::<ChallengeId>().is_err());
        assert!("zz".repeat(16).parse::<ChallengeId>().is_err());
        assert!("é".repeat(16).parse::<ChallengeId>().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn bound_is_a_multiple_within_one_modulus_of_two_to_the_64(modulus in 1u64..=10_000_000_000) {
            let bound = acceptance_bound(modulus);
            prop_assert_eq!(bound % u128::from(modulus), 0);
            prop_assert!(bound <= 1u128 << 64);
            prop_assert!((1u128 << 64) - bound < u128::from(modulus));
        }

        #[test]
        fn accepted_draws_reduce_into_range(modulus in 1u64..=10_000_000_000, draw in any::<u64>()) {
            let bound = acceptance_bound(modulus);
            prop_assume!(u128::from(draw) < bound);
            let mut rng = Scripted(VecDeque::from([draw]));
            let value = uniform_below(modulus, &mut rng);
            prop_assert!(value < modulus);
            prop_assert_eq!(value, draw % modulus);
        }
    }
}
