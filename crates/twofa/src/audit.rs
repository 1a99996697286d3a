//! What the audit trail records. Identifiers, methods, networks and times:
//! never a secret, a code or a full phone number.

use chrono::{DateTime, Utc};
use twofa_delivery::{BudgetScope, Notice, SendError, SendKind};
use twofa_passkey::RefusalReason;
use twofa_trusted_network::Cidr;
use twofa_types::{Channel, CountryCode, Method, UserId};

/// Why a login was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AllowedBy {
    /// The user answered the second factor with this method.
    SecondFactor {
        /// The method.
        method: Method,
    },
    /// The user redeemed a recovery code.
    RecoveryCode,
    /// A trusted-network grant covers the login.
    TrustedNetwork {
        /// The network the login came from.
        network: Cidr,
        /// When the grant ends.
        until: DateTime<Utc>,
    },
    /// The user's "remind me later" deferral is running.
    DeferralRunning {
        /// When it ends.
        until: DateTime<Utc>,
    },
    /// The user just chose "remind me later".
    Deferred {
        /// When the deferral ends.
        until: DateTime<Utc>,
    },
}

/// The detailed reason a login step was refused. The end user sees only a
/// coarse [`Rejected`](crate::Rejected); this goes to the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RejectionDetail {
    /// No user with this id.
    UnknownUser,
    /// The user's company has no record.
    UnknownCompany,
    /// The ticket is unknown (never issued, or already removed).
    UnknownTicket,
    /// The ticket was issued for another user.
    TicketUserMismatch,
    /// The ticket expired.
    TicketExpired,
    /// The login already completed with this ticket.
    TicketAlreadyUsed,
    /// The request does not fit the login's stage (a code before a method
    /// was chosen, a deferral not offered, ...).
    WrongStage,
    /// The method is not allowed by the company's policy or not enrolled.
    MethodNotAvailable,
    /// The phone number or email address could not be parsed.
    InvalidDestination,
    /// The code was wrong.
    WrongCode,
    /// The text typed was not a code (not 6 to 10 digits, grouped at most
    /// by single spaces or hyphens); nothing was read or counted.
    MalformedCode,
    /// The code was right but already used (replay).
    Replayed,
    /// The code expired.
    CodeExpired,
    /// Too many wrong codes for this code; a new one is needed.
    TooManyFailedChecks,
    /// Attempts are throttled after consecutive failures.
    Throttled,
    /// The second factor is suspended until an administrator resets it.
    Suspended,
    /// The recovery code was not one of the user's unused codes.
    WrongRecoveryCode,
    /// The re-send was refused (cooldown, cap, channel).
    ResendRefused,
    /// The push prompt is pending, denied or expired.
    PushNotApproved,
    /// A push prompt could not be prepared (rate limit).
    PushRefused,
    /// The delivery provider failed; nothing was committed.
    ProviderFailed,
    /// A store failed.
    StoreFailed,
    /// The record kept changing under concurrent updates; retries ran out.
    StoreContention,
    /// A sealed record could not be opened or sealed.
    SealingFailed,
    /// No randomness was available.
    RandomUnavailable,
    /// A time computation left the representable range.
    TimeOutOfRange,
    /// The stored enrollment is inconsistent with the request.
    InconsistentRecord,
    /// A sensitive change needed a second factor completed in the last
    /// minutes (step-up), and the last one is older.
    StepUpRequired,
    /// The method cannot be removed: it is the last one while the company
    /// enforces 2FA, or the last one of a kind the company allows.
    MethodRequired,
    /// A send budget ran out: nothing was sent and nothing changed.
    SendBudgetExhausted {
        /// The budget that ran out.
        scope: BudgetScope,
    },
    /// The phone number is in a country the service or the company does
    /// not send codes to: nothing was sent and nothing changed.
    CountryNotAllowed,
    /// The browser's answer to a passkey ceremony was refused (a look-alike
    /// origin, a replayed or expired challenge, an unknown credential ...);
    /// the ceremony is over and the failure was counted.
    PasskeyRefused {
        /// Why.
        reason: RefusalReason,
    },
}

impl RejectionDetail {
    /// A short, stable name in snake case (`wrong_code`, `unknown_user`),
    /// for log fields and metric labels.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::UnknownCompany => "unknown_company",
            Self::UnknownTicket => "unknown_ticket",
            Self::TicketUserMismatch => "ticket_user_mismatch",
            Self::TicketExpired => "ticket_expired",
            Self::TicketAlreadyUsed => "ticket_already_used",
            Self::WrongStage => "wrong_stage",
            Self::MethodNotAvailable => "method_not_available",
            Self::InvalidDestination => "invalid_destination",
            Self::WrongCode => "wrong_code",
            Self::MalformedCode => "malformed_code",
            Self::Replayed => "replayed",
            Self::CodeExpired => "code_expired",
            Self::TooManyFailedChecks => "too_many_failed_checks",
            Self::Throttled => "throttled",
            Self::Suspended => "suspended",
            Self::WrongRecoveryCode => "wrong_recovery_code",
            Self::ResendRefused => "resend_refused",
            Self::PushNotApproved => "push_not_approved",
            Self::PushRefused => "push_refused",
            Self::ProviderFailed => "provider_failed",
            Self::StoreFailed => "store_failed",
            Self::StoreContention => "store_contention",
            Self::SealingFailed => "sealing_failed",
            Self::RandomUnavailable => "random_unavailable",
            Self::TimeOutOfRange => "time_out_of_range",
            Self::InconsistentRecord => "inconsistent_record",
            Self::StepUpRequired => "step_up_required",
            Self::MethodRequired => "method_required",
            Self::SendBudgetExhausted { .. } => "send_budget_exhausted",
            Self::CountryNotAllowed => "country_not_allowed",
            Self::PasskeyRefused { .. } => "passkey_refused",
        }
    }
}

