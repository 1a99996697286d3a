//! Plain values about an enrollment for the policy crates.

use chrono::{DateTime, Utc};
use twofa_types::{EnrollmentStatus, Method};

use crate::machine::{Enrollment, EnrollmentState};
use crate::method::{EnrolledMethod, MethodId};

/// One active method in a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MethodSummary {
    /// Its id.
    pub id: MethodId,
    /// Its kind.
    pub kind: Method,
    /// Active since.
    pub since: DateTime<Utc>,
}

/// An enrollment as plain values: what `twofa-enforcement` and
/// `twofa-trusted-network` need, without depending on this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollmentSummary {
    /// Active methods (empty when not enrolled).
    pub methods: Vec<MethodSummary>,
    /// The primary method, when enrolled.
    pub primary: Option<MethodId>,
    /// When the first active method was activated.
    pub enrolled_since: Option<DateTime<Utc>>,
    /// The method of a pending first set-up.
    pub pending: Option<Method>,
    /// When the pending first set-up started.
    pub pending_since: Option<DateTime<Utc>>,
    /// The end (exclusive) of the deferral, when the state is deferred,
    /// whether or not it is still running.
    pub deferred_until: Option<DateTime<Utc>>,
    /// Whether a deferral is running at the summary's instant (enforcement
    /// voids it: `twofa-enforcement`'s gate decides).
    pub deferral_running: bool,
    /// Deferrals used.
    pub deferrals_used: u32,
    /// When the user last completed a second factor.
    pub last_second_factor_at: Option<DateTime<Utc>>,
    /// When the second factor was suspended, if it is.
    pub suspended_since: Option<DateTime<Utc>>,
    /// Unused recovery codes.
    pub recovery_codes_remaining: usize,
}

impl EnrollmentSummary {
    /// Whether at least one method is active.
    #[must_use]
    pub fn has_active_method(&self) -> bool {
        !self.methods.is_empty()
    }
}

impl Enrollment {
    /// The record as plain values at `now`.
    #[must_use]
    pub fn summary(&self, now: DateTime<Utc>) -> EnrollmentSummary {
        let mut summary = EnrollmentSummary {
            methods: Vec::new(),
            primary: None,
            enrolled_since: None,
            pending: None,
            pending_since: None,
            deferred_until: None,
            deferral_running: false,
            deferrals_used: self.deferrals_used,
            last_second_factor_at: self.last_second_factor_at,
            suspended_since: self.failures.suspended_since(),
            recovery_codes_remaining: 0,
        };
        match &self.state {
            EnrollmentState::NotEnrolled => {}
            EnrollmentState::Deferred { until } => {
                summary.deferred_until = Some(*until);
                summary.deferral_running = now < *until;
            }
            EnrollmentState::Pending(p) => {
                summary.pending = Some(p.kind().method());
                summary.pending_since = Some(p.started_at());
            }
            EnrollmentState::Enrolled(e) => {
                summary.methods = e
                    .methods()
                    .iter()
                    .map(|m| MethodSummary {
                        id: m.id(),
                        kind: m.kind(),
                        since: m.enrolled_at(),
                    })
                    .collect();
                summary.primary = Some(e.primary());
                summary.enrolled_since = Some(e.enrolled_at());
                summary.recovery_codes_remaining = e.recovery_codes().remaining();
            }
        }
        summary
    }

    /// The record as the policy crates read it (`twofa-enforcement`'s gate,
    /// `twofa-trusted-network`'s decision) at `now`.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> EnrollmentStatus {
        let deferrals_used = self.deferrals_used;
        match &self.state {
            EnrollmentState::NotEnrolled => EnrollmentStatus::NotEnrolled { deferrals_used },
            EnrollmentState::Deferred { until } => EnrollmentStatus::Deferred {
                until: *until,
                deferrals_used,
            },
            EnrollmentState::Pending(pending) => EnrollmentStatus::Pending {
                method: pending.kind().method(),
                since: pending.started_at(),
                deferrals_used,
            },
            EnrollmentState::Enrolled(enrolled) => EnrollmentStatus::Enrolled {
                methods: enrolled
                    .methods()
                    .iter()
                    .map(EnrolledMethod::kind)
                    .collect(),
                since: enrolled
                    .methods()
                    .iter()
                    .map(EnrolledMethod::enrolled_at)
                    .min()
                    .unwrap_or(now),
            },
        }
    }
}
