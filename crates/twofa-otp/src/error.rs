//! Error and rejection types.
//!
//! Configuration mistakes (a caller bug) are detailed. Errors from untrusted
//! input carry positions and lengths, never the input itself: a base32
//! secret or a code must not reach a log through an error message.

use crate::params::Digits;

/// An invalid parameter value: a caller or configuration mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Codes have 6, 7 or 8 digits.
    #[error("digits must be 6, 7 or 8, got {digits}")]
    DigitsOutOfRange {
        /// The refused digit count.
        digits: u32,
    },
    /// The TOTP step is 1 to 120 seconds.
    #[error("time step must be 1 to 120 seconds, got {seconds}")]
    StepOutOfRange {
        /// The refused step length.
        seconds: u64,
    },
    /// A TOTP window side exceeds the maximum.
    #[error("window must be at most 10 steps each side, got {behind} behind and {ahead} ahead")]
    WindowTooLarge {
        /// The requested steps behind.
        behind: u32,
        /// The requested steps ahead.
        ahead: u32,
    },
    /// The HOTP look-ahead exceeds the maximum.
    #[error("look-ahead must be at most 100 counters, got {counters}")]
    LookAheadTooLarge {
        /// The requested look-ahead.
        counters: u32,
    },
    /// The HOTP resync window is zero or exceeds the maximum.
    #[error("resync window must be 1 to 10000 counters, got {counters}")]
    ResyncWindowOutOfRange {
        /// The requested window.
        counters: u32,
    },
    /// An algorithm name other than `SHA1`, `SHA256`, `SHA512`.
    #[error("algorithm must be SHA1, SHA256 or SHA512")]
    UnknownAlgorithm,
}

/// A malformed base32 text (RFC 4648 §6).
///
/// Positions count characters (not bytes) from 0 in the text as given,
/// including ignored spaces and hyphens. The offending character itself is
/// never included: the text is usually a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base32Error {
    /// A character outside the base32 alphabet, spaces, hyphens and trailing
    /// padding.
    #[error("invalid base32 character at position {position}")]
    InvalidCharacter {
        /// Character position of the offending character.
        position: usize,
    },
    /// A `=` followed by something other than `=` (padding only ends a text).
    #[error("base32 padding at position {position} is not at the end")]
    MisplacedPadding {
        /// Character position of the first `=`.
        position: usize,
    },
    /// The number of symbols cannot come from whole bytes (1, 3 or 6
    /// symbols in the last group).
    #[error("base32 text has an impossible length of {symbols} symbols")]
    InvalidLength {
        /// Number of alphabet symbols found.
        symbols: usize,
    },
    /// The last symbol carries non-zero bits that no byte uses
    /// (RFC 4648 §3.5: such text is not canonical and is refused so that one
    /// secret has exactly one encoding).
    #[error("base32 text has non-zero trailing bits at position {position}")]
    NonCanonical {
        /// Character position of the last symbol.
        position: usize,
    },
    /// The decoded bytes do not fit the output buffer.
    #[error("base32 text decodes to more than {capacity} bytes")]
    TooLong {
        /// The output capacity in bytes.
        capacity: usize,
    },
}

/// Why a secret was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Below 128 bits: a legacy length of 80 bits or more is accepted only by
    /// the constructors named `*_weak`.
    #[error("secret of {bits} bits is below the 128-bit minimum")]
    TooShort {
        /// The secret length in bits.
        bits: usize,
    },
    /// Below 80 bits: refused even by the `*_weak` constructors
    /// (RFC 4226 §4 R6 requires at least 128 bits and recommends 160; 80 is
    /// the legacy floor real sites still issue).
    #[error("secret of {bits} bits is below the 80-bit legacy minimum")]
    TooWeak {
        /// The secret length in bits.
        bits: usize,
    },
    /// Above the maximum length.
    #[error("secret of {bytes} bytes is longer than the {max}-byte maximum")]
    TooLong {
        /// The secret length in bytes.
        bytes: usize,
        /// The maximum, [`crate::Secret::MAX_BYTES`].
        max: usize,
    },
    /// The base32 text is malformed.
    #[error("invalid base32 secret: {0}")]
    Base32(#[from] Base32Error),
}

/// Why a code text was refused before any HMAC was computed.
///
/// Says what was wrong with the shape, never which digits were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The text is empty.
    #[error("code is empty")]
    Empty,
    /// The text has the wrong number of characters.
    #[error("code must have {expected} digits, got {found} characters")]
    WrongLength {
        /// The digits the key uses.
        expected: Digits,
        /// The characters found.
        found: usize,
    },
    /// A character that is not an ASCII digit `0`–`9`.
    #[error("code has a non-digit character at position {position}")]
    NotADigit {
        /// Character position of the first offending character.
        position: usize,
    },
}

/// A time that no TOTP step covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// `now` is before the key's T0 (RFC 6238 §4.1), where steps are not
    /// defined.
    #[error("time {now} is before t0 {t0}")]
    BeforeT0 {
        /// The time given, Unix seconds.
        now: u64,
        /// The key's T0, Unix seconds.
        t0: u64,
    },
    /// The system clock reads before the Unix epoch (the `*_now` methods).
    #[error("system clock is before 1970")]
    ClockBeforeEpoch,
}

/// Why a code was not accepted.
///
/// The variants are detailed for the audit trail; tell the end user only
/// that the code was not accepted.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeRejected {
    /// The code text is not `digits` ASCII digits.
    #[error("malformed code: {0}")]
    Malformed(#[from] CodeError),
    /// No candidate in the window matched.
    #[error("code does not match any step or counter in the window")]
    OutOfWindow,
    /// The code matched only steps at or before the last accepted step: it
    /// was already used (RFC 6238 §5.2 "one-time").
    #[error("code was already used")]
    Replayed,
    /// `now` is before the key's T0.
    #[error("time is before t0")]
    BeforeT0,
    /// HOTP resynchronisation: both codes matched within the window, but
    /// not as a consecutive pair in the given order (RFC 4226 §7.4).
    #[error("resync codes are not consecutive")]
    NotConsecutive,
}
