//! Audit events: one per transition, with stable names, never a secret, a
//! code or a full phone number.

use core::fmt;

use chrono::{DateTime, Utc};
use twofa_delivery::Destination;
use twofa_passkey::RefusalReason;
use twofa_types::{Method, UserId};

use crate::method::MethodId;

/// What happened. [`AuditKind::name`] is the stable name to index on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AuditKind {
    /// `enrollment.started`: set-up of a method began (first method or an
    /// additional one).
    EnrollmentStarted,
    /// `enrollment.not_mobile_dialog`: the number is not (known to be) a
    /// mobile; the app was recommended.
    NotMobileDialogShown,
    /// `enrollment.code_resent`: a fresh code went out.
    CodeResent,
    /// `enrollment.code_rejected`: a wrong code during set-up.
    EnrollmentCodeRejected,
    /// `enrollment.verified`: a method was activated by proof of possession.
    EnrollmentVerified,
    /// `enrollment.cancelled`: a pending set-up or change was abandoned.
    EnrollmentCancelled,
    /// `enrollment.deferred`: the user chose "remind me later".
    EnrollmentDeferred,
    /// `enrollment.display_name_changed`.
    DisplayNameChanged,
    /// `enrollment.number_change_started`: a new number awaits its code.
    NumberChangeStarted,
    /// `enrollment.number_changed`: the new number replaced the old one.
    NumberChanged,
    /// `enrollment.method_removed`.
    MethodRemoved,
    /// `enrollment.primary_changed`.
    PrimaryChanged,
    /// `enrollment.recovery_codes_generated`: a new set replaced the old.
    RecoveryCodesGenerated,
    /// `enrollment.recovery_code_used`.
    RecoveryCodeUsed,
    /// `enrollment.recovery_code_rejected`.
    RecoveryCodeRejected,
    /// `login.code_sent`: a login code went out.
    LoginCodeSent,
    /// `code.undelivered`: the provider reported that a code it accepted
    /// was not delivered.
    CodeUndelivered,
    /// `push.sent`: a push prompt went to a paired device.
    PushSent,
    /// `login.succeeded`: a second factor was accepted at login.
    LoginSucceeded,
    /// `login.failed`: a wrong login code.
    LoginFailed,
    /// `factor.throttled`: an attempt was refused unevaluated because of
    /// earlier failures. A refused attempt changes nothing, so no
    /// transition emits it: callers that audit refusals record it on
    /// [`EnrollmentError::RetryAfter`](crate::EnrollmentError::RetryAfter).
    Throttled,
    /// `factor.suspended`: the consecutive-failure limit was reached.
    Suspended,
    /// `enrollment.admin_reset`: an administrator cleared the enrollment.
    AdminReset,
}

impl AuditKind {
    /// The stable name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::EnrollmentStarted => "enrollment.started",
            Self::NotMobileDialogShown => "enrollment.not_mobile_dialog",
            Self::CodeResent => "enrollment.code_resent",
            Self::EnrollmentCodeRejected => "enrollment.code_rejected",
            Self::EnrollmentVerified => "enrollment.verified",
            Self::EnrollmentCancelled => "enrollment.cancelled",
            Self::EnrollmentDeferred => "enrollment.deferred",
            Self::DisplayNameChanged => "enrollment.display_name_changed",
            Self::NumberChangeStarted => "enrollment.number_change_started",
            Self::NumberChanged => "enrollment.number_changed",
            Self::MethodRemoved => "enrollment.method_removed",
            Self::PrimaryChanged => "enrollment.primary_changed",
            Self::RecoveryCodesGenerated => "enrollment.recovery_codes_generated",
            Self::RecoveryCodeUsed => "enrollment.recovery_code_used",
            Self::RecoveryCodeRejected => "enrollment.recovery_code_rejected",
            Self::LoginCodeSent => "login.code_sent",
            Self::CodeUndelivered => "code.undelivered",
            Self::PushSent => "push.sent",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::Throttled => "factor.throttled",
            Self::Suspended => "factor.suspended",
            Self::AdminReset => "enrollment.admin_reset",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A destination as the audit trail may show it: masked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MaskedDestination(String);

impl MaskedDestination {
    /// Masks `destination` (all but the last digits of a phone number,
    /// most of an email's local part).
    #[must_use]
    pub fn new(destination: &Destination) -> Self {
        Self(destination.to_string())
    }

    /// The masked text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaskedDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct EnrollmentAudit {
    /// What happened.
    pub kind: AuditKind,
    /// To whom.
    pub user: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// The method concerned, if any.
    pub method: Option<Method>,
    /// The method's identifier in the record, if any.
    pub method_id: Option<MethodId>,
    /// The destination concerned, masked.
    pub destination: Option<MaskedDestination>,
    /// Consecutive failures after this event, for failure events.
    pub consecutive_failures: Option<u32>,
    /// Why a passkey's answer was refused (a wrong origin is what a
    /// look-alike site produces).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub passkey_refusal: Option<RefusalReason>,
}

impl EnrollmentAudit {
    pub(crate) fn new(kind: AuditKind, user: &UserId, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            user: user.clone(),
            at,
            method: None,
            method_id: None,
            destination: None,
            consecutive_failures: None,
            passkey_refusal: None,
        }
    }

    pub(crate) fn method(mut self, kind: Method) -> Self {
        self.method = Some(kind);
        self
    }

    pub(crate) fn method_id(mut self, id: MethodId) -> Self {
        self.method_id = Some(id);
        self
    }

    pub(crate) fn destination(mut self, destination: &Destination) -> Self {
        self.destination = Some(MaskedDestination::new(destination));
        self
    }

    pub(crate) fn failures(mut self, failures: u32) -> Self {
        self.consecutive_failures = Some(failures);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::AuditKind;

    #[test]
    fn names_are_unique_and_dotted() {
        let all = [
            AuditKind::EnrollmentStarted,
            AuditKind::NotMobileDialogShown,
            AuditKind::CodeResent,
            AuditKind::EnrollmentCodeRejected,
            AuditKind::EnrollmentVerified,
            AuditKind::EnrollmentCancelled,
            AuditKind::EnrollmentDeferred,
            AuditKind::DisplayNameChanged,
            AuditKind::NumberChangeStarted,
            AuditKind::NumberChanged,
            AuditKind::MethodRemoved,
            AuditKind::PrimaryChanged,
            AuditKind::RecoveryCodesGenerated,
            AuditKind::RecoveryCodeUsed,
            AuditKind::RecoveryCodeRejected,
            AuditKind::LoginCodeSent,
            AuditKind::CodeUndelivered,
            AuditKind::PushSent,
            AuditKind::LoginSucceeded,
            AuditKind::LoginFailed,
            AuditKind::Throttled,
            AuditKind::Suspended,
            AuditKind::AdminReset,
        ];
        let mut names: Vec<&str> = all.iter().map(|k| k.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.contains('.') && *n == n.to_lowercase())
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
