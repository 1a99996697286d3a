//! Recovery codes: ten single-use codes of 80 bits, stored as keyed hashes.

use core::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use twofa_delivery::ServerKey;
use twofa_types::UserId;
use zeroize::Zeroizing;

/// Codes in a set.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Random bytes per code: 80 bits. NIST SP 800-63B (look-up secrets)
/// treats secrets of 64 bits or more as strong enough not to need rate
/// limiting of their own; attempts are throttled here all the same.
const CODE_BYTES: usize = 10;

/// Base32 characters per code (80 bits / 5 bits).
const CODE_CHARS: usize = 16;

/// Domain separation of the recovery-code hash from every other use of
/// the server key.
const HASH_LABEL: &[u8] = b"twofa-enrollment/recovery-code/v1";

/// One stored code: its keyed hash and when it was used.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Slot {
    #[cfg_attr(feature = "serde", serde(with = "crate::hex::array32"))]
    mac: [u8; 32],
    used_at: Option<DateTime<Utc>>,
}

/// The stored set of recovery codes: HMAC-SHA-256 under the server key of
/// each code, bound to the user, and the use of each.
///
/// # Security
///
/// The hashes cannot be reversed without the server key; each code carries
/// 80 random bits, so even with the key an offline search is infeasible.
/// `Debug` prints counts only.
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecoveryCodes {
    slots: Vec<Slot>,
    generated_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("total", &self.slots.len())
            .field("remaining", &self.remaining())
            .field("generated_at", &self.generated_at)
            .finish()
    }
}

/// A freshly generated set of recovery codes, to show the user once.
///
/// # Security
///
/// Zeroized on drop; `Debug` prints `[REDACTED]`; no `Display`.
pub struct RecoveryCodeSheet {
    codes: Vec<Zeroizing<String>>,
}

impl fmt::Debug for RecoveryCodeSheet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RecoveryCodeSheet({} codes, [REDACTED])",
            self.codes.len()
        )
    }
}

impl RecoveryCodeSheet {
    /// The codes, grouped `XXXX-XXXX-XXXX-XXXX`.
    ///
    /// # Security
    ///
    /// Show them to the user once; never store or log them.
    pub fn expose_secret(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(|code| code.as_str())
    }

    /// How many codes the sheet holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the sheet is empty (never, for a generated sheet).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

fn code_mac(key: &ServerKey, user: &UserId, normalised: &str) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret()) else {
        // HMAC takes keys of every length; unreachable, and a constant
        // output would match no stored code generated with a real key.
        return [0u8; 32];
    };
    for part in [HASH_LABEL, user.as_str().as_bytes(), normalised.as_bytes()] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        mac.update(&len.to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Upper-cases, drops hyphens and spaces, and checks 16 base32 symbols.
fn normalise(candidate: &str) -> Option<Zeroizing<String>> {
    if candidate.len() > 64 {
        return None;
    }
    let text: Zeroizing<String> = Zeroizing::new(
        candidate
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let valid = text.len() == CODE_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    valid.then_some(text)
}

/// Why a recovery code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RecoveryRejection {
    /// Not 16 base32 symbols; not counted as a guess.
    Malformed,
    /// No unused code matched.
    NoMatch,
}

impl RecoveryCodes {
    /// Draws a new set of ten codes for `user`.
    pub(crate) fn generate(
        user: &UserId,
        key: &ServerKey,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> (Self, RecoveryCodeSheet) {
        let mut slots = Vec::with_capacity(RECOVERY_CODE_COUNT);
        let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
            rng.fill_bytes(bytes.as_mut());
            let plain = Zeroizing::new(twofa_otp::base32::encode(bytes.as_ref()));
            let mut grouped = Zeroizing::new(String::with_capacity(CODE_CHARS + 3));
            for (i, c) in plain.chars().enumerate() {
                if i > 0 && i % 4 == 0 {
                    grouped.push('-');
                }
                grouped.push(c);
            }
            slots.push(Slot {
                mac: code_mac(key, user, &plain),
                used_at: None,
            });
            codes.push(grouped);
        }
        (
            Self {
                slots,
                generated_at: Some(now),
            },
            RecoveryCodeSheet { codes },
        )
    }

    /// Unused codes left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.slots.iter().filter(|s| s.used_at.is_none()).count()
    }

    /// Codes in the set, used or not.
    #[must_use]
    pub fn total(&self) -> usize {
        self.slots.len()
    }

    /// When the set was generated.
    #[must_use]
    pub fn generated_at(&self) -> Option<DateTime<Utc>> {
        self.generated_at
    }

    /// Checks `candidate` against every unused code in constant time (all
    /// slots are compared, no early exit) and returns the set with the
    /// matching code marked used.
    pub(crate) fn redeem(
        &self,
        user: &UserId,
        key: &ServerKey,
        candidate: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, RecoveryRejection> {
        let normalised = normalise(candidate).ok_or(RecoveryRejection::Malformed)?;
        let mac = code_mac(key, user, &normalised);
        let mut found = subtle::Choice::from(0);
        let mut index = 0u32;
        for (i, slot) in self.slots.iter().enumerate() {
            let unused = subtle::Choice::from(u8::from(slot.used_at.is_none()));
            let hit = slot.mac.ct_eq(&mac) & unused;
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            index = u32::conditional_select(&index, &i, hit);
            found |= hit;
        }
        if !bool::from(found) {
            return Err(RecoveryRejection::NoMatch);
        }
        let mut next = self.clone();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| next.slots.get_mut(i))
            .ok_or(RecoveryRejection::NoMatch)?;
        slot.used_at = Some(now);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key() -> ServerKey {
        ServerKey::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn each_code_redeems_once_and_only_for_its_user() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let user = UserId::new("u1").unwrap();
        let other = UserId::new("u2").unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let (set, sheet) = RecoveryCodes::generate(&user, &key(), now, &mut rng);
        assert_eq!(sheet.len(), RECOVERY_CODE_COUNT);
        let first = sheet.expose_secret().next().unwrap().to_owned();
        assert_eq!(first.len(), 19);
        assert_eq!(
            set.redeem(&other, &key(), &first, now),
            Err(RecoveryRejection::NoMatch)
        );
        let used = set
            .redeem(&user, &key(), &first.to_lowercase(), now)
            .unwrap();
        assert_eq!(used.remaining(), RECOVERY_CODE_COUNT - 1);
        assert_eq!(
            used.redeem(&user, &key(), &first, now),
            Err(RecoveryRejection::NoMatch)
        );
        assert_eq!(
            set.redeem(&user, &key(), "not-a-code", now),
            Err(RecoveryRejection::Malformed)
        );
    }

    #[test]
    fn codes_are_distinct_and_debug_is_redacted() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let user = UserId::new("u1").unwrap();
        let (set, sheet) =
            RecoveryCodes::generate(&user, &key(), DateTime::<Utc>::UNIX_EPOCH, &mut rng);
        let mut codes: Vec<&str> = sheet.expose_secret().collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let printed = format!("{sheet:?} {set:?}");
        for code in codes {
            assert!(!printed.contains(code));
        }
    }
}
