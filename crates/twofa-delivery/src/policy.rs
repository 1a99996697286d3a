//! The policy values that fix lifetimes, limits and which
//! channels an integrator allows.

use chrono::TimeDelta;
use twofa_types::ChannelSet;

/// A misconfigured policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryPolicyError {
    /// The code length is outside 6 to 10 digits.
    #[error("code length must be 6 to 10 digits, got {digits}")]
    CodeLengthOutOfRange {
        /// The length given.
        digits: u8,
    },
    /// A lifetime or window is zero, negative or longer than a day.
    #[error("{what} must be more than zero and at most 24 hours")]
    DurationOutOfRange {
        /// Which setting.
        what: &'static str,
    },
    /// A cooldown is negative or longer than a day.
    #[error("resend cooldown must be zero to 24 hours")]
    CooldownOutOfRange,
    /// A count limit is zero or above 100.
    #[error("{what} must be 1 to 100, got {value}")]
    LimitOutOfRange {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: u32,
    },
}

/// Number of digits of an out-of-band code: 6 (the default) to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct CodeLength {
    digits: u8,
}

impl CodeLength {
    /// Shortest length: 6 digits, the floor NIST SP 800-63B-4 §3.1.3.1 sets
    /// for out-of-band secrets that are typed in.
    pub const MIN: u8 = 6;
    /// Longest length: 10 digits keeps 10^digits below 2^64 with room to
    /// spare for unbiased sampling.
    pub const MAX: u8 = 10;

    /// Validates a length.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::CodeLengthOutOfRange`] outside 6 to 10.
    pub const fn new(digits: u8) -> Result<Self, DeliveryPolicyError> {
        if digits < Self::MIN || digits > Self::MAX {
            return Err(DeliveryPolicyError::CodeLengthOutOfRange { digits });
        }
        Ok(Self { digits })
    }

    /// The number of digits.
    #[must_use]
    pub const fn digits(self) -> u8 {
        self.digits
    }

    /// 10^digits, the number of distinct codes.
    #[must_use]
    pub const fn modulus(self) -> u64 {
        10u64.pow(self.digits as u32)
    }
}

impl Default for CodeLength {
    /// 6 digits, as the portal sends.
    fn default() -> Self {
        Self { digits: Self::MIN }
    }
}

impl TryFrom<u8> for CodeLength {
    type Error = DeliveryPolicyError;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<CodeLength> for u8 {
    fn from(value: CodeLength) -> Self {
        value.digits
    }
}

const MAX_LIMIT: u32 = 100;

fn day() -> TimeDelta {
    TimeDelta::days(1)
}

fn check_window(what: &'static str, value: TimeDelta) -> Result<TimeDelta, DeliveryPolicyError> {
    if value <= TimeDelta::zero() || value > day() {
        return Err(DeliveryPolicyError::DurationOutOfRange { what });
    }
    Ok(value)
}

fn check_limit(what: &'static str, value: u32) -> Result<u32, DeliveryPolicyError> {
    if value == 0 || value > MAX_LIMIT {
        return Err(DeliveryPolicyError::LimitOutOfRange { what, value });
    }
    Ok(value)
}

/// Lifetimes and limits of out-of-band code challenges.
///
/// Defaults ([`ChallengePolicy::default`]): 6-digit codes, valid 10 minutes
/// from each send, at most 5 wrong checks per challenge, a 30-second
/// cooldown between sends, at most 5 sends per challenge, every channel
/// enabled.
///
/// # Example
///
/// ```
/// use chrono::TimeDelta;
/// use twofa_delivery::{ChallengePolicy, CodeLength};
/// use twofa_types::{Channel, ChannelSet};
///
/// let policy = ChallengePolicy::default()
///     .with_code_length(CodeLength::new(8)?)
///     .with_lifetime(TimeDelta::minutes(5))?
///     .with_enabled_channels(ChannelSet::all().without(Channel::Email));
/// assert_eq!(policy.max_failed_checks(), 5);
/// # Ok::<(), twofa_delivery::DeliveryPolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChallengePolicy {
    code_length: CodeLength,
    lifetime: TimeDelta,
    max_failed_checks: u32,
    resend_cooldown: TimeDelta,
    max_sends: u32,
    enabled_channels: ChannelSet,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        Self {
            code_length: CodeLength::default(),
            lifetime: TimeDelta::minutes(10),
            max_failed_checks: 5,
            resend_cooldown: TimeDelta::seconds(30),
            max_sends: 5,
            enabled_channels: ChannelSet::all(),
        }
    }
}

impl ChallengePolicy {
    /// Sets the code length.
    #[must_use]
    pub fn with_code_length(mut self, code_length: CodeLength) -> Self {
        self.code_length = code_length;
        self
    }

    /// Sets how long a code stays valid after it is sent.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::DurationOutOfRange`] unless more than zero and at most
    /// 24 hours.
    pub fn with_lifetime(mut self, lifetime: TimeDelta) -> Result<Self, DeliveryPolicyError> {
        self.lifetime = check_window("code lifetime", lifetime)?;
        Ok(self)
    }

