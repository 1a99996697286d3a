//! The login gate: what a login must do about 2FA, given the user's
//! enrollment summary and the company's settings and policy.

use chrono::{DateTime, Utc};
use twofa_types::{DeferralCap, DeferralsLeft, EnrollmentStatus, MethodSet};

use crate::policy::CompanyPolicy;
use crate::settings::CompanySettings;

/// The "remind me later" option of [`GateDecision::OfferSetup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeferralOffer {
    /// If the user takes it, the deferral runs until this instant
    /// (exclusive).
    pub until: DateTime<Utc>,
    /// The user's `deferrals_used` once they take it.
    pub deferrals_used: u32,
    /// Deferrals left after this one.
    pub remaining: DeferralsLeft,
}

/// Why set-up is required, with no way to put it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetupRequired {
    /// The company enforces 2FA: any deferral is void.
    CompanyEnforces,
    /// The user has used every deferral the policy allows.
    DeferralCapReached {
        /// Deferrals used.
        used: u32,
        /// The policy's cap.
        cap: u32,
    },
    /// The policy allows no deferral at all (`DeferralCap::AtMost(0)`).
    DeferralSwitchedOff,
    /// The end of a new deferral would not be a representable time.
    DeferralOutOfRange,
    /// The record says enrolled but lists no method. It is treated as not
    /// enrolled, and with no deferral count on record no deferral is offered.
    EnrolledWithoutMethod,
}

/// What a login must do about 2FA, after the password was accepted.
///
/// Only [`GateDecision::DeferralRunning`] lets a login finish without a
/// second factor, and never while the company enforces 2FA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "the login must follow the gate's decision"]
#[non_exhaustive]
pub enum GateDecision {
    /// The user has an active, allowed method: challenge them for the second
    /// factor now. This is not a pass: the login completes only when the
    /// challenge is answered.
    ChallengeSecondFactor {
        /// The user's active methods that the policy allows.
        methods: MethodSet,
    },
    /// Every active method of the user has been switched off by the company:
    /// challenge with one of them (proving it is the user), then require
    /// set-up of an allowed method before the login completes.
    ChallengeThenReplaceMethod {
        /// The user's active methods, for this last challenge.
        challenge_with: MethodSet,
        /// The methods the replacement may use.
        set_up_one_of: MethodSet,
    },
    /// The user has deferred set-up and the deferral is running: the login
    /// continues without a second factor. Never returned under enforcement.
    DeferralRunning {
        /// When the deferral is over.
        until: DateTime<Utc>,
    },
    /// Show set-up, with the option to defer it.
    OfferSetup {
        /// The methods the user may choose from.
        methods: MethodSet,
        /// The deferral the user may take instead.
        deferral: DeferralOffer,
    },
    /// Show set-up and nothing else: the login does not complete until a
    /// method is active.
    RequireSetup {
        /// The methods the user may choose from.
        methods: MethodSet,
        /// Why no deferral is offered.
        reason: SetupRequired,
    },
}

/// Decides what this login must do about 2FA.
///
/// Rules, in order:
/// 1. an enrolled user with an allowed active method is challenged
///    ([`GateDecision::ChallengeSecondFactor`]); if all their methods were
///    switched off, they are challenged and then must replace the method;
/// 2. under enforcement, anyone else must set up now
///    ([`SetupRequired::CompanyEnforces`]), whatever deferral they had;
/// 3. a deferral runs while `now < until`: at `until` it is over. A deferral
///    ending more than one deferral length after `now` cannot have been
///    granted under this policy and counts as over;
/// 4. otherwise set-up is offered with a deferral while the cap allows, and
///    required once it is reached.
///
/// The account kind does not change the decision: enforcement covers every
/// account of the company, partner employee or end-user client.
///
/// # Example
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use twofa_enforcement::{gate, CompanyPolicy, CompanySettings, GateDecision};
/// use twofa_types::{CompanyId, EnrollmentStatus};
///
/// let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
/// let settings = CompanySettings::new(CompanyId::new("acme")?);
/// let decision = gate(
///     &EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
///     &settings,
///     &CompanyPolicy::default(),
///     now,
/// );
/// let GateDecision::OfferSetup { deferral, .. } = decision else { unreachable!() };
/// assert_eq!(deferral.until, now + TimeDelta::hours(48));
/// # Ok::<(), twofa_types::IdError>(())
/// ```
pub fn gate(
    status: &EnrollmentStatus,
    settings: &CompanySettings,
    policy: &CompanyPolicy,
    now: DateTime<Utc>,
) -> GateDecision {
    let allowed = policy.allowed_methods();
    if let EnrollmentStatus::Enrolled { methods, .. } = *status
        && !methods.is_empty()
    {
        let usable = methods.intersection(allowed);
        return if usable.is_empty() {
            GateDecision::ChallengeThenReplaceMethod {
                challenge_with: methods,
                set_up_one_of: allowed,
            }
        } else {
            GateDecision::ChallengeSecondFactor { methods: usable }
        };
    }

    let require = |reason| GateDecision::RequireSetup {
        methods: allowed,
        reason,
    };
    if settings.is_enforced() {
        return require(SetupRequired::CompanyEnforces);
    }

    let used = match *status {
        EnrollmentStatus::Deferred {
            until,
            deferrals_used,
        } => {
            let plausible = now
                .checked_add_signed(policy.deferral_length())
                .is_some_and(|latest| until <= latest);
            if now < until && plausible {
                return GateDecision::DeferralRunning { until };
            }
            deferrals_used
        }
        EnrollmentStatus::NotEnrolled { deferrals_used }
        | EnrollmentStatus::Pending { deferrals_used, .. } => deferrals_used,
        // An enrolled record without a method grants nothing; it carries no
        // deferral count, so no deferral is offered either (fail closed).
        EnrollmentStatus::Enrolled { .. } => return require(SetupRequired::EnrolledWithoutMethod),
    };

    let cap = policy.deferral_cap();
    if cap == DeferralCap::AtMost(0) {
        return require(SetupRequired::DeferralSwitchedOff);
    }
    let Some(remaining) = cap.after_one_more(used) else {
        let cap = match cap {
            DeferralCap::AtMost(cap) => cap,
            DeferralCap::Unlimited => u32::MAX,
        };
        return require(SetupRequired::DeferralCapReached { used, cap });
    };
    let Some(until) = now.checked_add_signed(policy.deferral_length()) else {
        return require(SetupRequired::DeferralOutOfRange);
    };
    GateDecision::OfferSetup {
        methods: allowed,
        deferral: DeferralOffer {
            until,
            deferrals_used: used.saturating_add(1),
            remaining,
        },
    }
}
