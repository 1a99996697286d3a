//! The policy values a transition reads: durations, caps, throttling, and
//! the per-call context.

use chrono::TimeDelta;
use twofa_delivery::{ChallengePolicy, Issuer, MessageTemplates, PushPolicy, ServerKey};
use twofa_otp::Window;
use twofa_passkey::RelyingParty;

/// Whether a user may remove their last active method: the company's
/// enforcement decides it (`twofa-enforcement`), and the machine keeps to
/// the answer it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LastMethod {
    /// The company leaves 2FA to each user: the last method may go.
    Removable,
    /// The company requires 2FA: the last method stays until another
    /// replaces it.
    Kept,
}

/// A policy value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollmentPolicyError {
    /// A duration that must be positive was zero or negative.
    #[error("{setting} must be a positive duration")]
    NotPositive {
        /// The setting refused.
        setting: &'static str,
    },
    /// A count that must be at least one was zero.
    #[error("{setting} must be at least one")]
    Zero {
        /// The setting refused.
        setting: &'static str,
    },
    /// The suspension threshold is above the 100 consecutive failures that
    /// NIST SP 800-63B-4 §3.2.2 allows.
    #[error("suspension threshold {failures} is above the limit of {max}")]
    SuspensionThresholdTooHigh {
        /// The threshold given.
        failures: u32,
        /// The highest accepted threshold.
        max: u32,
    },
    /// The maximum delay is shorter than the first delay.
    #[error("maximum throttling delay is shorter than the first delay")]
    MaxDelayBelowBase,
}

fn positive(value: TimeDelta, setting: &'static str) -> Result<TimeDelta, EnrollmentPolicyError> {
    if value > TimeDelta::zero() {
        Ok(value)
    } else {
        Err(EnrollmentPolicyError::NotPositive { setting })
    }
}

/// The highest suspension threshold accepted: NIST SP 800-63B-4 §3.2.2
/// ("Rate Limiting (Throttling)") requires the verifier to limit
/// consecutive failed attempts on a single account to no more than 100.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 100;

/// Throttling of failed second-factor attempts, per user, across methods.
///
/// The first `free_failures` consecutive failures cost nothing. After
/// failure number `free_failures + k` (k = 0, 1, …) the next attempt is
/// refused until `base_delay · 2^k` (at most `max_delay`) has passed since
/// that failure. After `suspend_after` consecutive failures the factor is
/// suspended until an administrator resets it or the user redeems a
/// recovery code.
///
/// The defaults (5 free, 1 s doubling, 15 min cap, suspension at 100) let a
/// user who mistypes a few times retry at once, while an attacker needs
/// about 21 hours to spend the 100 guesses before suspension (10 doubling
/// steps, about 17 minutes in all, then 85 waits of 15 minutes), a 6-digit
/// code thus has a success chance of at most 100 in a million before the
/// account is suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottlePolicy {
    free_failures: u32,
    base_delay: TimeDelta,
    max_delay: TimeDelta,
    suspend_after: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: TimeDelta::seconds(1),
            max_delay: TimeDelta::minutes(15),
            suspend_after: MAX_CONSECUTIVE_FAILURES,
        }
    }
}

impl ThrottlePolicy {
    /// Consecutive failures allowed without delay (default 5).
    #[must_use]
    pub fn with_free_failures(mut self, failures: u32) -> Self {
        self.free_failures = failures;
        self
    }

    /// The first delay and the cap (defaults 1 s and 15 min).
    ///
    /// # Errors
    ///
    /// [`EnrollmentPolicyError::NotPositive`] or [`EnrollmentPolicyError::MaxDelayBelowBase`].
    pub fn with_delays(
        mut self,
        base: TimeDelta,
        max: TimeDelta,
    ) -> Result<Self, EnrollmentPolicyError> {
        self.base_delay = positive(base, "base delay")?;
        self.max_delay = positive(max, "maximum delay")?;
        if max < base {
            return Err(EnrollmentPolicyError::MaxDelayBelowBase);
        }
        Ok(self)
    }