impl core::fmt::Display for RejectionDetail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str().replace('_', " ").as_str())
    }
}

/// Something that happened, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AuditEvent {
    /// A login was allowed.
    LoginAllowed {
        /// Why.
        by: AllowedBy,
    },
    /// A login step was refused.
    Rejected {
        /// Why, in detail.
        detail: RejectionDetail,
    },
    /// The user started setting up a method.
    SetupStarted {
        /// The method.
        method: Method,
    },
    /// A method was verified and is now active.
    MethodActivated {
        /// The method.
        method: Method,
    },
    /// A one-time code was sent.
    CodeSent {
        /// The channel.
        channel: Channel,
    },
    /// A send failed; nothing was committed.
    SendFailed {
        /// The channel.
        channel: Channel,
    },
    /// A push prompt was sent.
    PushSent,
    /// A code, notice or push prompt was not sent: a send budget ran out.
    SendBudgetExhausted {
        /// What was to be sent.
        what: SendKind,
        /// Its channel.
        channel: Channel,
        /// The budget that ran out.
        scope: BudgetScope,
        /// When that budget's window ends.
        frees_at: DateTime<Utc>,
    },
    /// A code or notice was not sent: its number's country code is not
    /// allowed by the service or by the company.
    SendCountryRefused {
        /// What was to be sent.
        what: SendKind,
        /// Its channel.
        channel: Channel,
        /// The refused country code (never the number).
        country: Option<CountryCode>,
    },
    /// The user deferred set-up.
    SetupDeferred {
        /// Until when.
        until: DateTime<Utc>,
    },
    /// A trusted-network grant was issued.
    TrustGrantIssued {
        /// The network it was earned on.
        network: Cidr,
        /// When it ends.
        expires_at: DateTime<Utc>,
    },
    /// A trusted-network grant was revoked by an administrator.
    TrustGrantRevoked {
        /// The administrator.
        by: UserId,
    },
    /// A recovery code was redeemed.
    RecoveryCodeUsed,
    /// An administrator required 2FA for the whole company.
    EnforcementEnabled {
        /// The administrator.
        by: UserId,
    },
    /// An administrator replaced the company's policy.
    PolicyChanged {
        /// The administrator.
        by: UserId,
    },
    /// An administrator added a trusted network.
    NetworkAdded {
        /// The network.
        network: Cidr,
        /// The administrator.
        by: UserId,
    },
    /// An administrator removed a trusted network; grants earned on it end.
    NetworkRemoved {
        /// The network.
        network: Cidr,
        /// The administrator.
        by: UserId,
    },
    /// A transition of the user's enrollment (set-up, verification,
    /// deferral, recovery codes, throttling), as the enrollment crate
    /// describes it.
    Enrollment(twofa_enrollment::EnrollmentAudit),
    /// An administrator reset a user's second factor.
    FactorReset {
        /// The administrator.
        by: UserId,
    },
    /// A security notice was accepted by the notice channel. Logged once
    /// per destination; the destination itself is not recorded.
    NoticeSent {
        /// What the notice reported.
        notice: Notice,
        /// The channel (SMS or email).
        channel: Channel,
    },
    /// A security notice was not accepted; the operation it reports
    /// stands.
    NoticeFailed {
        /// What the notice reported.
        notice: Notice,
        /// The channel (SMS or email).
        channel: Channel,
        /// Why (`Permanent(NotConfigured)` when no notice sender is
        /// configured).
        error: SendError,
    },
    /// A security notice had nowhere to go: the user has no email address
    /// and the notice concerns no phone number.
    NoticeUndeliverable {
        /// What the notice reported.
        notice: Notice,
    },
    /// The application created the company.
    CompanyCreated,
    /// The application deleted the company.
    CompanyDeleted,
    /// The application created the user.
    UserCreated,
    /// The application changed the user's name, email address or account
    /// kind.
    UserUpdated,
    /// The application deleted the user.
    UserDeleted,
    /// The application reported a change of the user's password.
    PasswordChanged,
    /// An administrator added a trusted network beyond the address-space
    /// limit (the explicit override).
    NetworkAddedBeyondLimit {
        /// The network.
        network: Cidr,
        /// The administrator.
        by: UserId,
    },
}
