//! When a failed request is tried again, and after how long.
//!
//! The rule, in one place:
//!
//! - retried: an HTTP 429 (after its `Retry-After`, when that is within the
//!   cap), an HTTP 5xx, and a connection that failed before the request was
//!   sent;
//! - retried only for the Lookup `GET`, which changes nothing at Twilio: a
//!   timeout or a connection lost after the request was sent;
//! - never retried: any 2xx (the message or call was accepted: sending it
//!   again would deliver it twice), any other 4xx, and a message or call
//!   `POST` that timed out or lost its connection after being sent (Twilio
//!   may have accepted it; it is reported as
//!   `Transient(ProviderUnavailable)` for the caller to decide).
//!
//! Waits grow exponentially from the base delay up to the maximum, with
//! "equal jitter" (half the wait fixed, half drawn at random) so that
//! servers that failed together do not retry together.

use core::time::Duration;

use crate::config::TwilioConfigError;

/// The most attempts a policy may allow.
pub const MAX_ATTEMPTS: u32 = 5;

/// How many times, and how patiently, a request is tried.
///
/// The default: 3 attempts, waits of about 200 ms then 400 ms (up to 2 s),
/// and a `Retry-After` of up to 5 s honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The default policy with `max_attempts` attempts in all (1 means
    /// never retry).
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::RetryAttempts`] outside 1 to [`MAX_ATTEMPTS`].
    pub fn new(max_attempts: u32) -> Result<Self, TwilioConfigError> {
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(TwilioConfigError::RetryAttempts { max: MAX_ATTEMPTS });
        }
        Ok(Self {
            max_attempts,
            ..Self::default()
        })
    }

    /// Sets the first wait (`base`, doubled at each further retry) and the
    /// longest one.
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::Backoff`] when `base` is zero or exceeds `max`.
    pub fn with_backoff(
        mut self,
        base: Duration,
        max: Duration,
    ) -> Result<Self, TwilioConfigError> {
        if base.is_zero() || base > max {
            return Err(TwilioConfigError::Backoff);
        }
        self.base_delay = base;
        self.max_delay = max;
        Ok(self)
    }

    /// The longest `Retry-After` waited for. A 429 asking for a longer
    /// wait is not retried: the caller gets `Transient(Throttled)` at once
    /// rather than a login that hangs.
    #[must_use]
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Attempts in all, the first included.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before the first retry, before jitter.
    #[must_use]
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The longest wait between attempts, before jitter.
    #[must_use]
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The longest `Retry-After` honoured.
    #[must_use]
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

/// What one attempt gave, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// Twilio answered with this status.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The connection failed before the request was sent.
    NotSent,
    /// The request was (or may have been) sent, and no answer came: a
    /// timeout or a connection lost mid-way.
    Lost,
}

/// What a request does at Twilio, which decides whether an attempt that
/// may have reached Twilio can be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads only (a lookup): repeating it is harmless.
    ReadOnly,
    /// Creates a message or a call: repeating an attempt that Twilio may
    /// have accepted could deliver it twice.
    Creates,
}

/// What to do after an attempt that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Report the failure.
    Stop,
    /// Wait this long, then try again.
    Retry(Duration),
}

/// Decides whether attempt number `attempt` (1-based) of a request with
/// `effect` is followed by another; `jitter` is a uniformly random number.
pub(crate) fn next_step(
    policy: &RetryPolicy,
    attempt: u32,
    outcome: AttemptOutcome,
    effect: Effect,
    jitter: u64,
) -> Next {
    if attempt >= policy.max_attempts {
        return Next::Stop;
    }
    let backoff = || Next::Retry(equal_jitter(policy, attempt, jitter));
    match outcome {
        AttemptOutcome::Answered {
            status: 429,
            retry_after: Some(asked),
        } => {
            if asked > policy.max_retry_after {
                Next::Stop
            } else {
                // Never earlier than asked; a little later, spread out.
                let spread = jitter_within(policy.base_delay, jitter);
                Next::Retry(asked.saturating_add(spread))
            }
        }
        AttemptOutcome::Answered { status: 429, .. } | AttemptOutcome::NotSent => backoff(),
        AttemptOutcome::Answered { status, .. } if (500..=599).contains(&status) => backoff(),
        AttemptOutcome::Lost if effect == Effect::ReadOnly => backoff(),
        AttemptOutcome::Answered { .. } | AttemptOutcome::Lost => Next::Stop,
    }
}

/// The exponential wait before retry number `attempt` (`base * 2^(attempt
/// - 1)`, at most the maximum), half of it fixed and half random.
fn equal_jitter(policy: &RetryPolicy, attempt: u32, jitter: u64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let grown = policy
        .base_delay
        .saturating_mul(1u32 << doublings)
        .min(policy.max_delay);
    let half = grown / 2;
    half.saturating_add(jitter_within(grown.saturating_sub(half), jitter))
}

/// A uniformly random wait in `[0, span]`, to the millisecond.
fn jitter_within(span: Duration, jitter: u64) -> Duration {
    let span_ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(jitter % span_ms.saturating_add(1))
}

