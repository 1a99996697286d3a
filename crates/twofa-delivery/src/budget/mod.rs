//! Send budgets: whether a code, a notice or a push prompt may be sent,
//! decided in this one place, as a pure function.
//!
//! The limits of one challenge (sends per challenge, the re-send cooldown,
//! wrong codes) hold within that challenge only. A budget holds across
//! challenges, logins, set-ups and number changes: it counts every send of
//! a user, to a destination, to a country code and of the whole service in
//! fixed UTC windows, and refuses a send once a count has reached its limit.
//! This is what stops SMS pumping (a bot making the service text numbers
//! whose traffic earns it money), toll fraud by voice, and push bombing.
//!
//! The module names the counters a send must charge ([`SendBudgetPolicy::charges`])
//! and decides from their counts ([`Charges::decide`]); a store that keeps
//! the counts charges all of them or none, atomically, and only compares
//! numbers. No clock, no storage here.
//!
//! # Windows
//!
//! Fixed UTC windows: an hour runs from `hh:00:00` to the next `hh:00:00`,
//! a day from `00:00:00` UTC to the next. A count starts again at zero the
//! second its window ends, and a refusal says that second
//! ([`BudgetExhausted::frees_at`]). Fixed windows let a store keep one
//! number per counter and window and compare it exactly; the price is that
//! up to twice an hourly limit can go out around a window's edge (the end
//! of one hour and the start of the next), which the daily limits bound.

mod charge;
mod geo;

use core::fmt;

use chrono::TimeDelta;

pub use charge::{
    BudgetDecision, BudgetExhausted, Charges, Counter, CounterKey, SendKind, SendRequest,
};
pub use geo::{GeoPermissions, GeoRefused, HIGH_COST_COUNTRY_CODES, high_cost_country_codes};

/// The largest limit a policy accepts for any scope.
pub const MAX_BUDGET_LIMIT: u32 = 10_000_000;

/// A budget's length: the fixed UTC window its count lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BudgetWindow {
    /// `hh:00:00` to the next `hh:00:00` UTC.
    Hour,
    /// `00:00:00` to the next `00:00:00` UTC.
    Day,
}

impl BudgetWindow {
    /// The window's length.
    #[must_use]
    pub const fn length(self) -> TimeDelta {
        match self {
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    const fn seconds(self) -> i64 {
        match self {
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }
}

/// What a budget counts: one counter per subject and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum BudgetScope {
    /// Codes and push prompts sent to one user in an hour, whatever the
    /// channel or destination (default 10).
    UserCodesPerHour,
    /// Codes and push prompts sent to one user in a UTC day (default 20).
    UserCodesPerDay,
    /// Codes sent to one phone number or email address in an hour, whoever
    /// asked (default 5).
    DestinationPerHour,
    /// Codes sent to one phone number or email address in a UTC day
    /// (default 10).
    DestinationPerDay,
    /// Notices (a factor changed, a number was replaced) sent about one user
    /// in an hour (default 5).
    UserNoticesPerHour,
    /// Notices sent about one user in a UTC day (default 10).
    UserNoticesPerDay,
    /// SMS and calls, codes and notices, to one country code, service-wide,
    /// in an hour (default 100).
    CountryPerHour,
    /// SMS and calls, codes and notices, service-wide, in an hour
    /// (default 1,000).
    ServicePerHour,
}

impl BudgetScope {
    /// Every scope, in the order counters are named.
    pub const ALL: [Self; 8] = [
        Self::UserCodesPerHour,
        Self::UserCodesPerDay,
        Self::DestinationPerHour,
        Self::DestinationPerDay,
        Self::UserNoticesPerHour,
        Self::UserNoticesPerDay,
        Self::CountryPerHour,
        Self::ServicePerHour,
    ];

    /// Stable name for metrics, logs and audit records.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserCodesPerHour => "user_codes_per_hour",
            Self::UserCodesPerDay => "user_codes_per_day",
            Self::DestinationPerHour => "destination_per_hour",
            Self::DestinationPerDay => "destination_per_day",
            Self::UserNoticesPerHour => "user_notices_per_hour",
            Self::UserNoticesPerDay => "user_notices_per_day",
            Self::CountryPerHour => "country_per_hour",
            Self::ServicePerHour => "service_per_hour",
        }
    }

    /// The window the scope counts in.
    #[must_use]
    pub const fn window(self) -> BudgetWindow {
        match self {
            Self::UserCodesPerHour
            | Self::DestinationPerHour
            | Self::UserNoticesPerHour
            | Self::CountryPerHour
            | Self::ServicePerHour => BudgetWindow::Hour,
            Self::UserCodesPerDay | Self::DestinationPerDay | Self::UserNoticesPerDay => {
                BudgetWindow::Day
            }
        }
    }

    /// The scope's daily counterpart, which an hourly limit may not exceed.
    const fn daily(self) -> Option<Self> {
        match self {
            Self::UserCodesPerHour => Some(Self::UserCodesPerDay),
            Self::DestinationPerHour => Some(Self::DestinationPerDay),
            Self::UserNoticesPerHour => Some(Self::UserNoticesPerDay),
            _ => None,
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::UserCodesPerHour => 0,
            Self::UserCodesPerDay => 1,
            Self::DestinationPerHour => 2,
            Self::DestinationPerDay => 3,
            Self::UserNoticesPerHour => 4,
            Self::UserNoticesPerDay => 5,
            Self::CountryPerHour => 6,
            Self::ServicePerHour => 7,
        }
    }
}