    /// Consecutive failures after which the factor is suspended (default
    /// and maximum 100).
    ///
    /// # Errors
    ///
    /// [`EnrollmentPolicyError::Zero`] or [`EnrollmentPolicyError::SuspensionThresholdTooHigh`].
    pub fn with_suspend_after(mut self, failures: u32) -> Result<Self, EnrollmentPolicyError> {
        if failures == 0 {
            return Err(EnrollmentPolicyError::Zero {
                setting: "suspension threshold",
            });
        }
        if failures > MAX_CONSECUTIVE_FAILURES {
            return Err(EnrollmentPolicyError::SuspensionThresholdTooHigh {
                failures,
                max: MAX_CONSECUTIVE_FAILURES,
            });
        }
        self.suspend_after = failures;
        Ok(self)
    }

    /// Consecutive failures allowed without delay.
    #[must_use]
    pub fn free_failures(&self) -> u32 {
        self.free_failures
    }

    /// The first delay.
    #[must_use]
    pub fn base_delay(&self) -> TimeDelta {
        self.base_delay
    }

    /// The longest delay.
    #[must_use]
    pub fn max_delay(&self) -> TimeDelta {
        self.max_delay
    }

    /// Consecutive failures that suspend the factor.
    #[must_use]
    pub fn suspend_after(&self) -> u32 {
        self.suspend_after
    }

    /// The wait imposed after `failures` consecutive failures.
    #[must_use]
    pub fn delay_after(&self, failures: u32) -> TimeDelta {
        // Failure number `free + 1 + k` waits `base · 2^k`, capped.
        let Some(k) = failures
            .checked_sub(self.free_failures)
            .and_then(|excess| excess.checked_sub(1))
        else {
            return TimeDelta::zero();
        };
        let mut delay = self.base_delay;
        for _ in 0..k {
            match delay.checked_add(&delay) {
                Some(doubled) if doubled < self.max_delay => delay = doubled,
                _ => return self.max_delay,
            }
        }
        delay.min(self.max_delay)
    }
}

/// Every duration and limit of the enrollment flow, with the portal's
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentPolicy {
    challenge: ChallengePolicy,
    push: PushPolicy,
    app_pending_lifetime: TimeDelta,
    max_wrong_codes: u32,
    step_up_freshness: TimeDelta,
    throttle: ThrottlePolicy,
    totp_window: Window,
}

impl Default for EnrollmentPolicy {
    /// Out-of-band codes per
    /// [`ChallengePolicy::default`] (10 min), push prompts per
    /// [`PushPolicy::default`], app set-up 30 min, 5 wrong
    /// codes per pending verification, step-up freshness 10 min,
    /// [`ThrottlePolicy::default`], TOTP window ±1 step.
    fn default() -> Self {
        Self {
            challenge: ChallengePolicy::default(),
            push: PushPolicy::default(),
            app_pending_lifetime: TimeDelta::minutes(30),
            max_wrong_codes: 5,
            step_up_freshness: TimeDelta::minutes(10),
            throttle: ThrottlePolicy::default(),
            totp_window: Window::default(),
        }
    }
}

impl EnrollmentPolicy {
    /// The out-of-band code policy (lifetime, length, channels, re-sends).
    #[must_use]
    pub fn with_challenge(mut self, challenge: ChallengePolicy) -> Self {
        self.challenge = challenge;
        self
    }

    /// The push prompt policy (lifetime, rate limit).
    #[must_use]
    pub fn with_push(mut self, push: PushPolicy) -> Self {
        self.push = push;
        self
    }

    /// How long an authenticator-app set-up stays open (default 30 min).
    ///
    /// # Errors
    ///
    /// [`EnrollmentPolicyError::NotPositive`].
    pub fn with_app_pending_lifetime(
        mut self,
        lifetime: TimeDelta,
    ) -> Result<Self, EnrollmentPolicyError> {
        self.app_pending_lifetime = positive(lifetime, "app pending lifetime")?;
        Ok(self)
    }

    /// Wrong codes allowed per pending verification (default 5).
    ///
    /// # Errors
    ///
    /// [`EnrollmentPolicyError::Zero`].
    pub fn with_max_wrong_codes(mut self, codes: u32) -> Result<Self, EnrollmentPolicyError> {
        if codes == 0 {
            return Err(EnrollmentPolicyError::Zero {
                setting: "maximum wrong codes",
            });
        }
        self.max_wrong_codes = codes;
        Ok(self)
    }

    /// How recent a second factor must be for sensitive changes (default
    /// 10 min).
    ///
    /// # Errors
    ///
    /// [`EnrollmentPolicyError::NotPositive`].
    pub fn with_step_up_freshness(
        mut self,
        freshness: TimeDelta,
    ) -> Result<Self, EnrollmentPolicyError> {
        self.step_up_freshness = positive(freshness, "step-up freshness")?;
        Ok(self)
    }

