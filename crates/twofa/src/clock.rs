//! The service layer's time source.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Where the service reads the current time.
///
/// The logic crates never read a clock; the [`Twofa`](crate::Twofa) service
/// reads this once per operation and passes the instant down, so every
/// decision within one operation sees the same `now`.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to: for tests and the scripted demo.
///
/// Shared by reference (or in an `Arc`) between the service and the code
/// driving it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time to `instant` (it may move backwards).
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = instant;
    }

    /// Moves the time by `delta` and returns the new time. A move past the
    /// representable range leaves the clock unchanged.
    pub fn advance(&self, delta: TimeDelta) -> DateTime<Utc> {
        let mut now = self.lock();
        if let Some(next) = now.checked_add_signed(delta) {
            *now = next;
        }
        *now
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid instant: keep going with it.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        assert_eq!(
            clock.advance(TimeDelta::seconds(1)),
            start + TimeDelta::seconds(1)
        );
        clock.set(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.advance(TimeDelta::MAX), start);
    }
}
