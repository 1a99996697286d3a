//! Why a transition was refused. A refused transition changes nothing.

use chrono::{DateTime, Utc};
use twofa_delivery::{IssueError, PushPrepareError, ResendError};
use twofa_passkey::RefusalReason;

use crate::machine::{EventKind, StateKind};
use crate::method::MethodId;

/// Why an event was refused. The record is unchanged and nothing needs
/// saving.
///
/// Deliberately not `#[non_exhaustive]`: whoever turns a refusal into what
/// the user is told (the `twofa` facade) matches every variant, so a new
/// refusal fails to compile there instead of being filed under a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EnrollmentError {
    /// The event makes no sense in this state.
    #[error("{event} is not allowed while {state}")]
    NotAllowed {
        /// The current state.
        state: StateKind,
        /// The refused event.
        event: EventKind,
    },
    /// Set-up is already deferred.
    #[error("set-up is already deferred until {until}")]
    AlreadyDeferred {
        /// The end of the deferral.
        until: DateTime<Utc>,
    },
    /// The pending verification expired; start again (or re-send a code).
    #[error("the pending verification expired at {expired_at}")]
    PendingExpired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// The pending verification reached its limit of wrong codes; start
    /// again.
    #[error("too many wrong codes for this verification")]
    TooManyWrongCodes,
    /// Earlier failures impose a wait: the attempt was not evaluated.
    #[error("too many failed attempts; retry after {at}")]
    RetryAfter {
        /// The first instant an attempt is evaluated.
        at: DateTime<Utc>,
    },
    /// The second factor is suspended after too many consecutive failures
    /// until an administrator resets it or a recovery code is used.
    #[error("second factor suspended since {since}")]
    Suspended {
        /// When the suspension began.
        since: DateTime<Utc>,
    },
    /// The change needs a second factor completed within the step-up
    /// freshness window.
    #[error("a recent second factor is required for this change")]
    StepUpRequired,
    /// No method with this id.
    #[error("no method {id}")]
    UnknownMethod {
        /// The id given.
        id: MethodId,
    },
    /// The method is not an SMS or voice method.
    #[error("method {id} has no phone number")]
    NotAPhoneMethod {
        /// The id given.
        id: MethodId,
    },
    /// The method has no code to send (an app method shows its own).
    #[error("method {id} does not receive codes")]
    NotACodeRecipient {
        /// The id given.
        id: MethodId,
    },
    /// No WebAuthn relying party is configured: passkeys cannot be used.
    #[error("passkeys are not configured")]
    PasskeysNotConfigured,
    /// The ceremony could not start (no passkey to ask for, or the WebAuthn
    /// library could not build a challenge).
    #[error("the passkey ceremony could not start")]
    PasskeyUnavailable,
    /// A passkey set-up is answered by the browser, not by a code.
    #[error("a passkey set-up takes the browser's answer, not a code")]
    PasskeyExpected,
    /// The pending set-up or the method is not a passkey.
    #[error("not a passkey")]
    NotAPasskey,
    /// No passkey ceremony is outstanding for this login (never started,
    /// already answered, or started for another login).
    #[error("no passkey ceremony is outstanding")]
    NoPasskeyOutstanding,
    /// The browser's answer to a passkey ceremony was refused; the
    /// ceremony is over.
    #[error("passkey refused: {0}")]
    PasskeyRefused(RefusalReason),
    /// The company requires 2FA: the last method cannot be removed.
    #[error("the last method cannot be removed while the company requires 2fa")]
    LastMethodUnderEnforcement,
    /// The re-send option does not fit the pending method (SMS for an app,
    /// "read your device" for a phone).
    #[error("this re-send option does not apply to the pending method")]
    ResendNotApplicable,
    /// The input is not a code of the expected form; not counted as a
    /// guess.
    #[error("the input is not a well-formed code")]
    MalformedCode,
    /// The code was wrong (login and recovery codes; the failure was
    /// counted in the record that comes with it).
    #[error("the code is not correct")]
    WrongCode,
    /// The code was one already used: a TOTP code of a step already
    /// accepted (counted as a failure, like a wrong code, in the record
    /// that comes with it), or a sent code whose challenge was used (not
    /// evaluated, nothing counted).
    #[error("the code was already used")]
    ReplayedCode,
    /// No login code was sent for this transaction.
    #[error("no login code is outstanding")]
    NoCodeOutstanding,
    /// The out-of-band challenge could not be issued.
    #[error("could not issue a code: {0}")]
    Issue(IssueError),
    /// The out-of-band code could not be re-sent.
    #[error("could not re-send the code: {0}")]
    Resend(ResendError),
    /// The method (or the pending set-up, `id: None`) is not a push
    /// method.
    #[error("not a push method")]
    NotAPushMethod {
        /// The method given, if any.
        id: Option<MethodId>,
    },
    /// The push prompt could not be prepared (disabled, rate limited).
    #[error("could not send a push prompt: {0}")]
    Push(PushPrepareError),
    /// The push prompt was already answered.
    #[error("the push prompt was already answered")]
    PushAlreadyAnswered,
    /// No push prompt is outstanding for this login.
    #[error("no push prompt is outstanding")]
    NoPushOutstanding,
    /// The push prompt has not been answered yet; ask again later.
    #[error("the push prompt is not answered yet")]
    PushPending,
    /// The push prompt was denied (by the user, or with the wrong number).
    #[error("the push prompt was denied")]
    PushDenied,
    /// The key URI could not be built (issuer or display name unusable).
    #[error("could not build the key uri")]
    KeyUri,
    /// A time or counter is outside the representable range.
    #[error("time out of range")]
    TimeOutOfRange,
}

/// Why stored parts do not make an enrolled record: the invariants every
/// [`Enrolled`](crate::Enrolled) keeps, checked by
/// [`Enrolled::restore`](crate::Enrolled::restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// An enrolled record has at least one method.
    #[error("an enrolled record has no method")]
    NoMethods,
    /// The primary method is not among the methods.
    #[error("primary method {primary} is not among the methods")]
    UnknownPrimary {
        /// The primary given.
        primary: MethodId,
    },
    /// A method's id is not below the next id to hand out, so a later
    /// method could reuse it.
    #[error("method {id} is not below the next id {next_id}")]
    IdNotBelowNext {
        /// The method's id.
        id: MethodId,
        /// The next id given.
        next_id: u32,
    },
}
