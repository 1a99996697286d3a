//! The one-time code a user typed, parsed once at the edge.

use core::fmt;

use zeroize::Zeroize;

/// The fewest digits a one-time code has (RFC 4226 §5.3 requires at least
/// six).
pub const MIN_CODE_DIGITS: usize = 6;

/// The most digits a one-time code has: authenticator apps show 6 to 8,
/// out-of-band codes are at most 10 long.
pub const MAX_CODE_DIGITS: usize = 10;

/// The longest input looked at, in bytes, separators and surrounding white
/// space included; anything longer is refused unread.
pub const MAX_CODE_INPUT_LEN: usize = 64;

/// Why typed text is not a one-time code. Says what was wrong with the
/// input's shape, never what it contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CodeInputError {
    /// Nothing but white space was typed.
    #[error("no code was entered")]
    Empty,
    /// The input is longer than [`MAX_CODE_INPUT_LEN`] bytes.
    #[error("the input is longer than {max} bytes")]
    InputTooLong {
        /// [`MAX_CODE_INPUT_LEN`].
        max: usize,
    },
    /// A character other than a digit, a space or a hyphen.
    #[error("a code holds only digits, with spaces or hyphens between groups")]
    NotADigit,
    /// A space or hyphen that does not stand alone between two digits.
    #[error("a space or hyphen may only stand alone between two digits")]
    MisplacedSeparator,
    /// Fewer than [`MIN_CODE_DIGITS`] or more than [`MAX_CODE_DIGITS`]
    /// digits.
    #[error("a code has {min} to {max} digits, this one has {digits}")]
    DigitCount {
        /// The digits counted (up to `max + 1`: counting stops there).
        digits: usize,
        /// [`MIN_CODE_DIGITS`].
        min: usize,
        /// [`MAX_CODE_DIGITS`].
        max: usize,
    },
}

/// A one-time code as the user typed it, parsed into its digits.
///
/// Parsing is the same for every method (authenticator app, push token, SMS,
/// voice call, e-mail): white space around the input is ignored, and the
/// digits may be grouped the way apps display them, by single spaces or
/// hyphens (`123 456`, `123-456`, `1234 5678`). What remains must be 6 to 10
/// ASCII digits. Whether the number of digits fits a given method is decided
/// by that method's verifier. Recovery codes have a format of their own and
/// are not one-time codes.
///
/// # Security
///
/// The digits are wiped from memory on drop; `Debug` prints `[REDACTED]`;
/// there is no `Display` and no `==` (a verifier compares codes in constant
/// time). [`OneTimeCode::expose_secret`] is the one way to read them.
///
/// # Example
///
/// ```
/// use twofa_types::OneTimeCode;
///
/// let code = OneTimeCode::parse(" 123 456\n")?;
/// assert_eq!(code.expose_secret(), "123456");
/// assert_eq!(OneTimeCode::parse("123-456")?.expose_secret(), "123456");
/// assert!(OneTimeCode::parse("12 34").is_err());
/// # Ok::<(), twofa_types::CodeInputError>(())
/// ```
#[derive(Clone)]
pub struct OneTimeCode {
    digits: [u8; MAX_CODE_DIGITS],
    len: usize,
}

impl OneTimeCode {
    /// Parses typed text into a code.
    ///
    /// # Errors
    ///
    /// [`CodeInputError`] when the text is empty, too long, holds anything
    /// but digits and single inner separators, or has too few or too many
    /// digits. No input panics.
    pub fn parse(text: &str) -> Result<Self, CodeInputError> {
        if text.len() > MAX_CODE_INPUT_LEN {
            return Err(CodeInputError::InputTooLong {
                max: MAX_CODE_INPUT_LEN,
            });
        }
        let text = text.trim_ascii();
        if text.is_empty() {
            return Err(CodeInputError::Empty);
        }
        let mut code = Self {
            digits: [0; MAX_CODE_DIGITS],
            len: 0,
        };
        let mut after_digit = false;
        let mut count = 0usize;
        for byte in text.bytes() {
            match byte {
                b'0'..=b'9' => {
                    if let Some(slot) = code.digits.get_mut(count) {
                        *slot = byte;
                    }
                    count = count.saturating_add(1);
                    after_digit = true;
                }
                b' ' | b'-' if after_digit => after_digit = false,
                b' ' | b'-' => return Err(CodeInputError::MisplacedSeparator),
                _ => return Err(CodeInputError::NotADigit),
            }
        }
        // The trim leaves a digit or a hyphen at the end: a hyphen there
        // has no digit after it.
        if !after_digit {
            return Err(CodeInputError::MisplacedSeparator);
        }
        if !(MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&count) {
            return Err(CodeInputError::DigitCount {
                digits: count.min(MAX_CODE_DIGITS.saturating_add(1)),
                min: MIN_CODE_DIGITS,
                max: MAX_CODE_DIGITS,
            });
        }
        code.len = count;
        Ok(code)
    }

    /// The digits, without separators.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.digits
            .get(..self.len)
            .and_then(|digits| core::str::from_utf8(digits).ok())
            .unwrap_or("")
    }

    /// How many digits the code has (6 to 10).
    #[must_use]
    pub fn digit_count(&self) -> usize {
        self.len
    }
}

impl Drop for OneTimeCode {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_the_way_apps_display_them() {
        for text in [
            "123456",
            "123 456",
            "123-456",
            " 123456 ",
            "\t123 456\r\n",
            "1 2 3 4 5 6",
        ] {
            assert_eq!(
                OneTimeCode::parse(text).unwrap().expose_secret(),
                "123456",
                "{text:?}"
            );
        }
        assert_eq!(OneTimeCode::parse("1234 5678").unwrap().digit_count(), 8);
        assert_eq!(
            OneTimeCode::parse("0123456789").unwrap().expose_secret(),
            "0123456789"
        );
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        assert_eq!(OneTimeCode::parse("").unwrap_err(), CodeInputError::Empty);
        assert_eq!(
            OneTimeCode::parse("  \n").unwrap_err(),
            CodeInputError::Empty
        );
        assert_eq!(
            OneTimeCode::parse("12345a").unwrap_err(),
            CodeInputError::NotADigit
        );
        assert_eq!(
            OneTimeCode::parse("１２３４５６").unwrap_err(),
            CodeInputError::NotADigit
        );
        assert_eq!(
            OneTimeCode::parse("123\t456").unwrap_err(),
            CodeInputError::NotADigit
        );
        for text in ["123  456", "123 -456", "-123456", "123456-", "123--456"] {
            assert_eq!(
                OneTimeCode::parse(text).unwrap_err(),
                CodeInputError::MisplacedSeparator,
                "{text:?}"
            );
        }
        assert_eq!(
            OneTimeCode::parse("12345").unwrap_err(),
            CodeInputError::DigitCount {
                digits: 5,
                min: 6,
                max: 10
            }
        );
        assert_eq!(
            OneTimeCode::parse("12345678901").unwrap_err(),
            CodeInputError::DigitCount {
                digits: 11,
                min: 6,
                max: 10
            }
        );
        assert_eq!(
            OneTimeCode::parse(&"1".repeat(MAX_CODE_INPUT_LEN + 1)).unwrap_err(),
            CodeInputError::InputTooLong {
                max: MAX_CODE_INPUT_LEN
            }
        );
    }

    #[test]
    fn debug_hides_the_digits() {
        let code = OneTimeCode::parse("987654").unwrap();
        assert_eq!(format!("{code:?}"), "OneTimeCode([REDACTED])");
    }
}