    /// The throttling of failed attempts.
    #[must_use]
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// The TOTP verification window (default ±1 step).
    #[must_use]
    pub fn with_totp_window(mut self, window: Window) -> Self {
        self.totp_window = window;
        self
    }

    /// The out-of-band code policy.
    #[must_use]
    pub fn challenge(&self) -> &ChallengePolicy {
        &self.challenge
    }

    /// The push prompt policy.
    #[must_use]
    pub fn push(&self) -> &PushPolicy {
        &self.push
    }

    /// How long an app set-up stays open.
    #[must_use]
    pub fn app_pending_lifetime(&self) -> TimeDelta {
        self.app_pending_lifetime
    }

    /// Wrong codes allowed per pending verification.
    #[must_use]
    pub fn max_wrong_codes(&self) -> u32 {
        self.max_wrong_codes
    }

    /// Step-up freshness.
    #[must_use]
    pub fn step_up_freshness(&self) -> TimeDelta {
        self.step_up_freshness
    }

    /// The throttling policy.
    #[must_use]
    pub fn throttle(&self) -> &ThrottlePolicy {
        &self.throttle
    }

    /// The TOTP window.
    #[must_use]
    pub fn totp_window(&self) -> Window {
        self.totp_window
    }
}

/// Everything a transition needs besides the record, the event, the time
/// and the random generator.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    last_method: LastMethod,
    policy: &'a EnrollmentPolicy,
    key: &'a ServerKey,
    templates: &'a MessageTemplates,
    issuer: &'a Issuer,
    passkeys: Option<&'a RelyingParty>,
}

impl<'a> Context<'a> {
    /// A context: whether the last method may be removed, the policy, the
    /// server key
    /// (out-of-band code and recovery-code hashing), the message templates
    /// and the issuer name shown in authenticator apps.
    #[must_use]
    pub fn new(
        last_method: LastMethod,
        policy: &'a EnrollmentPolicy,
        key: &'a ServerKey,
        templates: &'a MessageTemplates,
        issuer: &'a Issuer,
    ) -> Self {
        Self {
            last_method,
            policy,
            key,
            templates,
            issuer,
            passkeys: None,
        }
    }

    /// The context with the WebAuthn relying party passkeys are registered
    /// with and checked against; without one, passkey events are refused
    /// ([`EnrollmentError::PasskeysNotConfigured`](crate::EnrollmentError::PasskeysNotConfigured)).
    #[must_use]
    pub fn with_passkeys(mut self, relying_party: &'a RelyingParty) -> Self {
        self.passkeys = Some(relying_party);
        self
    }

    /// The relying party, if passkeys are configured.
    #[must_use]
    pub fn passkeys(&self) -> Option<&'a RelyingParty> {
        self.passkeys
    }

    /// Whether the last method may be removed.
    #[must_use]
    pub fn last_method(&self) -> LastMethod {
        self.last_method
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &'a EnrollmentPolicy {
        self.policy
    }

    /// The server key.
    #[must_use]
    pub fn key(&self) -> &'a ServerKey {
        self.key
    }

    /// The message templates.
    #[must_use]
    pub fn templates(&self) -> &'a MessageTemplates {
        self.templates
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &'a Issuer {
        self.issuer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_documented_schedule() {
        let policy = ThrottlePolicy::default();
        // (consecutive failures, wait before the next attempt)
        let table = [
            (0, 0),
            (1, 0),
            (5, 0),
            (6, 1),
            (7, 2),
            (8, 4),
            (14, 256),
            (15, 512),
            (16, 900),
            (100, 900),
            (u32::MAX, 900),
        ];
        for (failures, seconds) in table {
            assert_eq!(
                policy.delay_after(failures),
                TimeDelta::seconds(seconds),
                "after {failures} failures"
            );
        }
        let none_free = policy.with_free_failures(0);
        assert_eq!(none_free.delay_after(0), TimeDelta::zero());
        assert_eq!(none_free.delay_after(1), TimeDelta::seconds(1));
    }

    #[test]
    fn suspension_threshold_is_bounded_by_nist() {
        assert!(ThrottlePolicy::default().with_suspend_after(100).is_ok());
        assert_eq!(
            ThrottlePolicy::default().with_suspend_after(0),
            Err(EnrollmentPolicyError::Zero {
                setting: "suspension threshold"
            })
        );
    }
}