impl fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A misconfigured budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetPolicyError {
    /// A limit is zero (nothing could ever be sent) or above
    /// [`MAX_BUDGET_LIMIT`].
    #[error("the {scope} limit must be 1 to 10000000, got {limit}")]
    LimitOutOfRange {
        /// The scope.
        scope: BudgetScope,
        /// The refused value.
        limit: u32,
    },
    /// An hourly limit is above its daily one, which would never let it be
    /// reached.
    #[error("the {hourly} limit ({hour}) is above the {daily} limit ({day})")]
    HourAboveDay {
        /// The hourly scope.
        hourly: BudgetScope,
        /// Its limit.
        hour: u32,
        /// The daily scope.
        daily: BudgetScope,
        /// Its limit.
        day: u32,
    },
}

/// The send budget: a limit for every [`BudgetScope`] and the
/// [`GeoPermissions`].
///
/// [`SendBudgetPolicy::default`]: per user 10 codes an hour and 20 a day
/// (push prompts included), per destination 5 an hour and 10 a day, per
/// user 5 notices an hour and 10 a day, 100 SMS and calls an hour to each
/// country code and 1,000 an hour in all, high-cost country codes refused.
///
/// ```
/// use twofa_delivery::{BudgetScope, SendBudgetPolicy};
///
/// let policy = SendBudgetPolicy::default().with_limit(BudgetScope::ServicePerHour, 5_000)?;
/// assert_eq!(policy.limit(BudgetScope::ServicePerHour), 5_000);
/// assert_eq!(policy.limit(BudgetScope::UserCodesPerHour), 10);
/// assert!(SendBudgetPolicy::default().with_limit(BudgetScope::UserCodesPerHour, 0).is_err());
/// # Ok::<(), twofa_delivery::BudgetPolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendBudgetPolicy {
    limits: [u32; 8],
    geo: GeoPermissions,
}

impl Default for SendBudgetPolicy {
    fn default() -> Self {
        Self {
            limits: [10, 20, 5, 10, 5, 10, 100, 1_000],
            geo: GeoPermissions::default(),
        }
    }
}

impl SendBudgetPolicy {
    /// The limit of `scope`.
    #[must_use]
    pub fn limit(&self, scope: BudgetScope) -> u32 {
        // `index` is below 8 for every scope.
        self.limits.get(scope.index()).copied().unwrap_or(0)
    }

    /// The geo permissions.
    #[must_use]
    pub const fn geo(&self) -> &GeoPermissions {
        &self.geo
    }

    /// This policy with `scope` limited to `limit`.
    ///
    /// # Errors
    ///
    /// [`BudgetPolicyError::LimitOutOfRange`] for 0 or above
    /// [`MAX_BUDGET_LIMIT`]; [`BudgetPolicyError::HourAboveDay`] when an
    /// hourly limit would exceed its daily one (lower the hourly limit
    /// first, or raise the daily one first).
    pub fn with_limit(mut self, scope: BudgetScope, limit: u32) -> Result<Self, BudgetPolicyError> {
        if limit == 0 || limit > MAX_BUDGET_LIMIT {
            return Err(BudgetPolicyError::LimitOutOfRange { scope, limit });
        }
        if let Some(slot) = self.limits.get_mut(scope.index()) {
            *slot = limit;
        }
        for hourly in BudgetScope::ALL {
            if let Some(daily) = hourly.daily() {
                let (hour, day) = (self.limit(hourly), self.limit(daily));
                if hour > day {
                    return Err(BudgetPolicyError::HourAboveDay {
                        hourly,
                        hour,
                        daily,
                        day,
                    });
                }
            }
        }
        Ok(self)
    }

    /// This policy with `geo` as its geo permissions.
    #[must_use]
    pub const fn with_geo(mut self, geo: GeoPermissions) -> Self {
        self.geo = geo;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let policy = SendBudgetPolicy::default();
        let expected = [10, 20, 5, 10, 5, 10, 100, 1_000];
        for (scope, limit) in BudgetScope::ALL.into_iter().zip(expected) {
            assert_eq!(policy.limit(scope), limit, "{scope}");
        }
        for scope in BudgetScope::ALL {
            assert_eq!(
                policy.with_limit(scope, 0),
                Err(BudgetPolicyError::LimitOutOfRange { scope, limit: 0 })
            );
            assert_eq!(
                policy.with_limit(scope, MAX_BUDGET_LIMIT + 1),
                Err(BudgetPolicyError::LimitOutOfRange {
                    scope,
                    limit: MAX_BUDGET_LIMIT + 1
                })
            );
        }
        assert_eq!(
            policy.with_limit(BudgetScope::UserCodesPerHour, 21),
            Err(BudgetPolicyError::HourAboveDay {
                hourly: BudgetScope::UserCodesPerHour,
                hour: 21,
                daily: BudgetScope::UserCodesPerDay,
                day: 20
            })
        );
        assert!(policy.with_limit(BudgetScope::UserCodesPerHour, 20).is_ok());
        assert!(
            policy
                .with_limit(BudgetScope::DestinationPerDay, 4)
                .is_err()
        );
        assert_eq!(
            BudgetPolicyError::LimitOutOfRange {
                scope: BudgetScope::ServicePerHour,
                limit: 0
            }
            .to_string(),
            "the service_per_hour limit must be 1 to 10000000, got 0"
        );
    }

    #[test]
    fn windows() {
        assert_eq!(BudgetWindow::Hour.length(), TimeDelta::seconds(3_600));
        assert_eq!(BudgetWindow::Day.length(), TimeDelta::seconds(86_400));
        for scope in BudgetScope::ALL {
            assert_eq!(
                scope.window().length().num_seconds(),
                scope.window().seconds()
            );
        }
    }
}
