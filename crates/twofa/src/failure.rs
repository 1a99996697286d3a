//! [`Failure`], a refusal inside the service (the detail for the audit
//! trail and the advice for the user), and the mapping of refused
//! enrollment transitions onto it.

use twofa_enrollment::EnrollmentError;
use twofa_passkey::RefusalReason;

use crate::audit::RejectionDetail;
use crate::steps::RetryAdvice;
use crate::store::StoreError;

/// A refusal inside the service: the detail for the audit trail and the
/// advice for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) detail: RejectionDetail,
    pub(crate) advice: RetryAdvice,
    /// Decided on cached records: the step is evaluated again on records
    /// read from the store, and this refusal is never shown.
    pub(crate) stale: bool,
}

impl Failure {
    pub(crate) const fn new(detail: RejectionDetail, advice: RetryAdvice) -> Self {
        Self {
            detail,
            advice,
            stale: false,
        }
    }

    /// A step evaluated on cached records that is not an acceptance, or
    /// whose commit found a record changed.
    pub(crate) const fn stale() -> Self {
        Self {
            detail: RejectionDetail::StoreContention,
            advice: RetryAdvice::StartOver,
            stale: true,
        }
    }

    pub(crate) const fn start_over(detail: RejectionDetail) -> Self {
        Self::new(detail, RetryAdvice::StartOver)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        crate::observe::store_error("store", &error);
        match error {
            // An outage or a timeout: nothing was written (a store writes
            // a record whole or not at all), so the same step can be tried
            // again on the same ticket.
            StoreError::Unavailable => Self::new(
                RejectionDetail::StoreFailed,
                RetryAdvice::TemporarilyUnavailable,
            ),
            StoreError::Corrupt | StoreError::Refused => {
                Self::start_over(RejectionDetail::StoreFailed)
            }
        }
    }
}

/// Maps a refused enrollment transition to the audit detail and the
/// user's advice.
pub(crate) fn enrollment_failure(error: EnrollmentError) -> Failure {
    use twofa_delivery::ResendError;
    let (detail, advice) = match error {
        EnrollmentError::PendingExpired { .. } => {
            (RejectionDetail::CodeExpired, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::TooManyWrongCodes => (
            RejectionDetail::TooManyFailedChecks,
            RetryAdvice::NewCodeNeeded,
        ),
        EnrollmentError::RetryAfter { .. } => (RejectionDetail::Throttled, RetryAdvice::TryLater),
        EnrollmentError::Suspended { .. } => (RejectionDetail::Suspended, RetryAdvice::TryLater),
        EnrollmentError::MalformedCode => {
            (RejectionDetail::MalformedCode, RetryAdvice::IncorrectCode)
        }
        EnrollmentError::WrongCode => (RejectionDetail::WrongCode, RetryAdvice::IncorrectCode),
        EnrollmentError::ReplayedCode => (RejectionDetail::Replayed, RetryAdvice::IncorrectCode),
        EnrollmentError::NoCodeOutstanding => {
            (RejectionDetail::WrongStage, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::UnknownMethod { .. }
        | EnrollmentError::NotAPhoneMethod { .. }
        | EnrollmentError::NotACodeRecipient { .. }
        | EnrollmentError::Issue(_) => {
            (RejectionDetail::MethodNotAvailable, RetryAdvice::StartOver)
        }
        EnrollmentError::Resend(
            ResendError::CooldownActive { .. } | ResendError::SendCapReached { .. },
        ) => (RejectionDetail::ResendRefused, RetryAdvice::TryLater),
        EnrollmentError::Resend(_) | EnrollmentError::ResendNotApplicable => {
            (RejectionDetail::ResendRefused, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::StepUpRequired => (
            RejectionDetail::StepUpRequired,
            RetryAdvice::ReauthenticationRequired,
        ),
        EnrollmentError::Push(_) => (RejectionDetail::PushRefused, RetryAdvice::TryLater),
        EnrollmentError::NotAPushMethod { .. } => {
            (RejectionDetail::MethodNotAvailable, RetryAdvice::StartOver)
        }
        EnrollmentError::PushAlreadyAnswered
        | EnrollmentError::NoPushOutstanding
        | EnrollmentError::PushPending
        | EnrollmentError::PushDenied => {
            (RejectionDetail::PushNotApproved, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::TimeOutOfRange => {
            (RejectionDetail::TimeOutOfRange, RetryAdvice::StartOver)
        }
        EnrollmentError::KeyUri => (RejectionDetail::InconsistentRecord, RetryAdvice::StartOver),
        EnrollmentError::NotAllowed { .. } | EnrollmentError::AlreadyDeferred { .. } => {
            (RejectionDetail::WrongStage, RetryAdvice::StartOver)
        }
        EnrollmentError::LastMethodUnderEnforcement => {
            (RejectionDetail::MethodRequired, RetryAdvice::CheckInput)
        }
        EnrollmentError::PasskeysNotConfigured
        | EnrollmentError::PasskeyUnavailable
        | EnrollmentError::NotAPasskey
        | EnrollmentError::PasskeyExpected => {
            (RejectionDetail::MethodNotAvailable, RetryAdvice::StartOver)
        }
        EnrollmentError::NoPasskeyOutstanding => {
            (RejectionDetail::WrongStage, RetryAdvice::PasskeyNotAccepted)
        }
        // Not an answer at all: nothing was evaluated or counted.
        EnrollmentError::PasskeyRefused(reason @ RefusalReason::Malformed) => (
            RejectionDetail::PasskeyRefused { reason },
            RetryAdvice::CheckInput,
        ),
        EnrollmentError::PasskeyRefused(reason) => (
            RejectionDetail::PasskeyRefused { reason },
            RetryAdvice::PasskeyNotAccepted,
        ),
    };
    Failure::new(detail, advice)
}