    /// Sets how many wrong checks a challenge tolerates; the next check is
    /// refused without being evaluated.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::LimitOutOfRange`] outside 1 to 100.
    pub fn with_max_failed_checks(mut self, max: u32) -> Result<Self, DeliveryPolicyError> {
        self.max_failed_checks = check_limit("max failed checks", max)?;
        Ok(self)
    }

    /// Sets the minimum time between two sends of one challenge.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::CooldownOutOfRange`] when negative or above 24 hours.
    pub fn with_resend_cooldown(
        mut self,
        cooldown: TimeDelta,
    ) -> Result<Self, DeliveryPolicyError> {
        if cooldown < TimeDelta::zero() || cooldown > day() {
            return Err(DeliveryPolicyError::CooldownOutOfRange);
        }
        self.resend_cooldown = cooldown;
        Ok(self)
    }

    /// Sets how many sends (the first one included) a challenge allows.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::LimitOutOfRange`] outside 1 to 100.
    pub fn with_max_sends(mut self, max: u32) -> Result<Self, DeliveryPolicyError> {
        self.max_sends = check_limit("max sends", max)?;
        Ok(self)
    }

    /// Sets the channels codes may be sent through; using any other is
    /// refused with a typed error.
    #[must_use]
    pub fn with_enabled_channels(mut self, channels: ChannelSet) -> Self {
        self.enabled_channels = channels;
        self
    }

    /// The code length.
    #[must_use]
    pub fn code_length(&self) -> CodeLength {
        self.code_length
    }

    /// How long a code stays valid after it is sent.
    #[must_use]
    pub fn lifetime(&self) -> TimeDelta {
        self.lifetime
    }

    /// How many wrong checks a challenge tolerates.
    #[must_use]
    pub fn max_failed_checks(&self) -> u32 {
        self.max_failed_checks
    }

    /// Minimum time between two sends.
    #[must_use]
    pub fn resend_cooldown(&self) -> TimeDelta {
        self.resend_cooldown
    }

    /// Most sends per challenge, the first included.
    #[must_use]
    pub fn max_sends(&self) -> u32 {
        self.max_sends
    }

    /// The channels codes may be sent through.
    #[must_use]
    pub fn enabled_channels(&self) -> ChannelSet {
        self.enabled_channels
    }
}

/// Lifetimes and limits of push approval requests.
///
/// Defaults ([`PushPolicy::default`]): a request expires after 2 minutes; at
/// most 3 prompts per user in any 10-minute window; push enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PushPolicy {
    lifetime: TimeDelta,
    max_prompts: u32,
    window: TimeDelta,
    enabled_channels: ChannelSet,
}

impl Default for PushPolicy {
    fn default() -> Self {
        Self {
            lifetime: TimeDelta::minutes(2),
            max_prompts: 3,
            window: TimeDelta::minutes(10),
            enabled_channels: ChannelSet::all(),
        }
    }
}

impl PushPolicy {
    /// Sets how long a request waits for an answer.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::DurationOutOfRange`] unless more than zero and at most
    /// 24 hours.
    pub fn with_lifetime(mut self, lifetime: TimeDelta) -> Result<Self, DeliveryPolicyError> {
        self.lifetime = check_window("push lifetime", lifetime)?;
        Ok(self)
    }

    /// Allows at most `max_prompts` push prompts per user in any `window`.
    ///
    /// # Errors
    ///
    /// [`DeliveryPolicyError::LimitOutOfRange`] for a count outside 1 to 100,
    /// [`DeliveryPolicyError::DurationOutOfRange`] for a window that is not more than
    /// zero and at most 24 hours.
    pub fn with_rate_limit(
        mut self,
        max_prompts: u32,
        window: TimeDelta,
    ) -> Result<Self, DeliveryPolicyError> {
        self.max_prompts = check_limit("max push prompts", max_prompts)?;
        self.window = check_window("push rate window", window)?;
        Ok(self)
    }

    /// Sets the enabled channels; without [`Channel::Push`](twofa_types::Channel::Push) every push
    /// request is refused.
    #[must_use]
    pub fn with_enabled_channels(mut self, channels: ChannelSet) -> Self {
        self.enabled_channels = channels;
        self
    }

    /// How long a request waits for an answer.
    #[must_use]
    pub fn lifetime(&self) -> TimeDelta {
        self.lifetime
    }

    /// Most prompts per user in one window.
    #[must_use]
    pub fn max_prompts(&self) -> u32 {
        self.max_prompts
    }

    /// The rate-limit window.
    #[must_use]
    pub fn window(&self) -> TimeDelta {
        self.window
    }

    /// The enabled channels.
    #[must_use]
    pub fn enabled_channels(&self) -> ChannelSet {
        self.enabled_channels
    }
}
