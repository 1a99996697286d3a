//! TOTP (RFC 6238).

use core::fmt;

use crate::code::Code;
use crate::error::{CodeRejected, TimeError};
use crate::mac::Keyed;
use crate::params::{Algorithm, Digits, Step, Window};
use crate::secret::Secret;
use crate::verify::{Tally, TotpAccepted, scan};

/// A TOTP key ready to generate and verify codes (RFC 6238).
///
/// Built once per secret: the HMAC key schedule is computed here and reused
/// by every [`Totp::generate`] and [`Totp::verify`], which then cost two
/// compression-function calls per candidate and allocate nothing.
///
/// Time is passed in as Unix seconds (`now`). With the `std` feature, the
/// `*_now` methods ([`Totp::generate_now`], [`Totp::verify_now`],
/// [`Totp::seconds_left_now`]) read the system clock and call the same
/// functions; nothing else reads a clock.
///
/// # Example
///
/// ```
/// use twofa_otp::{Algorithm, Secret, Totp, Window};
///
/// // RFC 6238 Appendix B, SHA-1, T = 59 s.
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let totp = Totp::new(&secret, Algorithm::Sha1).with_digits(twofa_otp::Digits::EIGHT);
/// assert_eq!(totp.generate(59)?.expose_secret().as_str(), "94287082");
///
/// let accepted = totp.verify("94287082", 59, None, Window::default()).expect("valid code");
/// assert_eq!((accepted.step, accepted.drift), (1, 0));
/// // The same code again is a replay.
/// assert!(totp.verify("94287082", 60, Some(accepted.step), Window::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    keyed: Keyed,
    algorithm: Algorithm,
    digits: Digits,
    step: Step,
    t0: u64,
}

