//! Plain values about an enrollment for the policy crates.

use chrono::{DateTime, Utc};

use crate::machine::{Enrollment, EnrollmentState};
use crate::method::{MethodId, MethodKind};
use crate::policy::{Enforcement, EnrollmentPolicy};

/// One active method in a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MethodSummary {
    /// Its id.
    pub id: MethodId,
    /// Its kind.
    pub kind: MethodKind,
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
    pub pending: Option<MethodKind>,
    /// When the pending first set-up started.
    pub pending_since: Option<DateTime<Utc>>,
    /// The end (exclusive) of the deferral, when the state is deferred,
    /// whether or not it is still running.
    pub deferred_until: Option<DateTime<Utc>>,
    /// Whether a deferral is running at the summary's instant (ignoring
    /// enforcement, which voids it: see [`Enrollment::setup_prompt`]).
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

/// Whether "remind me later" is on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeferralOffer {
    /// Offered; `remaining` deferrals left after this one is used
    /// (`None`: unlimited).
    Available {
        /// Deferrals left before this one.
        remaining: Option<u32>,
    },
    /// Not offered: the company requires 2FA.
    Enforced,
    /// Not offered: all deferrals used.
    CapReached,
}

/// What to do with this user after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetupPrompt {
    /// Enrolled: ask for the second factor instead.
    NotNeeded,
    /// Deferred: let the user in without set-up until `until`.
    Deferred {
        /// End of the deferral.
        until: DateTime<Utc>,
    },
    /// Ask for set-up (continuing a pending one if any).
    SetUp {
        /// The method of a pending set-up.
        pending: Option<MethodKind>,
        /// Whether deferral is offered.
        deferral: DeferralOffer,
    },
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

    /// The portal's decision after the password: set-up needed, deferred,
    /// or not needed. Under [`Enforcement::Required`] an active deferral no
    /// longer counts and deferral is not offered.
    #[must_use]
    pub fn setup_prompt(
        &self,
        enforcement: Enforcement,
        policy: &EnrollmentPolicy,
        now: DateTime<Utc>,
    ) -> SetupPrompt {
        let pending = match &self.state {
            EnrollmentState::Enrolled(_) => return SetupPrompt::NotNeeded,
            EnrollmentState::Deferred { until }
                if now < *until && enforcement == Enforcement::Optional =>
            {
                return SetupPrompt::Deferred { until: *until };
            }
            EnrollmentState::Pending(p) => Some(p.kind().method()),
            _ => None,
        };
        let cap = policy.deferral_cap();
        let deferral = if enforcement == Enforcement::Required {
            DeferralOffer::Enforced
        } else if !cap.allows_another(self.deferrals_used) {
            DeferralOffer::CapReached
        } else {
            DeferralOffer::Available {
                remaining: cap.remaining(self.deferrals_used),
            }
        };
        SetupPrompt::SetUp { pending, deferral }
    }
}
