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
        // All 8 digits of the value (< 10^8) are rendered, the leading ones
        // dropped by `start`. Splitting into halves and pairs keeps the
        // divisions by constants independent (short dependency chains) and
        // branch-free; no table is indexed by a digit.
        let value = self.value;
        let (high, low) = (value / 10_000 % 10_000, value % 10_000);
        let pairs = [high / 100, high % 100, low / 100, low % 100];
        let mut bytes = [b'0'; 8];
        for (slot, pair) in bytes.chunks_exact_mut(2).zip(pairs) {
            let tens = u8::try_from(pair / 10).unwrap_or(0);
            let ones = u8::try_from(pair % 10).unwrap_or(0);
            slot.copy_from_slice(&[b'0'.wrapping_add(tens), b'0'.wrapping_add(ones)]);
        }
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
        let digits = self.bytes.get(usize::from(self.start)..).unwrap_or(&[]);
        // Only ASCII digits are ever written.
        core::str::from_utf8(digits).unwrap_or("")
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