impl Totp {
    /// A TOTP key with 6 digits, a 30 s step and T0 = 0 (RFC 6238 §4.1
    /// defaults); change them with the `with_*` methods.
    #[must_use]
    pub fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        Self {
            keyed: Keyed::new(secret, algorithm),
            algorithm,
            digits: Digits::default(),
            step: Step::default(),
            t0: 0,
        }
    }

    /// The same key with another digit count.
    #[must_use]
    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.digits = digits;
        self
    }

    /// The same key with another time step `X`.
    #[must_use]
    pub fn with_step(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    /// The same key with another T0, the Unix time at which step 0 starts.
    #[must_use]
    pub fn with_t0(mut self, t0: u64) -> Self {
        self.t0 = t0;
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

    /// The time step.
    #[must_use]
    pub fn step(&self) -> Step {
        self.step
    }

    /// T0, Unix seconds.
    #[must_use]
    pub fn t0(&self) -> u64 {
        self.t0
    }

    /// The time step containing `now`: `T = floor((now - T0) / X)`
    /// (RFC 6238 §4.2).
    ///
    /// # Errors
    ///
    /// [`TimeError::BeforeT0`] if `now < T0`.
    pub fn step_at(&self, now: u64) -> Result<u64, TimeError> {
        let elapsed = now
            .checked_sub(self.t0)
            .ok_or(TimeError::BeforeT0 { now, t0: self.t0 })?;
        // Step::seconds() is at least 1, so the division is defined.
        Ok(elapsed.checked_div(self.step.seconds()).unwrap_or(0))
    }

    /// The Unix time at which `step` starts, or `None` if that is beyond
    /// `u64::MAX`.
    #[must_use]
    pub fn step_start(&self, step: u64) -> Option<u64> {
        step.checked_mul(self.step.seconds())?.checked_add(self.t0)
    }

    /// The seconds from `now` until the next step starts: from `X` at the
    /// first second of a step down to 1 at its last, as an authenticator app
    /// counts down.
    ///
    /// # Errors
    ///
    /// [`TimeError::BeforeT0`] if `now < T0`.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_otp::{Algorithm, Secret, Totp};
    ///
    /// let totp = Totp::new(&Secret::from_bytes(&[7; 20])?, Algorithm::Sha1);
    /// assert_eq!(totp.seconds_left_at(1_699_999_980)?, 30); // a step starts
    /// assert_eq!(totp.seconds_left_at(1_699_999_990)?, 20); // 10 s later
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seconds_left_at(&self, now: u64) -> Result<u64, TimeError> {
        let elapsed = now
            .checked_sub(self.t0)
            .ok_or(TimeError::BeforeT0 { now, t0: self.t0 })?;
        // X - ((now - T0) mod X) is in 1..=X: no overflow, even where the
        // next step would start beyond u64::MAX.
        let into_step = elapsed.checked_rem(self.step.seconds()).unwrap_or(0);
        Ok(self.step.seconds().saturating_sub(into_step))
    }

    /// The code for the step containing `now`.
    ///
    /// # Errors
    ///
    /// [`TimeError::BeforeT0`] if `now < T0`.
    pub fn generate(&self, now: u64) -> Result<Code, TimeError> {
        Ok(self.generate_at_step(self.step_at(now)?))
    }

    /// The code for time step `step`.
    #[must_use]
    pub fn generate_at_step(&self, step: u64) -> Code {
        Code::from_value(self.digits.reduce(self.keyed.truncated(step)), self.digits)
    }

    /// Verifies a code typed by a user.
    ///
    /// The code is parsed strictly (exactly [`Totp::digits`] ASCII digits).
    /// It is compared with the codes of every step from `behind` steps
    /// before the current one to `ahead` steps after it; steps that do not
    /// exist (before step 0, after step `u64::MAX`) are skipped. A step at
    /// or below `last_accepted` is never accepted (RFC 6238 §5.2: a code is
    /// used once).
    ///
    /// # Errors
    ///
    /// - [`CodeRejected::Malformed`]: not a well-formed code; no HMAC computed.
    /// - [`CodeRejected::BeforeT0`]: `now` is before T0.
    /// - [`CodeRejected::Replayed`]: the code matched only steps at or below
    ///   `last_accepted`.
    /// - [`CodeRejected::OutOfWindow`]: no step in the window matched.
    ///
    /// # Security
    ///
    /// Every candidate of the window is computed and compared in constant
    /// time, without early exit; which candidate matched is folded into
    /// masks (`subtle`), and only the final outcome is branched on. On
    /// acceptance, the highest matching step is returned, so that storing it
    /// rules out every other use of the same code. Store it with a
    /// compare-and-swap on the previous value.
    pub fn verify(
        &self,
        code: &str,
        now: u64,
        last_accepted: Option<u64>,
        window: Window,
    ) -> Result<TotpAccepted, CodeRejected> {
        let code = Code::parse(code, self.digits)?;
        self.verify_code(&code, now, last_accepted, window)
    }

    /// [`Totp::verify`] for an already parsed code.
    ///
    /// # Errors
    ///
    /// As [`Totp::verify`]; a code with another digit count is
    /// [`CodeRejected::Malformed`].
    pub fn verify_code(
        &self,
        code: &Code,
        now: u64,
        last_accepted: Option<u64>,
        window: Window,
    ) -> Result<TotpAccepted, CodeRejected> {
        if code.digits() != self.digits {
            return Err(CodeRejected::Malformed(crate::CodeError::WrongLength {
                expected: self.digits,
                found: usize::from(code.digits().get()),
            }));
        }
        let current = self.step_at(now).map_err(|_| CodeRejected::BeforeT0)?;
        let first = current.saturating_sub(u64::from(window.behind()));
        let last = current.saturating_add(u64::from(window.ahead()));
        let mut tally = Tally::new(code.value());
        scan(&self.keyed, self.digits, first, last, |step, value| {
            let fresh = last_accepted.is_none_or(|floor| step > floor);
            tally.visit(step, value, fresh);
        });
        if bool::from(tally.accepted) {
            let step = tally.counter;
            // |step - current| <= Window::MAX_SIDE, so both casts are exact.
            let drift = if step >= current {
                i64::try_from(step.wrapping_sub(current)).unwrap_or(i64::MAX)
            } else {
                i64::try_from(current.wrapping_sub(step)).map_or(i64::MIN, |d| d.wrapping_neg())
            };
            Ok(TotpAccepted { step, drift })
        } else if bool::from(tally.replayed) {
            Err(CodeRejected::Replayed)
        } else {
            Err(CodeRejected::OutOfWindow)
        }
    }
}

/// Conveniences that read the system clock (feature `std`).
///
/// Each reads [`SystemTime::now`](std::time::SystemTime::now) once and calls
/// the function that takes the time as an argument, which is where the
/// behaviour is defined and tested. Code that must be testable at any
/// instant, or that runs in a service with its own clock, calls those
/// directly.
#[cfg(feature = "std")]
impl Totp {
    /// [`Totp::generate`] at the system clock's current time.
    ///
    /// # Errors
    ///
    /// [`TimeError::ClockBeforeEpoch`] if the clock reads before 1970,
    /// [`TimeError::BeforeT0`] before T0.
    pub fn generate_now(&self) -> Result<Code, TimeError> {
        self.generate(unix_now()?)
    }

    /// [`Totp::verify`] at the system clock's current time, with the same
    /// replay guard: a step at or below `last_accepted` is never accepted,
    /// and the accepted step must be stored.
    ///
    /// # Errors
    ///
    /// As [`Totp::verify`]; a clock that reads before 1970 is
    /// [`CodeRejected::BeforeT0`] (T0 is never before 1970).
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_otp::{Algorithm, CodeRejected, Secret, Totp, Window};
    ///
    /// let totp = Totp::new(&Secret::from_bytes(&[7; 20])?, Algorithm::Sha1);
    /// let code = totp.generate_now()?.expose_secret();
    /// let accepted = totp.verify_now(code.as_str(), None, Window::default())?;
    /// // Store accepted.step; the same code is then refused.
    /// assert_eq!(
    ///     totp.verify_now(code.as_str(), Some(accepted.step), Window::default()),
    ///     Err(CodeRejected::Replayed)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_now(
        &self,
        code: &str,
        last_accepted: Option<u64>,
        window: Window,
    ) -> Result<TotpAccepted, CodeRejected> {
        let now = unix_now().map_err(|_| CodeRejected::BeforeT0)?;
        self.verify(code, now, last_accepted, window)
    }

    /// [`Totp::seconds_left_at`] at the system clock's current time.
    ///
    /// # Errors
    ///
    /// As [`Totp::generate_now`].
    pub fn seconds_left_now(&self) -> Result<u64, TimeError> {
        self.seconds_left_at(unix_now()?)
    }
}

/// The system clock in whole Unix seconds.
#[cfg(feature = "std")]
fn unix_now() -> Result<u64, TimeError> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|_| TimeError::ClockBeforeEpoch)
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits.get())
            .field("step", &self.step.seconds())
            .field("t0", &self.t0)
            .field("key", &format_args!("[REDACTED]"))
            .finish()
    }
}
