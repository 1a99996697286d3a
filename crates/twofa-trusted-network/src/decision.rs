//! The re-prompt decision, trust grants and their revocation.

use chrono::{DateTime, TimeDelta, Utc};
use twofa_types::{AccountKind, EnrollmentStatus, TrustedNetworks};

use crate::allowlist::{ActorId, Allowlist, NetworkEntry};
use crate::cidr::Cidr;
use crate::client::{ClientAddress, ResolveError};

/// Whether trusted networks serve an account: partner employees may skip
/// the prompt on a trusted network, end-user client accounts never do. The
/// one place that says so; the decision and the enrollment report read it.
#[must_use]
pub const fn eligibility(account: AccountKind) -> TrustedNetworks {
    match account {
        AccountKind::PartnerEmployee => TrustedNetworks::Apply,
        AccountKind::EndUserClient => TrustedNetworks::DoNotApply,
    }
}

/// Why a policy value is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustPolicyError {
    /// The re-prompt interval was zero or negative.
    #[error("re-prompt interval must be positive")]
    IntervalNotPositive,
    /// The re-prompt interval has a fraction of a second.
    #[error("re-prompt interval must be whole seconds")]
    IntervalNotWholeSeconds,
}

/// The portal's trusted-network policy.
///
/// The only setting is the re-prompt interval: how long a grant earned on a
/// trusted network spares the user the second factor. The default is the
/// portal's 21 days, exactly 1,814,400 seconds of UTC time, so daylight-saving
/// changes never shorten or lengthen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "PolicyRecord", into = "PolicyRecord")
)]
pub struct TrustPolicy {
    reprompt_interval: TimeDelta,
}

