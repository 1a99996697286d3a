//! The code itself: drawing a fresh code, normalising what the user typed,
//! and the keyed hash (HMAC-SHA-256 over challenge id, user, purpose and
//! code) that is all a challenge record keeps of it.

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use twofa_types::UserId;
use zeroize::Zeroizing;

use super::{OobChallenge, Purpose};

#[cfg(feature = "serde")]
use crate::ids::IdentifierError;
use crate::ids::{ChallengeId, uniform_below};
use crate::policy::CodeLength;
use crate::secret::{OobCode, ServerKey};

/// Domain separation for the code MAC, so a MAC computed here can never be
/// mistaken for one computed by another use of the same key.
const MAC_LABEL: &[u8] = b"twofa-delivery/oob-code/v1";

impl Purpose {
    fn mac_parts(&self) -> (&'static [u8], &[u8]) {
        match self {
            Self::Enrollment => (b"enrollment", b""),
            Self::VerifyNewDestination => (b"verify-new-destination", b""),
            Self::Login { transaction } => (b"login", transaction.as_str().as_bytes()),
        }
    }
}

/// HMAC-SHA-256 of a code. Compared only in constant time; `Debug` prints
/// `[REDACTED]` so records can be logged without handing out a value an
/// attacker could brute-force offline if the key leaked too.
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub(super) struct CodeMac {
    mac: [u8; 32],
}

impl PartialEq for CodeMac {
    fn eq(&self, other: &Self) -> bool {
        self.mac.ct_eq(&other.mac).into()
    }
}

impl Eq for CodeMac {}

impl fmt::Debug for CodeMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(feature = "serde")]
impl TryFrom<String> for CodeMac {
    type Error = IdentifierError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let raw = value.as_bytes();
        if raw.len() != 64 || !raw.iter().all(u8::is_ascii_hexdigit) {
            return Err(IdentifierError::ChallengeIdFormat);
        }
        let mut mac = [0u8; 32];
        for (out, pair) in mac.iter_mut().zip(raw.chunks_exact(2)) {
            let text =
                core::str::from_utf8(pair).map_err(|_| IdentifierError::ChallengeIdFormat)?;
            *out = u8::from_str_radix(text, 16).map_err(|_| IdentifierError::ChallengeIdFormat)?;
        }
        Ok(Self { mac })
    }
}

#[cfg(feature = "serde")]
impl From<CodeMac> for String {
    fn from(value: CodeMac) -> Self {
        value.mac.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A fresh code of `length` digits, uniform over every value and
/// zero-padded.
pub(super) fn generate_code(length: CodeLength, rng: &mut impl CryptoRng) -> OobCode {
    let value = uniform_below(length.modulus(), rng);
    let width = usize::from(length.digits());
    OobCode::new(Zeroizing::new(format!("{value:0width$}")))
}

/// Strips the spaces and hyphens people type inside codes and checks the
/// rest is exactly `length` ASCII digits.
pub(super) fn normalise_candidate(
    candidate: &str,
    length: CodeLength,
) -> Option<Zeroizing<String>> {
    if candidate.len() > 64 {
        return None;
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        candidate
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect(),
    );
    (digits.len() == usize::from(length.digits()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

impl OobChallenge {
    pub(super) fn code_mac(&self, key: &ServerKey, code: &OobCode) -> CodeMac {
        code_mac(key, self.id, &self.user, &self.purpose, code)
    }
}

/// HMAC-SHA-256 over the challenge id, the user, the purpose and the code:
/// the id makes a code of one challenge useless for every other, and the
/// user and purpose make a copied hash useless in another binding.
pub(super) fn code_mac(
    key: &ServerKey,
    id: ChallengeId,
    user: &UserId,
    purpose: &Purpose,
    code: &OobCode,
) -> CodeMac {
    let (purpose_tag, purpose_data) = purpose.mac_parts();
    CodeMac {
        mac: key.mac(&[
            MAC_LABEL,
            id.as_bytes(),
            user.as_str().as_bytes(),
            purpose_tag,
            purpose_data,
            code.expose_secret().as_bytes(),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::tests::Scripted;
    use std::collections::VecDeque;

    #[test]
    fn codes_are_zero_padded_to_their_length() {
        let mut rng = Scripted(VecDeque::from([42]));
        let code = generate_code(CodeLength::new(8).unwrap(), &mut rng);
        assert_eq!(code.expose_secret(), "00000042");
    }

    #[test]
    fn candidates_ignore_spaces_and_hyphens_only() {
        let six = CodeLength::default();
        assert_eq!(
            normalise_candidate("123 456", six).unwrap().as_str(),
            "123456"
        );
        assert_eq!(
            normalise_candidate("123-456", six).unwrap().as_str(),
            "123456"
        );
        assert!(normalise_candidate("12345", six).is_none());
        assert!(normalise_candidate("1234567", six).is_none());
        assert!(normalise_candidate("12345a", six).is_none());
        assert!(normalise_candidate("١٢٣٤٥٦", six).is_none());
        assert!(normalise_candidate(&" ".repeat(100), six).is_none());
    }
}
