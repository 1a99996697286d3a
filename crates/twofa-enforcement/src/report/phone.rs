//! The masked phone number a report shows: at most the last four digits,
//! never the full number.

use core::fmt;

/// The most digits a phone number may have: ITU-T E.164 §6.1 caps an
/// international number at 15 digits.
const MAX_PHONE_DIGITS: usize = 15;

/// Why a phone hint could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneHintError {
    /// [`PhoneHint::from_last_digits`] takes 2 to 4 ASCII digits.
    #[error("a phone hint holds 2 to 4 digits, got {len} characters")]
    WrongLength {
        /// Characters given.
        len: usize,
    },
    /// The input held a character that is neither a digit nor a separator
    /// (`+`, space, `-`, `.`, `(`, `)`).
    #[error("the phone number contains a character that is not a digit or separator")]
    InvalidCharacter,
    /// The number has fewer than 4 digits: too short to show any of it.
    #[error("the phone number has {digits} digits, at least 4 are needed")]
    TooFewDigits {
        /// Digits found.
        digits: usize,
    },
    /// The number has more than 15 digits (ITU-T E.164 §6.1).
    #[error("the phone number has {digits} digits, at most 15 are allowed")]
    TooManyDigits {
        /// Digits found.
        digits: usize,
    },
}

/// The last few digits of a phone number, safe to show: it cannot hold more
/// than 4 digits, so a full number cannot end up in a report or a log.
///
/// Renders as four bullets, a space and the digits (`•••• 4567`); the number
/// of bullets does not reveal the number's length.
///
/// ```
/// use twofa_enforcement::PhoneHint;
///
/// let hint = PhoneHint::from_number("+1 (555) 010-4567")?;
/// assert_eq!(hint.to_string(), "•••• 4567");
/// assert_eq!(format!("{hint:?}"), "PhoneHint(\"•••• 4567\")");
/// # Ok::<(), twofa_enforcement::PhoneHintError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneHint {
    // Only `len` trailing bytes are used; each is an ASCII digit.
    digits: [u8; 4],
    len: u8,
}

impl PhoneHint {
    /// A hint from the last 2 to 4 digits of a number, as the service
    /// stored them.
    ///
    /// # Errors
    ///
    /// [`PhoneHintError::WrongLength`] unless `digits` is 2 to 4 ASCII digits;
    /// [`PhoneHintError::InvalidCharacter`] if one is not a digit.
    pub fn from_last_digits(digits: &str) -> Result<Self, PhoneHintError> {
        let bytes = digits.as_bytes();
        if !(2..=4).contains(&bytes.len()) {
            return Err(PhoneHintError::WrongLength {
                len: digits.chars().count(),
            });
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(PhoneHintError::InvalidCharacter);
        }
        let mut hint = Self {
            digits: [b'0'; 4],
            len: 0,
        };
        for &b in bytes {
            hint.push(b);
        }
        Ok(hint)
    }

    /// A hint from a full phone number, keeping at most 4 digits and never
    /// more than half of them; the number itself is not kept.
    ///
    /// # Errors
    ///
    /// [`PhoneHintError::InvalidCharacter`] for a character other than a
    /// digit or `+ -.()` and space; [`PhoneHintError::TooFewDigits`] below 4
    /// digits; [`PhoneHintError::TooManyDigits`] above 15.
    pub fn from_number(number: &str) -> Result<Self, PhoneHintError> {
        let mut last = Self {
            digits: [b'0'; 4],
            len: 0,
        };
        let mut count = 0_usize;
        for b in number.bytes() {
            match b {
                b'0'..=b'9' => {
                    last.push(b);
                    count = count.saturating_add(1);
                }
                b'+' | b' ' | b'-' | b'.' | b'(' | b')' => {}
                _ => return Err(PhoneHintError::InvalidCharacter),
            }
        }
        if count < 4 {
            return Err(PhoneHintError::TooFewDigits { digits: count });
        }
        if count > MAX_PHONE_DIGITS {
            return Err(PhoneHintError::TooManyDigits { digits: count });
        }
        // Show at most half of the digits, and at most 4.
        last.len = u8::try_from((count / 2).min(4)).unwrap_or(2);
        Ok(last)
    }

    fn push(&mut self, digit: u8) {
        self.digits.rotate_left(1);
        if let Some(slot) = self.digits.last_mut() {
            *slot = digit;
        }
        self.len = self.len.saturating_add(1).min(4);
    }

    /// The digits shown, for example `4567`.
    #[must_use]
    pub fn digits(&self) -> &str {
        let start = 4_usize.saturating_sub(usize::from(self.len));
        self.digits
            .get(start..)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or_default()
    }
}

impl fmt::Display for PhoneHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.digits())
    }
}

impl fmt::Debug for PhoneHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneHint").field(&self.to_string()).finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PhoneHint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_hint_from_digits() {
        assert_eq!(
            PhoneHint::from_last_digits("4567").unwrap().digits(),
            "4567"
        );
        assert_eq!(
            PhoneHint::from_last_digits("67").unwrap().to_string(),
            "•••• 67"
        );
        assert_eq!(
            PhoneHint::from_last_digits("1"),
            Err(PhoneHintError::WrongLength { len: 1 })
        );
        assert_eq!(
            PhoneHint::from_last_digits("12345"),
            Err(PhoneHintError::WrongLength { len: 5 })
        );
        assert_eq!(
            PhoneHint::from_last_digits("12a"),
            Err(PhoneHintError::InvalidCharacter)
        );
    }

    #[test]
    fn phone_hint_from_number_shows_at_most_half() {
        assert_eq!(
            PhoneHint::from_number("+44 20 7946 0958").unwrap().digits(),
            "0958"
        );
        assert_eq!(PhoneHint::from_number("1234567").unwrap().digits(), "567");
        assert_eq!(PhoneHint::from_number("1234").unwrap().digits(), "34");
        assert_eq!(
            PhoneHint::from_number("123"),
            Err(PhoneHintError::TooFewDigits { digits: 3 })
        );
        assert_eq!(
            PhoneHint::from_number("1234567890123456"),
            Err(PhoneHintError::TooManyDigits { digits: 16 })
        );
        assert!(PhoneHint::from_number("123456789012345").is_ok());
        assert_eq!(
            PhoneHint::from_number("555-0100 ext 2"),
            Err(PhoneHintError::InvalidCharacter)
        );
    }
}