impl Default for TrustPolicy {
    fn default() -> Self {
        Self {
            reprompt_interval: TimeDelta::seconds(1_814_400),
        }
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct PolicyRecord {
    reprompt_interval_seconds: i64,
}

#[cfg(feature = "serde")]
impl TryFrom<PolicyRecord> for TrustPolicy {
    type Error = TrustPolicyError;

    fn try_from(record: PolicyRecord) -> Result<Self, Self::Error> {
        let interval = TimeDelta::try_seconds(record.reprompt_interval_seconds)
            .ok_or(TrustPolicyError::IntervalNotPositive)?;
        Self::default().with_reprompt_interval(interval)
    }
}

#[cfg(feature = "serde")]
impl From<TrustPolicy> for PolicyRecord {
    fn from(policy: TrustPolicy) -> Self {
        Self {
            reprompt_interval_seconds: policy.reprompt_interval.num_seconds(),
        }
    }
}

impl TrustPolicy {
    /// The default policy (21 days).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the re-prompt interval.
    ///
    /// # Errors
    ///
    /// [`TrustPolicyError::IntervalNotPositive`] for zero or negative,
    /// [`TrustPolicyError::IntervalNotWholeSeconds`] for fractions of a second.
    pub fn with_reprompt_interval(self, interval: TimeDelta) -> Result<Self, TrustPolicyError> {
        if interval <= TimeDelta::zero() {
            return Err(TrustPolicyError::IntervalNotPositive);
        }
        if interval.subsec_nanos() != 0 {
            return Err(TrustPolicyError::IntervalNotWholeSeconds);
        }
        Ok(Self {
            reprompt_interval: interval,
        })
    }

    /// The re-prompt interval.
    #[must_use]
    pub fn reprompt_interval(&self) -> TimeDelta {
        self.reprompt_interval
    }

    /// Decides whether this login must be prompted for the second factor.
    ///
    /// The checks run in this order and the first that applies wins, so the
    /// reason is always the most fundamental one:
    ///
    /// 1. not enrolled: [`PromptReason::NotEnrolled`] (trusted networks
    ///    never skip set-up);
    /// 2. client account: [`PromptReason::ClientAccount`];
    /// 3. unknown client address: [`PromptReason::UnresolvableClientAddress`];
    /// 4. address in no entry of the allowlist:
    ///    [`PromptReason::NotOnTrustedNetwork`];
    /// 5. no grant: [`PromptReason::NoGrant`]; revoked grant:
    ///    [`PromptReason::GrantRevoked`];
    /// 6. the entry the grant was earned on is no longer listed (same network
    ///    and same `added_at`): [`PromptReason::GrantNetworkRemoved`];
    /// 7. `now` before the grant's issue time (the clock moved backwards):
    ///    [`PromptReason::ClockBeforeGrant`];
    /// 8. `now` at or after the grant's expiry: [`PromptReason::GrantExpired`].
    ///
    /// Otherwise the decision is [`Decision::Skip`]. A grant is valid for `now`
    /// in the half-open interval `[issued_at, expires_at)`, where `expires_at`
    /// is the earlier of the grant's own expiry and `issued_at` plus this
    /// policy's interval, so shortening the interval also shortens existing
    /// grants. The login must be on some entry of the same allowlist, not
    /// necessarily the one the grant was earned on.
    ///
    /// # Security
    ///
    /// Pass the allowlist of the user's own company and the grant of this
    /// user: the decision cannot tell otherwise.
    pub fn decide(&self, facts: &LoginFacts<'_>, now: DateTime<Utc>) -> Decision {
        let on_network = match self.eligible_network(facts) {
            Ok(entry) => entry,
            Err(reason) => return Decision::Prompt(reason),
        };
        let grant = match facts.grant {
            None => return Decision::Prompt(PromptReason::NoGrant),
            Some(TrustGrantRecord::Revoked(_)) => {
                return Decision::Prompt(PromptReason::GrantRevoked);
            }
            Some(TrustGrantRecord::Active(grant)) => grant,
        };
        let still_listed = facts
            .allowlist
            .entry(grant.network)
            .is_some_and(|entry| entry.added_at() == grant.network_added_at);
        if !still_listed {
            return Decision::Prompt(PromptReason::GrantNetworkRemoved);
        }
        if now < grant.issued_at {
            return Decision::Prompt(PromptReason::ClockBeforeGrant);
        }
        let expires_at = grant
            .issued_at
            .checked_add_signed(self.reprompt_interval)
            .map_or(grant.expires_at, |limit| limit.min(grant.expires_at));
        if now >= expires_at {
            return Decision::Prompt(PromptReason::GrantExpired);
        }
        Decision::Skip {
            next_prompt_at: expires_at,
            network: on_network.network(),
        }
    }

    /// The grant a user earns by completing the second factor at
    /// `completed_at` on this login, or why none is earned.
    ///
    /// The grant records the most specific allowlist entry containing the
    /// client address, is issued at `completed_at` and expires one re-prompt
    /// interval later. Any existing grant in `facts` plays no part.
    ///
    /// # Errors
    ///
    /// [`NoGrant`] when the user is not enrolled, is a client account, the
    /// client address is unknown or not on a trusted network, or the expiry
    /// would be out of chrono's range.
    pub fn grant(
        &self,
        facts: &LoginFacts<'_>,
        completed_at: DateTime<Utc>,
    ) -> Result<TrustGrant, NoGrant> {
        let entry = self
            .eligible_network(facts)
            .map_err(|reason| match reason {
                PromptReason::NotEnrolled => NoGrant::NotEnrolled,
                PromptReason::ClientAccount => NoGrant::ClientAccount,
                PromptReason::UnresolvableClientAddress(error) => {
                    NoGrant::UnresolvableClientAddress(error)
                }
                _ => NoGrant::NotOnTrustedNetwork,
            })?;
        let expires_at = completed_at
            .checked_add_signed(self.reprompt_interval)
            .ok_or(NoGrant::ExpiryOutOfRange)?;
        Ok(TrustGrant {
            network: entry.network(),
            network_added_at: entry.added_at(),
            issued_at: completed_at,
            expires_at,
        })
    }

    /// Steps 1 to 4 of [`TrustPolicy::decide`]: the entry the login is on.
    fn eligible_network<'a>(
        &self,
        facts: &LoginFacts<'a>,
    ) -> Result<&'a NetworkEntry, PromptReason> {
        if !facts.enrollment.has_active_method() {
            return Err(PromptReason::NotEnrolled);
        }
        if eligibility(facts.account) == TrustedNetworks::DoNotApply {
            return Err(PromptReason::ClientAccount);
        }
        let ip = match *facts.client {
            ClientAddress::Resolved { ip, .. } => ip,
            ClientAddress::Unresolvable(error) => {
                return Err(PromptReason::UnresolvableClientAddress(error));
            }
        };
        facts
            .allowlist
            .lookup(ip)
            .ok_or(PromptReason::NotOnTrustedNetwork)
    }
}

