//! Per-user failure counting across methods.

use chrono::{DateTime, Utc};

use crate::policy::ThrottlePolicy;

/// Consecutive failed second-factor attempts of one user, across all
/// methods, and the suspension they may have caused.
///
/// A success resets the count (and lifts nothing else); a re-send never
/// changes it. Stored in the record so that compare-and-swap keeps it
/// exact when several servers serve the same user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Failures {
    consecutive: u32,
    last_failure_at: Option<DateTime<Utc>>,
    suspended_at: Option<DateTime<Utc>>,
}

/// Why an attempt was refused before its code was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Gate {
    RetryAfter(DateTime<Utc>),
    Suspended(DateTime<Utc>),
}

impl Failures {
    /// Consecutive failures so far.
    #[must_use]
    pub fn consecutive(&self) -> u32 {
        self.consecutive
    }

    /// When the latest failure happened.
    #[must_use]
    pub fn last_failure_at(&self) -> Option<DateTime<Utc>> {
        self.last_failure_at
    }

    /// When the factor was suspended, if it is.
    #[must_use]
    pub fn suspended_since(&self) -> Option<DateTime<Utc>> {
        self.suspended_at
    }

    /// The first instant another attempt is evaluated (`None`: no wait).
    /// An attempt at exactly this instant is evaluated.
    #[must_use]
    pub fn next_attempt_at(&self, policy: &ThrottlePolicy) -> Option<DateTime<Utc>> {
        let delay = policy.delay_after(self.consecutive);
        if delay.is_zero() {
            return None;
        }
        let last = self.last_failure_at?;
        // Out-of-range arithmetic must not fail open: wait forever instead.
        Some(
            last.checked_add_signed(delay)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Whether an attempt at `now` may be evaluated. Recovery codes pass a
    /// suspension (they are how it is lifted) but not a delay.
    pub(crate) fn gate(
        &self,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
        passes_suspension: PassesSuspension,
    ) -> Result<(), Gate> {
        if let (Some(since), PassesSuspension::No) = (self.suspended_at, passes_suspension) {
            return Err(Gate::Suspended(since));
        }
        match self.next_attempt_at(policy) {
            Some(at) if now < at => Err(Gate::RetryAfter(at)),
            _ => Ok(()),
        }
    }

    /// The counter after one more failure at `now`.
    #[must_use]
    pub(crate) fn after_failure(&self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        let consecutive = self.consecutive.saturating_add(1);
        let suspended_at = self.suspended_at.or_else(|| {
            // NIST SP 800-63B-4 §3.2.2: no more than 100 consecutive failed
            // attempts on one account.
            (consecutive >= policy.suspend_after()).then_some(now)
        });
        Self {
            consecutive,
            last_failure_at: Some(now),
            suspended_at,
        }
    }

    /// Whether this failure just suspended the factor.
    pub(crate) fn newly_suspended(&self, before: &Self) -> bool {
        self.suspended_at.is_some() && before.suspended_at.is_none()
    }
}

/// Whether a gate check lets a suspended factor through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PassesSuspension {
    Yes,
    No,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_700_000_000 + seconds)
    }

    #[test]
    fn gate_opens_exactly_at_the_next_attempt_time() {
        let policy = ThrottlePolicy::default();
        let mut failures = Failures::default();
        for _ in 0..6 {
            failures = failures.after_failure(&policy, at(0));
        }
        assert_eq!(failures.next_attempt_at(&policy), Some(at(1)));
        assert_eq!(
            failures.gate(&policy, at(0), PassesSuspension::No),
            Err(Gate::RetryAfter(at(1)))
        );
        assert_eq!(failures.gate(&policy, at(1), PassesSuspension::No), Ok(()));
        assert_eq!(failures.gate(&policy, at(2), PassesSuspension::No), Ok(()));
    }

    #[test]
    fn suspension_starts_at_the_threshold_and_only_recovery_passes() {
        let policy = ThrottlePolicy::default().with_suspend_after(3).unwrap();
        let mut failures = Failures::default();
        failures = failures.after_failure(&policy, at(0));
        failures = failures.after_failure(&policy, at(1));
        assert_eq!(failures.suspended_since(), None);
        let before = failures;
        failures = failures.after_failure(&policy, at(2));
        assert!(failures.newly_suspended(&before));
        assert_eq!(failures.suspended_since(), Some(at(2)));
        assert_eq!(
            failures.gate(&policy, at(1000), PassesSuspension::No),
            Err(Gate::Suspended(at(2)))
        );
        assert_eq!(
            failures.gate(&policy, at(1000), PassesSuspension::Yes),
            Ok(())
        );
        // Later failures keep the original suspension time.
        let later = failures.after_failure(&policy, at(5));
        assert_eq!(later.suspended_since(), Some(at(2)));
        assert!(!later.newly_suspended(&failures));
    }

    #[test]
    fn the_counter_saturates() {
        let policy = ThrottlePolicy::default();
        let mut failures = Failures {
            consecutive: u32::MAX,
            last_failure_at: Some(at(0)),
            suspended_at: Some(at(0)),
        };
        failures = failures.after_failure(&policy, at(1));
        assert_eq!(failures.consecutive(), u32::MAX);
        let far = Failures {
            consecutive: 50,
            last_failure_at: Some(DateTime::<Utc>::MAX_UTC),
            suspended_at: None,
        };
        // Out-of-range arithmetic never opens the gate early.
        assert_eq!(far.next_attempt_at(&policy), Some(DateTime::<Utc>::MAX_UTC));
    }
}