/// Reads a `Retry-After` header given in seconds (RFC 9110 §10.2.3
/// `delay-seconds`). The HTTP-date form is not used by Twilio and reads as
/// absent, which falls back to the exponential wait.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn answered(status: u16) -> AttemptOutcome {
        AttemptOutcome::Answered {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn only_throttling_server_errors_and_unsent_requests_are_retried() {
        let policy = RetryPolicy::default();
        for outcome in [
            answered(429),
            answered(500),
            answered(503),
            AttemptOutcome::NotSent,
        ] {
            for effect in [Effect::Creates, Effect::ReadOnly] {
                assert!(
                    matches!(next_step(&policy, 1, outcome, effect, 0), Next::Retry(_)),
                    "{outcome:?}"
                );
            }
        }
        for outcome in [
            answered(200),
            answered(201),
            answered(400),
            answered(401),
            answered(404),
        ] {
            assert_eq!(
                next_step(&policy, 1, outcome, Effect::ReadOnly, 0),
                Next::Stop,
                "{outcome:?}"
            );
        }
        // A request that may have reached Twilio is retried only if it
        // changes nothing there.
        assert_eq!(
            next_step(&policy, 1, AttemptOutcome::Lost, Effect::Creates, 0),
            Next::Stop
        );
        assert!(matches!(
            next_step(&policy, 1, AttemptOutcome::Lost, Effect::ReadOnly, 0),
            Next::Retry(_)
        ));
    }

    #[test]
    fn attempts_stop_at_the_policy_limit() {
        let policy = RetryPolicy::new(3).unwrap();
        assert!(matches!(
            next_step(&policy, 2, answered(500), Effect::Creates, 0),
            Next::Retry(_)
        ));
        assert_eq!(
            next_step(&policy, 3, answered(500), Effect::Creates, 0),
            Next::Stop
        );
        let once = RetryPolicy::new(1).unwrap();
        assert_eq!(
            next_step(&once, 1, answered(500), Effect::Creates, 0),
            Next::Stop
        );
        assert_eq!(
            RetryPolicy::new(0),
            Err(TwilioConfigError::RetryAttempts { max: 5 })
        );
        assert_eq!(
            RetryPolicy::new(6),
            Err(TwilioConfigError::RetryAttempts { max: 5 })
        );
    }

    #[test]
    fn waits_double_within_their_jitter_band_up_to_the_maximum() {
        let policy = RetryPolicy::new(5)
            .unwrap()
            .with_backoff(100 * MS, 300 * MS)
            .unwrap();
        // Attempt 1: 100 ms grown, so 50..=100 ms; attempt 2: 100..=200 ms;
        // attempt 3 and later: capped at 300 ms, so 150..=300 ms.
        for (attempt, low, high) in [(1, 50, 100), (2, 100, 200), (3, 150, 300), (4, 150, 300)] {
            let lowest = next_step(&policy, attempt, answered(502), Effect::Creates, 0);
            let highest = next_step(&policy, attempt, answered(502), Effect::Creates, high - low);
            assert_eq!(
                lowest,
                Next::Retry(Duration::from_millis(low)),
                "attempt {attempt}"
            );
            assert_eq!(
                highest,
                Next::Retry(Duration::from_millis(high)),
                "attempt {attempt}"
            );
            for jitter in [1, 7, 1_000_003, u64::MAX] {
                let Next::Retry(wait) =
                    next_step(&policy, attempt, answered(502), Effect::Creates, jitter)
                else {
                    panic!("retry expected");
                };
                assert!(
                    (Duration::from_millis(low)..=Duration::from_millis(high)).contains(&wait),
                    "{wait:?}"
                );
            }
        }
        assert_eq!(
            RetryPolicy::default().with_backoff(Duration::ZERO, MS),
            Err(TwilioConfigError::Backoff)
        );
        assert_eq!(
            RetryPolicy::default().with_backoff(2 * MS, MS),
            Err(TwilioConfigError::Backoff)
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let policy = RetryPolicy::default()
            .with_backoff(10 * MS, 100 * MS)
            .unwrap()
            .with_max_retry_after(Duration::from_secs(2));
        let throttled = |seconds| AttemptOutcome::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(seconds)),
        };
        for jitter in [0, 3, 10, u64::MAX] {
            let Next::Retry(wait) = next_step(&policy, 1, throttled(2), Effect::Creates, jitter)
            else {
                panic!("retry expected");
            };
            assert!(wait >= Duration::from_secs(2), "never earlier than asked");
            assert!(wait <= Duration::from_secs(2) + 10 * MS);
        }
        assert_eq!(
            next_step(&policy, 1, throttled(3), Effect::Creates, 0),
            Next::Stop
        );
        // Without the header, the exponential wait applies.
        assert_eq!(
            next_step(&policy, 1, answered(429), Effect::Creates, 0),
            Next::Retry(5 * MS)
        );
    }

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        for other in [
            "",
            "-1",
            "1.5",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "99999999999",
        ] {
            assert_eq!(parse_retry_after(other), None, "{other:?}");
        }
    }
}