/// Everything known about one login that the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct LoginFacts<'a> {
    account: AccountKind,
    enrollment: EnrollmentStatus,
    allowlist: &'a Allowlist,
    client: &'a ClientAddress,
    grant: Option<&'a TrustGrantRecord>,
}

impl<'a> LoginFacts<'a> {
    /// Facts of a login by a user without a grant.
    #[must_use]
    pub fn new(
        account: AccountKind,
        enrollment: EnrollmentStatus,
        allowlist: &'a Allowlist,
        client: &'a ClientAddress,
    ) -> Self {
        Self {
            account,
            enrollment,
            allowlist,
            client,
            grant: None,
        }
    }

    /// The user's stored grant record.
    #[must_use]
    pub fn with_grant(self, grant: &'a TrustGrantRecord) -> Self {
        Self {
            grant: Some(grant),
            ..self
        }
    }
}

/// Whether to prompt for the second factor.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Ask for the second factor (or, for [`PromptReason::NotEnrolled`],
    /// send the user to set-up).
    Prompt(PromptReason),
    /// Do not ask: a valid grant covers this login.
    Skip {
        /// When the grant stops covering logins.
        next_prompt_at: DateTime<Utc>,
        /// The allowlist entry the login is on.
        network: Cidr,
    },
}

/// Why a login is prompted. The detail is for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PromptReason {
    /// The user has no active second factor: send them to set-up, not to a
    /// code prompt.
    NotEnrolled,
    /// End-user client accounts never use trusted networks.
    ClientAccount,
    /// The client address could not be established.
    UnresolvableClientAddress(ResolveError),
    /// The client address is in no entry of the allowlist.
    NotOnTrustedNetwork,
    /// The user has no grant.
    NoGrant,
    /// The grant was revoked.
    GrantRevoked,
    /// The entry the grant was earned on is no longer listed.
    GrantNetworkRemoved,
    /// `now` is before the grant's issue time: the clock moved backwards.
    ClockBeforeGrant,
    /// The grant has expired.
    GrantExpired,
}

/// Why completing the second factor earned no grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NoGrant {
    /// The user has no active second factor.
    #[error("user is not enrolled")]
    NotEnrolled,
    /// End-user client accounts never earn grants.
    #[error("client accounts do not earn grants")]
    ClientAccount,
    /// The client address could not be established.
    #[error("client address is unresolvable: {0}")]
    UnresolvableClientAddress(ResolveError),
    /// The client address is in no entry of the allowlist.
    #[error("client address is not on a trusted network")]
    NotOnTrustedNetwork,
    /// Issue time plus the interval is beyond the range of dates.
    #[error("grant expiry is out of range")]
    ExpiryOutOfRange,
}

