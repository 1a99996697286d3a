//! One-time codes: strict parsing, redacted printing, explicit rendering.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::CodeError;
use crate::params::Digits;

/// A one-time code of 6, 7 or 8 decimal digits.
///
/// Parsed strictly from text ([`Code::parse`]) or produced by
/// [`crate::Totp::generate`] and [`crate::Hotp::generate`].
///
/// # Security
///
/// A code grants a login for as long as it is valid, so it is treated like a
/// secret: `Debug` prints only the digit count, there is no `Display` (so a
/// code cannot reach a log through `{}` by accident) and no `PartialEq`
/// ([`Code::ct_eq`] compares in constant time). To show or send a generated
/// code, call [`Code::expose_secret`], which renders it zero-padded.
/// The value is wiped when dropped.
///
/// # Example
///
/// ```
/// use twofa_otp::{Code, Digits};
///
/// let code = Code::parse("003406", Digits::SIX)?;
/// assert_eq!(code.expose_secret().as_str(), "003406");
/// assert_eq!(format!("{code:?}"), "Code { digits: 6, value: [REDACTED] }");
/// assert!(Code::parse("+03406", Digits::SIX).is_err());
/// # Ok::<(), twofa_otp::CodeError>(())
/// ```
#[derive(Clone)]
pub struct Code {
    value: u32,
    digits: Digits,
}

impl Code {
    /// Parses exactly `digits` ASCII digits: no sign, no spaces, no other
    /// Unicode digits, no extra leading zero.
    ///
    /// # Errors
    ///
    /// [`CodeError::Empty`], [`CodeError::WrongLength`] or
    /// [`CodeError::NotADigit`]; none of them contains the text.
    pub fn parse(text: &str, digits: Digits) -> Result<Self, CodeError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(CodeError::Empty);
        }
        let expected = usize::from(digits.get());
        // Validate every character before looking at the length, so that a
        // sign or a space is reported as such rather than as a length.
        let mut value: u32 = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            if !byte.is_ascii_digit() {
                return Err(CodeError::NotADigit {
                    position: text.get(..index).map_or(index, |head| head.chars().count()),
                });
            }
            // At most 8 digits are accumulated (the length is checked below
            // before the value is used), so wrapping never happens for a
            // value that is kept.
            value = value
                .wrapping_mul(10)
                .wrapping_add(u32::from(byte.wrapping_sub(b'0')));
        }
        if bytes.len() != expected {
            value.zeroize();
            return Err(CodeError::WrongLength {
                expected: digits,
                found: bytes.len(),
            });
        }
        Ok(Self { value, digits })
    }

    /// A code from its numeric value, which must be below `10^digits`.
    pub(crate) const fn from_value(value: u32, digits: Digits) -> Self {
        Self { value, digits }
    }

    /// The numeric value, for the verification comparison.
    pub(crate) const fn value(&self) -> u32 {
        self.value
    }

    /// The number of digits.
    #[must_use]
    pub const fn digits(&self) -> Digits {
        self.digits
    }

    /// The code rendered as text, zero-padded to its digit count
    /// (`000000`, `003406`).
    ///
    /// # Security
    ///
    /// The returned text is the code; show or send it only to its owner.
    #[must_use]
    pub fn expose_secret(&self) -> CodeText {
        // All 8 digits of the value (< 10^8) are rendered at once, the
        // leading ones dropped by `start`: the value is split into lanes of
        // a u64 (two 4-digit halves, then four 2-digit pairs, then eight
        // digits), each split being a multiplication by a fixed-point
        // reciprocal. Branch-free and without a table indexed by a digit.
        let value = u64::from(self.value);
        let high = value / 10_000;
        // Lanes of 32 bits: [high, low].
        let halves = high | (value.wrapping_sub(high.wrapping_mul(10_000)) << 32);
        // n * 10486 >> 20 == n / 100 for n < 10_000; lanes of 16 bits.
        let hundreds = (halves.wrapping_mul(10_486) >> 20) & 0x0000_007f_0000_007f;
        let pairs = hundreds | (halves.wrapping_sub(hundreds.wrapping_mul(100)) << 16);
        // n * 103 >> 10 == n / 10 for n < 100; lanes of 8 bits.
        let tens = (pairs.wrapping_mul(103) >> 10) & 0x000f_000f_000f_000f;
        let digits = tens | (pairs.wrapping_sub(tens.wrapping_mul(10)) << 8);
        let bytes = (digits | 0x3030_3030_3030_3030).to_le_bytes();
        CodeText {
            bytes,
            start: 8u8.saturating_sub(self.digits.get()),
        }
    }

    /// Constant-time equality of two codes (digit counts, which are not
    /// secret, are compared first).
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.digits == other.digits && bool::from(self.value.ct_eq(&other.value))
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Code {}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code")
            .field("digits", &self.digits.get())
            .field("value", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// A code rendered as zero-padded ASCII digits, on the stack.
///
/// Obtained only from [`Code::expose_secret`]. `Display` and
/// [`CodeText::as_str`] give the digits; `Debug` is redacted. Wiped when
/// dropped.
#[derive(Clone)]
pub struct CodeText {
    /// Eight ASCII digits; the code is `bytes[start..]`.
    bytes: [u8; 8],
    start: u8,
}

impl CodeText {
    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever written, so validation succeeds and every
        // index is a character boundary.
        core::str::from_utf8(&self.bytes)
            .ok()
            .and_then(|all| all.get(usize::from(self.start)..))
            .unwrap_or("")
    }
}

