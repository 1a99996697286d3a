//! HOTP (RFC 4226).

use core::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::code::Code;
use crate::error::CodeRejected;
use crate::mac::Keyed;
use crate::params::{Algorithm, Digits, LookAhead, ResyncWindow};
use crate::secret::Secret;
use crate::verify::{HotpAccepted, Tally, scan};

/// An HOTP key ready to generate and verify codes (RFC 4226).
///
/// The HMAC key schedule is computed once, here; every code then costs two
/// compression-function calls and no allocation.
///
/// # Example
///
/// ```
/// use twofa_otp::{Algorithm, Hotp, LookAhead, Secret};
///
/// // RFC 4226 Appendix D.
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let hotp = Hotp::new(&secret, Algorithm::Sha1);
/// assert_eq!(hotp.generate(1).expose_secret().as_str(), "287082");
///
/// // The server expects counter 0; the device is one press ahead.
/// let accepted = hotp.verify("287082", 0, LookAhead::default()).expect("valid code");
/// assert_eq!(accepted.counter, 1);
/// assert_eq!(accepted.next_counter, Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Hotp {
    keyed: Keyed,
    algorithm: Algorithm,
    digits: Digits,
}

impl Hotp {
    /// An HOTP key with 6 digits (RFC 4226 §5.3 default).
    #[must_use]
    pub fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        Self {
            keyed: Keyed::new(secret, algorithm),
            algorithm,
            digits: Digits::default(),
        }
    }

    /// The same key with another digit count.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.digits = digits;
        self
    }

    /// The HMAC algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The digit count.
    #[must_use]
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The code for `counter` (RFC 4226 §5.3).
    #[must_use]
    pub fn generate(&self, counter: u64) -> Code {
        Code::from_value(
            self.digits.reduce(self.keyed.truncated(counter)),
            self.digits,
        )
    }

    /// Verifies a code against the expected `counter` and the
    /// `look_ahead` counters after it (RFC 4226 §7.4), stopping at
    /// `u64::MAX`.
    ///
    /// # Errors
    ///
    /// [`CodeRejected::Malformed`] for a malformed code (no HMAC computed),
    /// [`CodeRejected::OutOfWindow`] if no counter matched.
    ///
    /// # Security
    ///
    /// All candidates are computed and compared in constant time without
    /// early exit. If several counters match (a collision), the highest is
    /// accepted, so the stored next counter passes every use of this code.
    pub fn verify(
        &self,
        code: &str,
        counter: u64,
        look_ahead: LookAhead,
    ) -> Result<HotpAccepted, CodeRejected> {
        let code = Code::parse(code, self.digits)?;
        self.verify_code(&code, counter, look_ahead)
    }

    /// [`Hotp::verify`] for an already parsed code.
    ///
    /// # Errors
    ///
    /// As [`Hotp::verify`]; a code with another digit count is
    /// [`CodeRejected::Malformed`].
    pub fn verify_code(
        &self,
        code: &Code,
        counter: u64,
        look_ahead: LookAhead,
    ) -> Result<HotpAccepted, CodeRejected> {
        self.check_digits(code)?;
        let last = counter.saturating_add(u64::from(look_ahead.get()));
        let mut tally = Tally::new(code.value());
        scan(&self.keyed, self.digits, counter, last, |c, value| {
            tally.visit(c, value, true);
        });
        if bool::from(tally.accepted) {
            Ok(accepted(tally.counter))
        } else {
            Err(CodeRejected::OutOfWindow)
        }
    }

    /// Resynchronises a counter from two consecutive codes, as RFC 4226
    /// §7.4 describes: the first code must match some counter `c` in
    /// `counter .. counter + window` and the second code `c + 1`.
    ///
    /// On success the returned counter is the one of the second code, and
    /// `next_counter` is the counter to store.
    ///
    /// # Errors
    ///
    /// - [`CodeRejected::Malformed`] if either code is malformed.
    /// - [`CodeRejected::NotConsecutive`] if both codes matched within the
    ///   window but not as a consecutive pair in this order (reversed, or
    ///   with a gap).
    /// - [`CodeRejected::OutOfWindow`] otherwise.
    ///
    /// # Security
    ///
    /// The whole window is computed and compared in constant time; the cost
    /// is `window + 1` HMACs whatever the codes are. A resync gives an
    /// attacker `window` chances at once, so require it rarely and only
    /// after another form of authentication.
    pub fn resync(
        &self,
        first: &str,
        second: &str,
        counter: u64,
        window: ResyncWindow,
    ) -> Result<HotpAccepted, CodeRejected> {
        let first = Code::parse(first, self.digits)?;
        let second = Code::parse(second, self.digits)?;
        // The first code is searched in counter ..= counter + window - 1,
        // the second one counter later.
        let last = counter.saturating_add(u64::from(window.get()));
        let (code1, code2) = (first.value(), second.value());
        let mut previous_matched_first = Choice::from(0);
        let mut found = Choice::from(0);
        let mut any_first = Choice::from(0);
        let mut any_second = Choice::from(0);
        let mut matched: u64 = 0;
        scan(&self.keyed, self.digits, counter, last, |c, value| {
            let is_first = value.ct_eq(&code1);
            let is_second = value.ct_eq(&code2);
            let pair = previous_matched_first & is_second;
            matched = u64::conditional_select(&matched, &c, pair);
            found |= pair;
            // The last counter is only a candidate for the second code.
            let first_allowed = Choice::from(u8::from(c != last));
            any_first |= is_first & first_allowed;
            any_second |= is_second;
            previous_matched_first = is_first & first_allowed;
        });
        if bool::from(found) {
            Ok(accepted(matched))
        } else if bool::from(any_first & any_second) {
            Err(CodeRejected::NotConsecutive)
        } else {
            Err(CodeRejected::OutOfWindow)
        }
    }

    fn check_digits(&self, code: &Code) -> Result<(), CodeRejected> {
        if code.digits() == self.digits {
            Ok(())
        } else {
            Err(CodeRejected::Malformed(crate::CodeError::WrongLength {
                expected: self.digits,
                found: usize::from(code.digits().get()),
            }))
        }
    }
}

fn accepted(counter: u64) -> HotpAccepted {
    HotpAccepted {
        counter,
        next_counter: counter.checked_add(1),
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits.get())
            .field("key", &format_args!("[REDACTED]"))
            .finish()
    }
}