/// A user's permission to skip the second factor on the company's trusted
/// networks until it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "GrantRecord", into = "GrantRecord")
)]
pub struct TrustGrant {
    network: Cidr,
    network_added_at: DateTime<Utc>,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// Why stored grant fields are inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The expiry is not after the issue time.
    #[error("grant expires at or before its issue time")]
    ExpiresBeforeIssued,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct GrantRecord {
    network: Cidr,
    network_added_at: DateTime<Utc>,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

#[cfg(feature = "serde")]
impl TryFrom<GrantRecord> for TrustGrant {
    type Error = GrantError;

    fn try_from(record: GrantRecord) -> Result<Self, Self::Error> {
        Self::from_parts(
            record.network,
            record.network_added_at,
            record.issued_at,
            record.expires_at,
        )
    }
}

#[cfg(feature = "serde")]
impl From<TrustGrant> for GrantRecord {
    fn from(grant: TrustGrant) -> Self {
        Self {
            network: grant.network,
            network_added_at: grant.network_added_at,
            issued_at: grant.issued_at,
            expires_at: grant.expires_at,
        }
    }
}

impl TrustGrant {
    /// Rebuilds a grant from stored fields (grants are issued by
    /// [`TrustPolicy::grant`]).
    ///
    /// # Errors
    ///
    /// [`GrantError::ExpiresBeforeIssued`] unless `issued_at < expires_at`.
    pub fn from_parts(
        network: Cidr,
        network_added_at: DateTime<Utc>,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Self, GrantError> {
        if expires_at <= issued_at {
            return Err(GrantError::ExpiresBeforeIssued);
        }
        Ok(Self {
            network,
            network_added_at,
            issued_at,
            expires_at,
        })
    }

    /// The network of the allowlist entry the grant was earned on.
    #[must_use]
    pub fn network(&self) -> Cidr {
        self.network
    }

    /// When that entry was added (part of its identity).
    #[must_use]
    pub fn network_added_at(&self) -> DateTime<Utc> {
        self.network_added_at
    }

    /// When the second factor was completed.
    #[must_use]
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    /// The first instant the grant no longer covers.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Whether the grant was earned on `entry` (same network, same
    /// `added_at`): use it to revoke grants when an entry is removed.
    #[must_use]
    pub fn was_earned_on(&self, entry: &NetworkEntry) -> bool {
        self.network == entry.network() && self.network_added_at == entry.added_at()
    }

    /// Ends the grant.
    #[must_use]
    pub fn revoke(self, reason: RevocationReason, at: DateTime<Utc>) -> RevokedGrant {
        RevokedGrant {
            grant: self,
            reason,
            revoked_at: at,
        }
    }
}

/// Why a grant ended early.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RevocationReason {
    /// The user's password changed.
    PasswordChanged,
    /// A second-factor method was added, removed or changed.
    SecondFactorMethodsChanged,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// An administrator revoked the grant.
    AdminRevoked {
        /// The administrator.
        by: ActorId,
    },
    /// The allowlist entry the grant was earned on was removed.
    NetworkRemoved,
    /// The account changed in a way that ends trust (its kind, or the
    /// email address codes can be sent to).
    AccountChanged,
}

/// A grant that was revoked, kept for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RevokedGrant {
    grant: TrustGrant,
    reason: RevocationReason,
    revoked_at: DateTime<Utc>,
}

impl RevokedGrant {
    /// The grant as it was.
    #[must_use]
    pub fn grant(&self) -> &TrustGrant {
        &self.grant
    }

    /// Why it was revoked.
    #[must_use]
    pub fn reason(&self) -> &RevocationReason {
        &self.reason
    }

    /// When it was revoked.
    #[must_use]
    pub fn revoked_at(&self) -> DateTime<Utc> {
        self.revoked_at
    }
}

/// A user's stored grant.
///
/// ```text
///            TrustPolicy::grant
///   (none) ─────────────────────▶ Active ──revoke(reason, at)──▶ Revoked
///                                   │                               │
///                                   └──── expires (by time) ────────┴─▶ prompt; a new
///                                                                      grant replaces it
/// ```
///
/// A revoked record is final: revoking it again is an error and leaves it
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TrustGrantRecord {
    /// A grant in force (subject to its expiry and its entry being listed).
    Active(TrustGrant),
    /// A grant that was revoked.
    Revoked(RevokedGrant),
}

/// Why a revocation was refused. The record is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// The grant was already revoked.
    #[error("grant is already revoked")]
    AlreadyRevoked,
}

impl TrustGrantRecord {
    /// Applies a revocation event at `at`.
    ///
    /// # Errors
    ///
    /// [`RevokeError::AlreadyRevoked`] if the record is already revoked.
    pub fn revoke(&self, reason: RevocationReason, at: DateTime<Utc>) -> Result<Self, RevokeError> {
        match self {
            Self::Active(grant) => Ok(Self::Revoked(grant.revoke(reason, at))),
            Self::Revoked(_) => Err(RevokeError::AlreadyRevoked),
        }
    }
}

impl From<TrustGrant> for TrustGrantRecord {
    fn from(grant: TrustGrant) -> Self {
        Self::Active(grant)
    }
}