impl fmt::Display for CodeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CodeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeText([REDACTED])")
    }
}

impl AsRef<str> for CodeText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Drop for CodeText {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for CodeText {}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "alloc")]
    use alloc::format;

    #[test]
    fn strict_parse() {
        let six = Digits::SIX;
        assert_eq!(Code::parse("287082", six).unwrap().value(), 287_082);
        assert_eq!(Code::parse("000000", six).unwrap().value(), 0);
        assert_eq!(Code::parse("", six).err(), Some(CodeError::Empty));
        assert_eq!(
            Code::parse("+287082", six).err(),
            Some(CodeError::NotADigit { position: 0 })
        );
        assert_eq!(
            Code::parse(" 287082", six).err(),
            Some(CodeError::NotADigit { position: 0 })
        );
        assert_eq!(
            Code::parse("287082 ", six).err(),
            Some(CodeError::NotADigit { position: 6 })
        );
        assert_eq!(
            Code::parse("0287082", six).err(),
            Some(CodeError::WrongLength {
                expected: six,
                found: 7
            })
        );
        // Arabic-Indic digit five (U+0665) is a digit, but not an ASCII one.
        assert_eq!(
            Code::parse("28708\u{665}", six).err(),
            Some(CodeError::NotADigit { position: 5 })
        );
        // A very long digit string wraps internally but is refused by length.
        assert!(matches!(
            Code::parse("99999999999999999999", six),
            Err(CodeError::WrongLength { found: 20, .. })
        ));
    }

    #[test]
    fn rendering_matches_decimal_formatting() {
        let values = (0..100_000u32)
            .chain((0..100_000_000u32).step_by(9_973))
            .chain([99_999_999, 10_000_000, 9_999_999, 1_000_000, 999_999]);
        for value in values {
            let code = Code::from_value(value, Digits::EIGHT);
            assert_eq!(code.expose_secret().as_str(), format!("{value:08}"));
            let six = Code::from_value(value % 1_000_000, Digits::SIX);
            assert_eq!(
                six.expose_secret().as_str(),
                format!("{:06}", value % 1_000_000)
            );
        }
    }

    #[test]
    fn renders_zero_padded() {
        assert_eq!(
            Code::from_value(0, Digits::SIX).expose_secret().as_str(),
            "000000"
        );
        assert_eq!(
            Code::from_value(3406, Digits::SIX).expose_secret().as_str(),
            "003406"
        );
        assert_eq!(
            Code::from_value(12, Digits::EIGHT).expose_secret().as_str(),
            "00000012"
        );
    }
}
