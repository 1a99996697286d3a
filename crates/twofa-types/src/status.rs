//! A user's enrollment as the policy crates read it.

use chrono::{DateTime, Utc};

use crate::method::{Method, MethodSet};

/// A user's 2FA enrollment at one instant, as plain values: what the
/// enforcement gate and the trusted-network decision read. The enrollment
/// crate produces it from its record. The four states are the enrollment's
/// whole life cycle, so matches on it need no wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)
)]
pub enum EnrollmentStatus {
    /// No method set up and no deferral on record.
    NotEnrolled {
        /// Deferrals taken so far (see [`crate::DeferralCap`]).
        deferrals_used: u32,
    },
    /// A method is being set up and waits for its first code.
    #[cfg_attr(feature = "serde", serde(rename = "pending_verification"))]
    Pending {
        /// The method being set up.
        method: Method,
        /// When set-up started.
        since: DateTime<Utc>,
        /// Deferrals taken so far.
        deferrals_used: u32,
    },
    /// The user chose "remind me later", whether or not that deferral is
    /// still running (the gate decides).
    Deferred {
        /// The deferral is over at this instant (exclusive end).
        until: DateTime<Utc>,
        /// Deferrals taken so far, this one included.
        deferrals_used: u32,
    },
    /// At least one method is active.
    Enrolled {
        /// The active methods. A record with none is treated as not enrolled.
        methods: MethodSet,
        /// When the first of them was activated.
        since: DateTime<Utc>,
    },
}

impl EnrollmentStatus {
    /// Whether at least one method is active.
    #[must_use]
    pub const fn has_active_method(&self) -> bool {
        match self {
            Self::Enrolled { methods, .. } => !methods.is_empty(),
            Self::NotEnrolled { .. } | Self::Pending { .. } | Self::Deferred { .. } => false,
        }
    }
}
